"""The project's own Markdown (glossary pages, note folders): ``parse_markdown`` as it is."""

from __future__ import annotations

from pathlib import Path

from ..markdown import parse_markdown
from ..md_entries import ParsedFile
from ._common import Options, Site

NAME = "plain"
SUMMARY = "glossary pages (## Term | Synonym) and note folders (Obsidian, Foam)"
CONFIG_FILES: tuple[str, ...] = ()


def evidence(text: str, path: str) -> list[tuple[int, str]]:
    return []  # what every other dialect is not


def site_config(folder: Path) -> Path | None:
    return None


def read(text: str, path: str, site: Site, options: Options) -> ParsedFile:
    return parse_markdown(text, path, max_labels=options.max_labels, max_heading_chars=options.max_heading_chars)
