"""Parse one Markdown file into term entries with markdown-it-py.

Two layouts are understood, chosen per file:

* a *glossary page*: every H2-or-deeper heading is a term (labels split on ``|``),
  the blocks under it are its definition, and H1 headings group the terms that
  follow them into a section (a ``skos:Collection``);
* a *note*: one term per file, as in Obsidian/Foam vaults. A file is a note when it
  has YAML front matter or no heading deeper than H1; its title comes from the
  front matter ``title:``, else the first heading, else the file name, and
  ``aliases:`` are more labels.

Links are kept as references to resolve later, across files: ``<a href>``,
Markdown links and ``[[wikilinks]]``. Plain-text stretches that may hold
mentions of other terms (never code, math, headings or link text) are recorded
with their offsets so that mention linking never has to re-read raw Markdown.

A bullet or paragraph starting ``前提:`` / ``前提知識:`` / ``Prerequisites:`` (a note's
front matter ``prerequisites:``) states the term's prerequisites: it is recorded on
the entry, not kept in the definition.
"""

from __future__ import annotations

import base64
import html
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import yaml
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from kg.labels import Sentences, detect_lang, split_labels
from kg.model import Issue, Label

# Publishers insert term links even inside math; keep the math, drop the tags.
_ANCHOR_TAG = re.compile(r"</?a\b[^>]*>", re.IGNORECASE)
# Deeper nesting than this stops markdown-it for good; see _parse_resilient.
_MAX_NESTING = 50
# Parts of one file read again after an unclosed HTML block or a list nested too deep.
_MAX_RECOVERIES = 20
_URL_COMMENT = re.compile(r"URL\s*[:：]\s*(\S+?)\s*-->", re.IGNORECASE)  # read by _url_comment
_URL_KEY = re.compile(r"URL\s*[:：]\s*", re.IGNORECASE)
_NON_SPACE = re.compile(r"\S*")
_SPACED_CLOSE = re.compile(r"\s*-->")
# `前提: A、B` / `Prerequisites: [A](a.md), [[B]]`: metadata, not definition.
_PREREQ_MARKER = re.compile(r"^\s*(?:前提知識|前提|prerequisites?)\s*[:：]\s*", re.IGNORECASE)
_PREREQ_SEPARATORS = re.compile(r"[,、，;；\n]")
_PREREQ_TERM = re.compile(r"[^,、，;；\n]+")
_PREREQ_HINT = re.compile(r"前提|prerequisite", re.IGNORECASE)
_PREREQ_KEYS = ("prerequisites", "prerequisite", "前提知識", "前提")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")
# Opening of an HTML block that markdown-it would extend to the end of the file
# when never closed (CommonMark block types 1, 2 and 5).
_SWALLOWING_HTML = {
    "<!--": "-->",
    "<![CDATA[": "]]>",
    "<script": "</script>",
    "<pre": "</pre>",
    "<style": "</style>",
    "<textarea": "</textarea>",
}


@dataclass
class Ref:
    """A link written in a definition, not yet resolved to a concept."""

    # "link" | "wikilink" | "label" (a stated prerequisite named by its label) |
    # "id" (a term named by the id its page states, as Hugo's ``term_id``; else its file stem) |
    # "site" (a site path such as ``/docs/glossary/x`` that names a term if one has that id
    # or stem, and is an outside page otherwise)
    kind: str
    target: str  # href, the wikilink target, the label, or the id
    text: str
    line: int
    start: int  # offsets of the link text in the entry's definition
    end: int


@dataclass
class Segment:
    """A stretch of plain definition text where mentions of terms may be found."""

    start: int
    end: int
    line: int


@dataclass
class Entry:
    """One term heading (or note) as written, before merging."""

    file: str
    line: int
    heading: str
    labels: list[Label]
    anchors: set[str] = field(default_factory=set)
    definition: str = ""
    refs: list[Ref] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    section: str | None = None  # H1 section title, if any
    url: str | None = None
    note: bool = False  # one-term-per-file note
    prerequisites: list[Ref] = field(default_factory=list)  # stated by the author, resolved at merge
    # Ids the page states (Hugo/Docusaurus ``id``, a slug): the first is the concept id it
    # asks for, and ``Ref`` of kind ``id`` resolve by any of them.
    ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # more collections (front matter ``tags``)
    # The definition's sentence boundaries, found when first asked for (see ``sentence_at``).
    _sentences: Sentences | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.file}:{self.line}"

    def sentence_at(self, start: int, end: int) -> str:
        """The sentence of the definition that contains ``[start, end)``: the evidence of a
        link or mention there. A sentence over ``kg.labels.EVIDENCE_CHARS`` is cut to a
        window around ``[start, end)`` (see ``kg.labels.Sentences``)."""
        if self._sentences is None or self._sentences.text is not self.definition:
            self._sentences = Sentences(self.definition)
        return self._sentences.at(start, end)

    def forget_sentences(self) -> None:
        """Let go of the boundaries found by ``sentence_at`` (memory the size of the definition)."""
        self._sentences = None


@dataclass
class ParsedFile:
    path: str
    entries: list[Entry]
    url: str | None
    sections: list[tuple[str, int]]
    issues: list[Issue]
    has_term_links: bool = False
    dialect: str = "plain"  # the reader that made it (ingest.dialects)


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    """``[[target]]`` / ``[[target|shown text]]`` / ``[[target#heading]]`` as one token."""
    src, pos = state.src, state.pos
    if not src.startswith("[[", pos):
        return False
    end = src.find("]]", pos + 2)
    inner = src[pos + 2 : end] if end >= 0 else ""
    if end < 0 or not inner.strip() or "\n" in inner or "[" in inner:
        return False
    if not silent:
        target, _, shown = inner.partition("|")
        token = state.push("wikilink", "", 0)
        token.meta = {"target": target.strip(), "text": (shown or target.split("#")[0]).strip()}
        token.content = inner
    state.pos = end + 2
    return True


def make_parser(max_nesting: int = _MAX_NESTING) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"maxNesting": max_nesting}).enable("table")
    md.use(front_matter_plugin).use(dollarmath_plugin)
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    return md


def _as_written(url: str) -> str:
    return url


_PARSER = make_parser()
# MDX has no indented code blocks: indentation inside JSX components is layout, not code.
_NO_INDENTED_CODE_PARSER = make_parser().disable("code")
# Ingest resolves hrefs as written (and unquotes them itself); percent-encoding each one
# first was a sixth of the parse time at 30,000 concepts. Nothing is rendered from these
# tokens, and validateLink still refuses javascript: and the like.
for _parser in (_PARSER, _NO_INDENTED_CODE_PARSER):
    _parser.normalizeLink = _as_written


class _TagReader(HTMLParser):
    """Reads the tags of one inline HTML fragment (``<a href=...>``, ``</a>``, ``<br>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(("start", tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append(("start", tag, dict(attrs)))
        self.tags.append(("end", tag, {}))

    def handle_endtag(self, tag):
        self.tags.append(("end", tag, {}))


def _tags(fragment: str) -> list[tuple[str, str, dict[str, str | None]]]:
    reader = _TagReader()
    try:
        reader.feed(fragment)
        reader.close()
    except Exception:  # malformed HTML is text, not an error
        return []
    return reader.tags


def _strip_tags(html: str) -> str:
    class _Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    reader = _Text()
    try:
        reader.feed(html)
        reader.close()
    except Exception:
        return html
    return "".join(reader.parts)


def heading_anchor(text: str) -> str:
    """The anchor the published glossary uses: base64 of the heading text."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def github_slug(text: str) -> str:
    """GitHub-style heading anchor (``#deep-learning``), used by relative links in notes."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return slug.replace(" ", "-")


class _DefinitionWriter:
    """Renders the block tokens under a heading to clean text, recording links and
    the plain-text stretches open to mention linking."""

    def __init__(self, entry: Entry, issues: list[Issue]) -> None:
        self.entry = entry
        self.issues = issues
        self.parts: list[str] = []
        self.length = 0
        self.list_depth = 0
        self.pending_prefix = ""
        self.in_heading = False

    def emit(self, text: str, line: int | None = None, mentionable: bool = False) -> None:
        if not text:
            return
        if mentionable and line is not None:
            self.entry.segments.append(Segment(self.length, self.length + len(text), line))
        self.parts.append(text)
        self.length += len(text)

    def block(self, token: Token) -> None:
        line = token.map[0] + 1 if token.map else self.entry.line
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.list_depth -= 1
        elif kind == "list_item_open":
            self.pending_prefix = "  " * max(self.list_depth - 1, 0) + "- "
        elif kind == "paragraph_open":
            self.emit(self.pending_prefix)
            self.pending_prefix = ""
        elif kind == "paragraph_close":
            self.emit("\n")
        elif kind == "heading_open":
            self.in_heading = True
        elif kind == "heading_close":
            self.in_heading = False
            self.emit("\n")
        elif kind == "inline" and self.in_heading:
            self.emit(_heading_text(token)[0])  # a sub-heading of a note: text, never a mention
        elif kind == "inline":
            self.inline(token, line)
        elif kind in ("fence", "code_block"):
            self.emit(f"```\n{token.content.rstrip()}\n```\n")
        elif kind in ("math_block", "math_block_label"):
            self.emit(f"$$\n{_strip_anchors(token.content).strip()}\n$$\n")
        elif kind == "html_block":
            text = _strip_tags(token.content).strip()
            if text and not token.content.lstrip().startswith("<!--"):
                self.emit(text + "\n")
        elif kind in ("th_close", "td_close"):
            self.emit(" | ")
        elif kind == "tr_close":
            self.emit("\n")

    def inline(self, token: Token, line: int) -> None:
        link: dict | None = None  # the link being read: kind, target, start offset, line

        def close_link() -> None:
            nonlocal link
            if link is not None:
                # Only the parts since the link opened: joining every part at each link was
                # quadratic in a paragraph of many links.
                text = "".join(self.parts[link["part"] :]).strip()
                self.entry.refs.append(
                    Ref(link["kind"], link["target"], text, link["line"], link["start"], self.length)
                )
                link = None

        for child in token.children or []:
            kind = child.type
            if kind == "text":
                # Entities escaped twice (`&amp;mdash;`) still reach here as text.
                self.emit(_unescape(child.content), line, mentionable=link is None)
            elif kind in ("softbreak", "hardbreak"):
                self.emit("\n")
                line += 1
            elif kind == "code_inline":
                self.emit(f"`{child.content}`")
            elif kind == "math_inline":
                self.emit(f"${_strip_anchors(child.content)}$")
            elif kind == "math_inline_double":
                self.emit(f"$${_strip_anchors(child.content)}$$")
            elif kind == "link_open":
                close_link()
                link = {"kind": "link", "target": str(child.attrs.get("href", "")), "start": self.length,
                        "part": len(self.parts), "line": line}
            elif kind == "link_close":
                close_link()
            elif kind == "wikilink":
                start = self.length
                self.emit(child.meta["text"])
                self.entry.refs.append(
                    Ref("wikilink", child.meta["target"], child.meta["text"], line, start, self.length)
                )
            elif kind == "image":
                self.emit(child.content)
            elif kind == "html_inline":
                for event, tag, attrs in _tags(child.content):
                    if tag == "a" and event == "start" and attrs.get("href"):
                        close_link()
                        link = {"kind": "link", "target": str(attrs["href"]), "start": self.length,
                                "part": len(self.parts), "line": line}
                    elif tag == "a" and event == "end":
                        close_link()
                    elif tag == "br" and event == "start":
                        self.emit("\n")
        if link is not None:
            self.issues.append(
                Issue(
                    "unclosed_html",
                    "link opened with <a href> is never closed; it ends with its paragraph",
                    self.entry.file,
                    link["line"],
                    severity="warning",
                )
            )
            close_link()

    def finish(self) -> str:
        text = "".join(self.parts)
        # Trailing blank space only; offsets recorded above stay valid.
        return text.rstrip()


def _heading_text(inline: Token) -> tuple[str, set[str]]:
    """Visible text of a heading and the anchors (``<a id>``/``<a name>``) it carries."""
    parts: list[str] = []
    anchors: set[str] = set()
    for child in inline.children or []:
        if child.type == "html_inline":
            for event, _tag, attrs in _tags(child.content):
                if event == "start":
                    for name in ("id", "name"):
                        if attrs.get(name):
                            anchors.add(str(attrs[name]))
        elif child.type == "code_inline":
            parts.append(child.content)
        elif child.type == "math_inline":
            parts.append(f"${child.content}$")
        elif child.type == "wikilink":
            parts.append(child.meta["text"])
        elif child.type in ("text", "softbreak"):
            parts.append(_unescape(child.content) or " ")
    return " ".join("".join(parts).split()), anchors


def _strip_anchors(math: str) -> str:
    """``math`` without ``<a>`` tags. Only the text up to the last ``>`` can hold one: a
    search from each ``<a`` beyond it would read to the end, again and again."""
    last = math.rfind(">") + 1
    return _ANCHOR_TAG.sub("", math[:last]) + math[last:] if last else math


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _url_comment(text: str) -> str | None:
    """What ``_URL_COMMENT`` finds in ``text``, in one pass: the regular expression reads on
    from each ``URL:`` to the end of its run of non-spaces, and ``URL:URL:…`` in a block
    of 128 KB took 32 s.

    >>> _url_comment("<!-- URL: https://x.org/a#  -->"), _url_comment("<!-- url:u:URL:v-->w -->")
    ('https://x.org/a#', 'u:URL:v')
    >>> _url_comment("<!-- URL: a b -->") is None
    True
    """
    run_end = close = -1  # the run of non-spaces being read, and the next "-->" (both move forward only)
    for key in _URL_KEY.finditer(text):
        start = key.end()
        if start >= run_end:
            run_end = _NON_SPACE.match(text, start).end()
        if run_end == start:
            continue  # nothing but spaces after the key
        if close < start + 1:
            close = text.find("-->", start + 1) % (len(text) + 1)  # none: len(text), never looked for again
        if close + 3 <= run_end:
            return text[start:close]  # the shortest run of non-spaces before "-->"
        if _SPACED_CLOSE.match(text, run_end):
            return text[start:run_end]
    return None


def _unclosed_html(tokens: list[Token]) -> int | None:
    """Index of the first HTML block that swallows the rest of the file, if any."""
    for n, token in enumerate(tokens):
        if token.type != "html_block" or not token.map:
            continue
        content = token.content.lstrip().lower()
        for opener, closer in _SWALLOWING_HTML.items():
            if content.startswith(opener) and closer not in content:
                return n
    return None


def _parse_resilient(lines: list[str], path: str, issues: list[Issue], parser: MarkdownIt = _PARSER) -> list[Token]:
    """Parse, recovering from the two inputs after which markdown-it reads nothing more.

    An unclosed comment or ``<pre>`` runs to the end of the file: the opener is
    escaped and the file read again from there. A list nested deeper than the parser's
    limit makes it stop for good: the deep block is cut there and parsing resumes at
    the next top-level block, so later terms are not lost (deep block quotes it reads
    on from; they are only reported).

    The file is read in one pass: what is read stays read, and each recovery parses
    only the rest of the file (recursing on the rest and shifting its tokens at each
    level took minutes for a few hundred deep lists in 64 KB). After
    ``_MAX_RECOVERIES`` recoveries the rest of the file is not read, and said so.
    """
    lines = list(lines)  # openers are escaped in place
    done: list[Token] = []  # tokens of lines[:base], final, lines numbered in the file
    env: dict = {}  # link reference definitions, shared by the parts
    base = recoveries = reported = 0  # reported: deep blocks before this line are reported

    def report_deep(tokens: list[Token]) -> None:
        """One issue per top-level block that nests too deep."""
        nonlocal reported
        block_end = 0
        for token in tokens:
            if token.level == 0 and token.map:
                block_end = token.map[1]
            if token.level >= _MAX_NESTING - 1 and token.map and token.map[0] >= reported:
                issues.append(
                    Issue(
                        "too_deep",
                        f"nesting deeper than {_MAX_NESTING} levels; the deeper part is not read",
                        path,
                        token.map[0] + 1,
                        severity="error",
                    )
                )
                reported = max(block_end, token.map[1])

    def parse(stop: int | None = None) -> list[Token]:
        tokens = parser.parse("\n".join(lines[base:stop]), env)
        if base:
            for token in tokens:
                if token.map:
                    token.map = [token.map[0] + base, token.map[1] + base]
        return tokens

    while True:
        tokens = parse()
        swallowing = _unclosed_html(tokens)
        if swallowing is not None and recoveries < _MAX_RECOVERIES:
            recoveries += 1
            bad = tokens[swallowing].map[0]
            issues.append(
                Issue(
                    "unclosed_html",
                    f"HTML block opened here is never closed: {lines[bad].strip()[:60]!r}; read as text",
                    path,
                    bad + 1,
                    severity="warning",
                )
            )
            lines[bad] = "\\" + lines[bad].lstrip()
            # After a blank line, a top-level block is read alike whatever follows it.
            if tokens[swallowing].level == 0 and (bad == base or not lines[bad - 1].strip()):
                report_deep(tokens[:swallowing])
                done.extend(tokens[:swallowing])
                base = bad
            continue
        if swallowing is not None:
            issues.append(
                Issue(
                    "unclosed_html",
                    f"HTML block opened here is never closed, after {_MAX_RECOVERIES} others: "
                    "the rest of the file is not read",
                    path,
                    tokens[swallowing].map[0] + 1,
                    severity="error",
                )
            )
        report_deep(tokens)
        deep = [t for t in tokens if t.level >= _MAX_NESTING - 1 and t.map]
        if not deep:
            return done + tokens
        start = deep[-1].map[0]
        resume = next(
            (
                i
                for i in range(start + 1, len(lines))
                if lines[i][:1] not in ("", " ", "\t", ">") and not lines[i - 1].strip()
            ),
            None,
        )
        last = max(t.map[0] for t in tokens if t.map)
        if resume is None or last >= resume:  # markdown-it read on past it (a block quote)
            return done + tokens
        if recoveries >= _MAX_RECOVERIES:
            issues.append(
                Issue(
                    "too_deep",
                    f"more than {_MAX_RECOVERIES} blocks nested too deep or never closed: "
                    f"the rest of the file, from line {resume + 1}, is not read",
                    path,
                    resume + 1,
                    severity="error",
                )
            )
            return done + tokens
        recoveries += 1
        done.extend(parse(resume))
        base = reported = resume


def parse_markdown(
    text: str,
    path: str,
    *,
    max_labels: int = 50,
    max_heading_chars: int = 500,
    layout: str = "auto",
    front: dict | None = None,
    indented_code: bool = True,
) -> ParsedFile:
    """Parse Markdown ``text`` read from ``path`` (used in messages and provenance).

    Args:
        text: the file's text.
        path: the file's name as the user gave it (relative to the ingest root).
        max_labels: labels beyond this in one heading are dropped (with a warning).
        max_heading_chars: longer headings are not taken as terms (with a warning).
        layout: ``auto`` (a note when there is front matter or no heading below H1),
            ``note`` (one term, whatever the headings) or ``headings`` (a glossary page
            when there is any heading below H1, front matter or not).
        front: front matter a dialect reader already read (``title``, ``aliases``,
            ``prerequisites``); the text then carries none.
        indented_code: whether four spaces of indentation make a code block (not in MDX).

    Returns:
        The entries, page URL, H1 sections and the issues met on the way.
    """
    issues: list[Issue] = []
    # CommonMark ends lines at CR too: split the same way markdown-it counts, so token lines match ours.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parser = _PARSER if indented_code else _NO_INDENTED_CODE_PARSER
    tokens = _parse_resilient(text.split("\n"), path, issues, parser=parser)
    url = None
    given = front
    front = dict(given or {})
    for token in tokens:
        if token.type == "html_block" and "-->" in token.content and (found := _url_comment(token.content)):
            url = found.rstrip("#")
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                # A published page is on the web: anything else (javascript:, data:, file:) is no link.
                issues.append(Issue("bad_url", f"published-page URL {url[:80]!r} is not http(s); ignored", path,
                                    token.map[0] + 1 if token.map else None, severity="warning"))
                url = None
            break
    if tokens and tokens[0].type == "front_matter" and given is None:
        try:
            loaded = yaml.safe_load(tokens[0].content)
            front = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            issues.append(
                Issue(
                    "bad_front_matter",
                    f"front matter is not valid YAML: {getattr(error, 'problem', error)}",
                    path,
                    (mark.line + 2) if mark else 1,
                    severity="warning",
                )
            )

    headings = [i for i, t in enumerate(tokens) if t.type == "heading_open"]
    has_terms = any(tokens[i].tag != "h1" for i in headings)
    is_note = layout == "note" or not has_terms or (layout == "auto" and bool(front))
    parsed = ParsedFile(path=path, entries=[], url=url, sections=[], issues=issues)

    if is_note:
        entry = _note_entry(tokens, headings, front, path, issues, max_labels)
        if entry is not None:
            entry.url = url
            parsed.entries.append(entry)
    else:
        _glossary_entries(tokens, headings, path, parsed, max_labels, max_heading_chars)
    for entry in parsed.entries:
        entry.url = entry.url or url
    parsed.has_term_links = any(is_term_ref(ref) for entry in parsed.entries for ref in entry.refs)
    return parsed


def is_term_ref(ref: Ref) -> bool:
    if ref.kind in ("wikilink", "id"):
        return True
    target = ref.target.split("#")[0].split("?")[0]
    return target.endswith((".md", ".markdown")) or (not target and "#" in ref.target)


def _labels(texts: list[str], path: str, line: int, issues: list[Issue], max_labels: int) -> list[Label]:
    if len(texts) > max_labels:
        issues.append(
            Issue(
                "too_many_labels",
                f"heading has {len(texts)} labels; kept the first {max_labels}",
                path,
                line,
                severity="error",
            )
        )
        texts = texts[:max_labels]
    return [Label(t, detect_lang(t)) for t in texts]


def _write_body(entry: Entry, tokens: list[Token], issues: list[Issue]) -> None:
    tokens = _take_prerequisites(entry, tokens)
    writer = _DefinitionWriter(entry, issues)
    for token in tokens:
        writer.block(token)
    entry.definition = writer.finish()


def _take_prerequisites(entry: Entry, tokens: list[Token]) -> list[Token]:
    """Record the entry's prerequisite statements and return the other tokens.

    A statement is a paragraph whose text starts with the marker (``前提:``); when it
    opens a list item the whole item goes, with any sub-bullets, each one more term.
    """
    kept: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        inline = tokens[i + 1] if token.type == "paragraph_open" and i + 1 < len(tokens) else None
        if (
            inline is None
            or inline.type != "inline"
            or not _PREREQ_HINT.search(inline.content)  # cheap: most paragraphs never name the marker
            or not _PREREQ_MARKER.match(_statement(inline)[0])
        ):
            kept.append(token)
            i += 1
            continue
        if kept and kept[-1].type == "list_item_open":
            opener, closer = kept.pop(), "list_item_close"
        else:
            opener, closer = token, "paragraph_close"
        end = next(
            (j for j in range(i, len(tokens)) if tokens[j].type == closer and tokens[j].level == opener.level),
            len(tokens),
        )
        for n, part in enumerate(t for t in tokens[i:end] if t.type == "inline"):
            entry.prerequisites.extend(_statement_refs(part, marker=n == 0, line=_line_of(part, entry.line)))
        i = end + 1
    return kept


def _line_of(token: Token, default: int) -> int:
    return token.map[0] + 1 if token.map else default


def _statement(inline: Token) -> tuple[str, list[Ref]]:
    """The text of a prerequisite statement, each link replaced by a placeholder, and the links.

    Placeholders keep separators inside link text from splitting a term.
    """
    parts: list[str] = []
    refs: list[Ref] = []
    link: dict | None = None

    def close_link() -> None:
        nonlocal link
        if link is not None:
            text = " ".join("".join(link["text"]).split())
            refs.append(Ref(link["kind"], link["target"], text, 0, 0, 0))
            parts.append(f"\x00{len(refs) - 1}\x00")
            link = None

    for child in inline.children or []:
        kind = child.type
        if kind in ("text", "code_inline", "math_inline"):
            (link["text"] if link is not None else parts).append(child.content)
        elif kind in ("softbreak", "hardbreak"):  # a new line separates terms, not words of a link
            if link is not None:
                link["text"].append(" ")
            else:
                parts.append("\n")
        elif kind == "link_open":
            close_link()
            link = {"kind": "link", "target": str(child.attrs.get("href", "")), "text": []}
        elif kind == "link_close":
            close_link()
        elif kind == "wikilink":
            close_link()
            refs.append(Ref("wikilink", child.meta["target"], child.meta["text"], 0, 0, 0))
            parts.append(f"\x00{len(refs) - 1}\x00")
        elif kind == "html_inline":
            for event, tag, attrs in _tags(child.content):
                if tag == "a" and event == "start" and attrs.get("href"):
                    close_link()
                    link = {"kind": "link", "target": str(attrs["href"]), "text": []}
                elif tag == "a" and event == "end":
                    close_link()
                elif tag == "br" and event == "start":
                    parts.append("\n")
    close_link()
    return "".join(parts), refs


def _statement_refs(inline: Token, marker: bool, line: int) -> list[Ref]:
    """The terms of one prerequisite statement: links as written, else labels."""
    text, links = _statement(inline)
    start = _PREREQ_MARKER.match(text).end() if marker and _PREREQ_MARKER.match(text) else 0
    found: list[Ref] = []
    counted, item_line = 0, line  # lines counted on from the last item, not from the start each time
    for item in _split_terms(text, start):
        item_line += text.count("\n", counted, item.start())
        counted = item.start()
        placeholders = _PLACEHOLDER.findall(item.group())
        if placeholders:
            for index in placeholders:
                ref = links[int(index)]
                found.append(Ref(ref.kind, ref.target, ref.text, item_line, 0, 0))
        else:
            name = item.group().strip(" \t*_`\"'「」.。")
            if name:
                found.append(Ref("label", name, name, item_line, 0, 0))
    return found


def _split_terms(text: str, start: int = 0) -> list[re.Match]:
    """The non-empty stretches of ``text[start:]`` between separators.

    >>> [m.group() for m in _split_terms("前提: A、B , C;D", 3)]
    [' A', 'B ', ' C', 'D']
    """
    return [m for m in _PREREQ_TERM.finditer(text, start) if m.group().strip()]


def _front_matter_prerequisites(front: dict, token: Token | None) -> list[Ref]:
    """A note's ``prerequisites:`` (a list or a comma-separated string; ``[[wikilinks]]`` too)."""
    key = next((k for k in front if str(k).strip().lower() in _PREREQ_KEYS), None)
    if key is None or not front[key]:
        return []
    lines = token.content.split("\n") if token is not None else []
    base = token.map[0] + 2 if token is not None and token.map else 1  # line 1 is the opening ---
    key_at = next((n for n, text in enumerate(lines) if text.strip().lower().startswith(str(key).lower())), 0)

    def names(value: object, top: bool = True) -> list[str]:
        if isinstance(value, list):
            if not top and len(value) == 1 and isinstance(value[0], str):
                return [f"[[{value[0]}]]"]  # `[[A]]` unquoted is YAML for a list in a list
            return [name for item in value for name in names(item, top=False)]
        if value is None:
            return []
        return [part for part in _PREREQ_SEPARATORS.split(str(value)) if part.strip()]

    # Each name's line: the first from the key's that holds it, found in the text after the
    # key (scanning the lines for each name was quadratic in a long list). The searches
    # share a budget linear in that text; past it, a name is put on the key's line.
    after = "\n".join(lines[key_at:])
    starts = [0]
    for line in lines[key_at:-1]:
        starts.append(starts[-1] + len(line) + 1)
    budget = 1_000_000 + 8 * len(after)
    found: dict[str, int] = {}
    refs: list[Ref] = []
    for name in names(front[key]):
        name = name.strip()
        if name not in found:
            at = after.find(name) if len(after) <= budget and "\n" not in name else -1
            budget -= len(after) if at < 0 else at + len(name)
            found[name] = key_at + (bisect_right(starts, at) - 1 if at >= 0 else 0)
        refs.append(_name_ref(name, base + found[name]))
    return refs


def _name_ref(name: str, line: int) -> Ref:
    """A term named in front matter: ``[[target|text]]``, ``[text](href)`` or a label."""
    if match := re.fullmatch(r"\[\[([^\[\]|]+)(?:\|([^\[\]]+))?\]\]", name):
        target = match.group(1).strip()
        return Ref("wikilink", target, (match.group(2) or target.split("#")[0]).strip(), line, 0, 0)
    if match := re.fullmatch(r"\[([^\]]+)\]\(([^)\s]+)\)", name):
        return Ref("link", match.group(2), match.group(1).strip(), line, 0, 0)
    return Ref("label", name, name, line, 0, 0)


def _glossary_entries(tokens, headings, path, parsed: ParsedFile, max_labels, max_heading_chars) -> None:
    section: str | None = None
    for n, start in enumerate(headings):
        end = headings[n + 1] if n + 1 < len(headings) else len(tokens)
        open_token, inline = tokens[start], tokens[start + 1]
        line = open_token.map[0] + 1 if open_token.map else 1
        text, anchors = _heading_text(inline)
        if open_token.tag == "h1":
            section = text or None
            if section:
                parsed.sections.append((section, line))
            continue
        if not text:
            parsed.issues.append(Issue("empty_heading", "heading has no text; not a term", path, line))
            continue
        if len(text) > max_heading_chars:
            parsed.issues.append(
                Issue(
                    "long_heading",
                    f"heading of {len(text)} characters is not taken as a term",
                    path,
                    line,
                    severity="error",
                )
            )
            continue
        label_texts = split_labels(text)
        if not label_texts:  # "## |": separators and nothing else
            parsed.issues.append(Issue("empty_heading", f"heading {text!r} has no label; not a term", path, line))
            continue
        labels = _labels(label_texts, path, line, parsed.issues, max_labels)
        entry = Entry(path, line, text, labels, anchors | {heading_anchor(text), github_slug(text)}, section=section)
        _write_body(entry, tokens[start + 3 : end], parsed.issues)
        parsed.entries.append(entry)


def _note_entry(tokens, headings, front: dict, path: str, issues: list[Issue], max_labels: int) -> Entry | None:
    body_start = 1 if tokens and tokens[0].type == "front_matter" else 0
    title = front.get("title")
    line = 1
    anchors: set[str] = set()
    if headings and not title:
        first = headings[0]
        title, anchors = _heading_text(tokens[first + 1])
        line = tokens[first].map[0] + 1 if tokens[first].map else 1
        body_start = first + 3
    elif headings and str(title).strip() == _heading_text(tokens[headings[0] + 1])[0]:
        body_start = headings[0] + 3  # the heading repeats the title
    if not title:
        title = PurePosixPath(path).stem.replace("_", " ")
    aliases = front.get("aliases") or front.get("alias") or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in aliases.split(",")]
    texts = split_labels(" | ".join([str(title), *(str(a) for a in aliases if a)]))
    if not texts:
        return None
    entry = Entry(
        path,
        line,
        str(title),
        _labels(texts, path, line, issues, max_labels),
        anchors | {heading_anchor(str(title)), github_slug(str(title))},
        note=True,
    )
    _write_body(entry, tokens[body_start:], issues)
    front_token = tokens[0] if tokens and tokens[0].type == "front_matter" else None
    entry.prerequisites.extend(_front_matter_prerequisites(front, front_token if front else None))
    if not headings and not front and not entry.definition.strip():
        return None  # nothing visible (e.g. only HTML comments): not a term
    return entry
