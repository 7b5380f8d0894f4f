"""Term entries of a Markdown file: the records (``Entry``, ``Ref``, ``Segment``,
``ParsedFile``) and how they are read from markdown-it tokens: headings and labels,
definition text with its links and mentionable stretches, stated prerequisites,
and the entries of a glossary page or a note."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from markdown_it.token import Token

from kg.labels import Sentences, detect_lang, split_labels
from kg.model import Issue, Label

from .md_html import _strip_anchors, _strip_tags, _tags, _unescape, github_slug, heading_anchor

# `前提: A、B` / `Prerequisites: [A](a.md), [[B]]`: metadata, not definition.
_PREREQ_MARKER = re.compile(r"^\s*(?:前提知識|前提|prerequisites?)\s*[:：]\s*", re.IGNORECASE)
_PREREQ_SEPARATORS = re.compile(r"[,、，;；\n]")
_PREREQ_TERM = re.compile(r"[^,、，;；\n]+")
_PREREQ_HINT = re.compile(r"前提|prerequisite", re.IGNORECASE)
_PREREQ_KEYS = ("prerequisites", "prerequisite", "前提知識", "前提")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")


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
        elif kind == "fence" and token.info.strip() == "math":  # GitHub's display math, raw TeX
            self.emit(f"$$\n{token.content.strip()}\n$$\n")
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
