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

This module owns the markdown-it parser (with ``[[wikilinks]]``), parsing that reads on
past input markdown-it would stop at, and ``parse_markdown``; the entries are read from the
tokens in ``md_entries``, and the HTML and URL-comment helpers are in ``md_html``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import yaml
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from kg.model import Issue

from .md_entries import Entry, ParsedFile, _glossary_entries, _note_entry, is_term_ref
from .md_html import _url_comment, github_slug, heading_anchor

# Entry, heading_anchor and github_slug live in md_entries and md_html; tests and benchmarks import them from here.
__all__ = ["Entry", "github_slug", "heading_anchor", "make_parser", "parse_markdown"]

# Deeper nesting than this stops markdown-it for good; see _parse_resilient.
_MAX_NESTING = 50
# Parts of one file read again after an unclosed HTML block or a list nested too deep.
_MAX_RECOVERIES = 20
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
