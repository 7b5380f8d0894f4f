"""Find input files and read them defensively: every failure is an Issue, never a crash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from kg.model import Issue

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd", ".mdx"}
SKOS_SUFFIXES = {".ttl", ".rdf", ".owl", ".xml", ".jsonld", ".json-ld", ".nt", ".n3"}
#: The author's prerequisite corrections, kept beside the glossary (see ``ingest.overrides``).
OVERRIDES_NAME = "kg-prerequisites.yaml"


@dataclass(frozen=True)
class InputFile:
    path: Path  # where it is on disk
    name: str  # how it is named in provenance and messages (relative to its root)
    kind: str  # "markdown" | "skos" | "overrides"


def discover(paths: list[Path]) -> tuple[list[InputFile], list[Issue]]:
    """Markdown, SKOS and overrides files under ``paths`` (files or folders), sorted, hidden folders skipped."""
    found: list[InputFile] = []
    issues: list[Issue] = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            kind = _kind(root)
            found.append(InputFile(root, root.name, kind or "markdown"))
        elif root.is_dir():
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root)
                if any(part.startswith(".") for part in rel.parts) or not (path.is_file() or path.is_symlink()):
                    continue
                kind = _kind(path)
                if kind:
                    found.append(InputFile(path, rel.as_posix(), kind))
        else:
            issues.append(Issue("missing_input", f"no such file or folder: {root}", str(root), severity="error"))
    seen: set[str] = set()
    unique = []
    for item in found:
        if item.name in seen:  # two roots with the same relative names: qualify the later one
            item = InputFile(item.path, item.path.as_posix(), item.kind)
        seen.add(item.name)
        unique.append(item)
    return unique, issues


def _kind(path: Path) -> str | None:
    if path.name.lower() == OVERRIDES_NAME:
        return "overrides"
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in SKOS_SUFFIXES:
        return "skos"
    return None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_text(item: InputFile, max_bytes: int) -> tuple[str | None, list[Issue]]:
    """The file's text, or None when it cannot be used; issues name the file and line.

    Invalid UTF-8 is replaced (U+FFFD) and reported with its line, so the rest of
    the file is still read. Binary and oversized files are skipped.
    """
    name = item.name
    try:
        size = item.path.stat().st_size
        if size > max_bytes:
            return None, [
                Issue(
                    "file_too_large",
                    f"file is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit "
                    "(KG_MAX_FILE_BYTES); skipped",
                    name,
                    severity="error",
                )
            ]
        data = item.path.read_bytes()
    except OSError as error:
        return None, [Issue("unreadable", f"cannot read file: {error.strerror or error}", name, severity="error")]
    if b"\0" in data[:8192]:
        return None, [
            Issue("binary_file", "file holds binary data (NUL bytes), not text; skipped", name, severity="error")
        ]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        bad = data[error.start : error.start + 1].hex()
        return data.decode("utf-8-sig", errors="replace"), [
            Issue(
                "invalid_utf8",
                f"invalid UTF-8 (byte 0x{bad}); undecodable bytes replaced with U+FFFD",
                name,
                line,
                severity="error",
            )
        ]
