"""MkDocs (Material) glossaries: abbreviation lists, definition lists, admonitions, snippets.

* ``*[HTML]: Hyper Text Markup Language`` is a term (``Hyper Text Markup Language (HTML)``,
  the expansion its definition), or more labels of a term of the same page with that name;
* a definition list (``Term`` then ``:   definition``) is one term per ``Term``
  (several ``Term`` lines over one definition are synonyms); headings over them group
  them into sections;
* ``!!! note "Title"`` / ``??? note`` admonitions and ``=== "Tab"`` content tabs keep their
  text; ``--8<--`` snippet includes, icons (``:material-x:``), attribute lists and
  mkdocs-macros tags are removed and reported.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

from kg.labels import normalize

from ..md_entries import Entry, ParsedFile, Segment
from ..md_html import github_slug, heading_anchor
from ._common import Options, Site, add_labels, config_in, labels_of, read_page, signs_in
from ._front import common_fields
from ._markup import Page, heading_ids, prose_lines, rewrite, strip_comments, strip_templates

NAME = "mkdocs"
SUMMARY = "MkDocs Material: *[ABBR]: lists, definition lists, !!! admonitions"
CONFIG_FILES = ("mkdocs.yml", "mkdocs.yaml")

_ABBREVIATION = re.compile(r"^ {0,3}\*\[(?P<abbr>[^\]\n]+)\]:[ \t]*(?P<expansion>.*?)[ \t]*$")
_SNIPPET = re.compile(r"^[ \t]*;?-{2}8<-{2}[ \t]*(?P<file>.*?)[ \t]*$")
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?|===\+?)(?:[ \t]+(?P<rest>.*?))?[ \t]*$")
_TITLE = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_DD = re.compile(r"^ {0,3}:[ \t]+(?P<text>\S.*)$")
_NOT_DT = re.compile(r"^(?: {4}|\t|[ ]{0,3}(?:#|>|[-*+][ \t]|\d+[.)][ \t]|\||<|`{3}|~{3}|!!!|\?\?\?|===|:|\*\[))")
_ATX = re.compile(r"^ {0,3}(#{1,6})([ \t]+.*)$")
_ICON = re.compile(r":(?:material|octicons|fontawesome|simple)-[\w-]+:")
_MARK = re.compile(r"(?<![=\w])==(?=\S)(.+?)(?<=\S)==(?![=\w])")
_TRAILING_ATTRS = re.compile(r"(?<=\S)[ \t]*\{:?[ \t]*(?:[.#][\w-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+))"
                             r"(?:[ \t]+(?:[.#][\w-]+|[\w-]+=(?:\"[^\"]*\"|'[^']*'|[^\s}]+)))*[ \t]*\}[ \t]*$",
                             re.MULTILINE)
_EVIDENCE = (
    (re.compile(r"^ {0,3}\*\[[^\]\n]+\]:", re.MULTILINE), 3, "abbreviations *[ABBR]:"),
    (re.compile(r"^[ \t]*(?:!!!|\?\?\?\+?)[ \t]+\w", re.MULTILINE), 3, "admonitions !!!"),
    (re.compile(r"^[ \t]*;?--8<--", re.MULTILINE), 3, "snippets --8<--"),
    (re.compile(r"^===\+?[ \t]+[\"']", re.MULTILINE), 2, "content tabs ==="),
    (re.compile(r"\S\n {0,3}:[ \t]+\S"), 1, "definition lists"),
)


def evidence(text: str, path: str) -> list[tuple[int, str]]:
    return signs_in(_EVIDENCE, text)


def site_config(folder: Path) -> Path | None:
    return config_in(folder, CONFIG_FILES)


def _snippets(page: Page) -> None:
    lines = page.text.split("\n")
    block = False
    for n, line, in_code in prose_lines(page.text):
        match = None if in_code else _SNIPPET.match(line)
        if match and not match["file"]:
            block = not block
            if block:
                page.drop("snippet include --8<--", n + 1)
            lines[n] = ""
        elif block:
            lines[n] = ""
        elif match:
            page.drop("snippet include --8<--", n + 1)
            lines[n] = ""
    page.text = "\n".join(lines)


def _blocks(page: Page) -> None:
    """Admonitions and content tabs: the marker line becomes its title (if any), the
    content is un-indented so that it reads as text, not code."""
    lines = page.text.split("\n")
    code = {n for n, _, in_code in prose_lines(page.text) if in_code}
    for n in range(len(lines)):
        match = None if n in code else _BLOCK.match(lines[n])
        if not match:
            continue
        indent = match["indent"].expandtabs(4)
        title = _TITLE.search(match["rest"] or "")
        shown = (title.group(1) or title.group(2) or "").strip() if title else ""
        lines[n] = f"{indent}{shown}:" if shown else ""
        for m in range(n + 1, len(lines)):
            line = lines[m].expandtabs(4)
            if not line.strip():
                continue
            if len(line) - len(line.lstrip()) < len(indent) + 4:
                break
            lines[m] = line[: len(indent)] + line[len(indent) + 4 :]
    page.text = "\n".join(lines)


def _definition_lists(page: Page) -> bool:
    """Definition lists to term headings, the headings over them to sections. True when any was found."""
    lines = page.text.split("\n")
    code = {n for n, _, in_code in prose_lines(page.text) if in_code}
    terms: list[int] = []
    n = 0
    while n < len(lines):
        match = None if n in code else _DD.match(lines[n])
        top = n - 1 if n and lines[n - 1].strip() else n - 2  # one blank line may sit between
        dts: list[int] = []
        while match and top >= 0 and lines[top].strip() and top not in code:
            if _NOT_DT.match(lines[top]) or _DD.match(lines[top]):
                dts = []
                break
            dts.insert(0, top)
            top -= 1
        if not dts:
            n += 1
            continue
        names = [lines[i].strip() for i in dts]
        lines[dts[0]] = "## " + " | ".join(names)
        for i in dts[1:]:
            lines[i] = ""
        terms.append(dts[0])
        n = _definition(lines, n, code)
    if terms:
        _group_headings(lines, terms, code)
    page.text = "\n".join(lines)
    return bool(terms)


def _definition(lines: list[str], n: int, code: set[int]) -> int:
    """Un-mark the definition starting at line ``n``; the index of the line after it."""
    blank = False
    while n < len(lines):
        line = lines[n]
        if n in code:  # a fence inside the definition is indented with it
            if line.expandtabs(4).startswith("    "):
                lines[n] = line.expandtabs(4)[4:]
            n += 1
            continue
        match = _DD.match(line)
        if match:
            lines[n] = match["text"]
        elif not line.strip():
            blank = True
        elif line.expandtabs(4).startswith("    "):
            lines[n] = line.expandtabs(4)[4:]
        elif blank:
            return n  # not indented after a blank line: the list goes on with a new term, or ends
        n += 1
    return n


def _group_headings(lines: list[str], terms: list[int], code: set[int]) -> None:
    """A heading over definition-list terms groups them: it becomes a section (``#``)."""
    heads = [n for n, line in enumerate(lines) if n not in code and n not in terms and _ATX.match(line)]
    for i, n in enumerate(heads):
        end = heads[i + 1] if i + 1 < len(heads) else len(lines)
        if any(n < t < end for t in terms):
            lines[n] = "#" + _ATX.match(lines[n]).group(2)


def clean_with(abbreviations: list[tuple[str, str, int]]) -> Callable[[Page], None]:
    """The page cleaner; it collects the page's abbreviations into ``abbreviations``."""
    def clean(page: Page) -> None:
        abbreviations.clear()
        _snippets(page)
        lines = page.text.split("\n")
        for n, line, in_code in prose_lines(page.text):
            if not in_code and (match := _ABBREVIATION.match(line)):
                lines[n] = ""
                if match["expansion"]:  # `*[X]:` with nothing after it unsets X
                    abbreviations.append((html.unescape(match["abbr"].strip()),
                                          " ".join(html.unescape(match["expansion"]).split()), n + 1))
        page.text = "\n".join(lines)
        _blocks(page)
        heading_ids(page)
        _definition_lists(page)

        def icon(match: re.Match[str]) -> str:
            page.drop(f"icon {match.group()}", page.line_at(match.start()))
            return ""

        page.text = rewrite(page.text, _ICON, icon)
        page.text = rewrite(page.text, _TRAILING_ATTRS, lambda m: "")
        page.text = rewrite(page.text, _MARK, lambda m: m.group(1))
        strip_templates(page)
        strip_comments(page)

    return clean


def _abbreviation_entries(parsed: ParsedFile, abbreviations: list[tuple[str, str, int]], tags: list[str]) -> None:
    """Each abbreviation joins the page's term of that name, else is a term of its own."""
    for abbr, expansion, line in abbreviations:
        keys = {normalize(abbr), normalize(expansion)}
        known = next((e for e in parsed.entries if keys & {normalize(label.text) for label in e.labels}), None)
        if known is not None:
            add_labels(known, [abbr, expansion])
            continue
        heading = f"{expansion} ({abbr})"
        labels = labels_of([heading])
        if not labels:
            continue
        parsed.entries.append(
            Entry(parsed.path, line, heading, labels, {github_slug(abbr), heading_anchor(heading)},
                  definition=expansion, segments=[Segment(0, len(expansion), line)], tags=list(tags))
        )


def read(text: str, path: str, site: Site, options: Options) -> ParsedFile:
    """One MkDocs page."""
    abbreviations: list[tuple[str, str, int]] = []
    parsed, page = read_page(text, path, dialect=NAME, clean=clean_with(abbreviations),
                             fields_of=lambda front: common_fields(front), options=options)
    _abbreviation_entries(parsed, abbreviations, common_fields(page.front).tags)
    return parsed
