"""mdBook and GitHub wiki glossaries: ``### Term`` sections and reference-style links.

Reference definitions (``[term]: #anchor``) already resolve like any link; what this
reader adds: ``{{#include}}``-style preprocessor directives are removed and reported,
heading ids (``{#id}``) are anchors, a heading that only groups deeper ones (``## A``
over ``### Term``) is a section, a wiki's ``[[Link text|Page]]`` (text first, as GitHub
wikis write it) links to ``Page``, and ``SUMMARY.md``, ``_Sidebar.md`` and ``_Footer.md``
(tables of contents) hold no terms.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from kg.model import Issue

from ..md_entries import ParsedFile
from ._common import Options, Site, config_in, read_page, signs_in
from ._front import common_fields
from ._markup import Page, heading_ids, rewrite, strip_comments, strip_templates

NAME = "mdbook"
SUMMARY = "mdBook / GitHub wiki: ### Term sections, [term]: #anchor references"
CONFIG_FILES = ("book.toml", "SUMMARY.md", "_Sidebar.md", "_Footer.md")
NOT_TERMS = {"summary.md", "_sidebar.md", "_footer.md"}

_DIRECTIVE = re.compile(r"\{\{#(?P<name>[\w-]+)(?:[^}\n]|\}(?!\}))*\}\}")
_WIKILINK = re.compile(r"\[\[(?P<text>[^\[\]|\n]+)\|(?P<page>[^\[\]|\n]+)\]\]")
_EVIDENCE = (
    (re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*<?#\S+", re.MULTILINE), 3, "reference links to #anchors"),
    (re.compile(r"\{\{#(?:include|rustdoc_include|playground|title)\b"), 3, "mdBook {{#include}}"),
)


def evidence(text: str, path: str) -> list[tuple[int, str]]:
    return signs_in(_EVIDENCE, text)


def site_config(folder: Path) -> Path | None:
    return config_in(folder, CONFIG_FILES)


def clean(page: Page) -> None:
    def directive(match: re.Match[str]) -> str:
        page.drop(f"mdBook directive {{{{#{match['name']}}}}}", page.line_at(match.start()))
        return ""

    page.text = rewrite(page.text, _DIRECTIVE, directive)
    page.text = rewrite(page.text, _WIKILINK, lambda m: f"[[{m['page'].strip()}|{m['text'].strip()}]]")
    heading_ids(page)
    strip_templates(page)
    strip_comments(page)


def read(text: str, path: str, site: Site, options: Options) -> ParsedFile:
    """One page of an mdBook or a wiki."""
    if PurePosixPath(path).name.lower() in NOT_TERMS:
        info = Issue("index_page", "a table of contents, not a glossary page; no terms read", path, severity="info")
        return ParsedFile(path, [], None, [], [info], dialect=NAME)
    parsed, _ = read_page(text, path, dialect=NAME, clean=clean, fields_of=common_fields, options=options)
    return parsed
