"""What the site dialects share: the page layout, links by term id, and reading one page
into entries (``read_page``): front matter, cleaning, ``parse_markdown``, entry fields.

Each dialect rewrites its site markup into the Markdown ``parse_markdown`` reads
(``_markup``), then fills the entry fields its front matter states (``_front``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from kg.labels import detect_lang, normalize, split_labels
from kg.model import Issue, Label

from ..markdown import parse_markdown
from ..md_entries import Entry, ParsedFile, Ref, is_term_ref
from ._front import Fields, split_front_matter
from ._markup import ATX_HEADING, Page, group_headings, headings

#: Link target that a rewrite gives a link by term id; turned into ``Ref(kind="id")`` after parsing.
ID_SCHEME = "kg-id:"
# A page whose title says it holds many terms: its headings are terms, front matter or not.
_GLOSSARY_TITLE = re.compile(
    r"glossary|glossaire|glosario|glossar|terms|terminology|vocabulary|definitions|abbreviations|acronyms|lexicon|"
    r"dictionary|用語|術語",
    re.IGNORECASE,
)
# A page with this many term headings is a glossary page even without such a title.
_MANY_HEADINGS = 5


@dataclass
class Site:
    """What is known about the site a file belongs to (found beside or above it)."""

    root: Path | None = None  # the folder holding the site's configuration
    config: Path | None = None
    base_url: str | None = None


# -- layout and entries ------------------------------------------------------------------------


def layout(page: Page, title: str | None, term_keys: bool) -> str:
    """How ``parse_markdown`` should read the page: ``note`` (one term) or ``headings``.

    A page of terms says so by its title (Glossary, Terms, 用語…) or by many term
    headings; front matter that states a term (``aka``, ``id`` with no such title)
    makes one term, sub-headings and all. Without front matter the plain rule holds.
    """
    found = headings(page.text)
    h1 = next((text for level, text in found if level == 1), "")
    below = sum(1 for level, _ in found if level > 1)
    named = " ".join(filter(None, [title or "", h1, PurePosixPath(page.path).stem]))
    if below and (_GLOSSARY_TITLE.search(named) or below >= _MANY_HEADINGS):
        return "headings"
    if term_keys or page.front:
        return "note"
    return "headings" if below else "note"


def is_index_page(entry: Entry, ids: list[str]) -> bool:
    """A glossary's landing page: titled like a glossary, no text of its own, and named
    ``index.md`` or stating no id (a term called Dictionary states one)."""
    if entry.definition.strip() or not _GLOSSARY_TITLE.search(entry.heading):
        return False
    return PurePosixPath(entry.file).stem.lower() in ("index", "readme") or not ids


def labels_of(texts: list[str]) -> list[Label]:
    """Labels from names, split as headings are (``Mixture of Experts (MoE)``), without repeats."""
    seen: set[str] = set()
    labels: list[Label] = []
    for text in texts:
        for label in split_labels(text.replace("|", " ")):
            if normalize(label) not in seen:
                seen.add(normalize(label))
                labels.append(Label(label, detect_lang(label)))
    return labels


def add_labels(entry: Entry, names: list[str]) -> None:
    have = {normalize(label.text) for label in entry.labels}
    for label in labels_of(names):
        if normalize(label.text) not in have:
            have.add(normalize(label.text))
            entry.labels.append(label)


def parse(page: Page, *, layout_name: str, front: dict, max_labels: int, max_heading_chars: int,
          indented_code: bool = True) -> ParsedFile:
    """``parse_markdown`` over the rewritten page, its issues joined to the page's."""
    parsed = parse_markdown(page.text, page.path, max_labels=max_labels, max_heading_chars=max_heading_chars,
                            layout=layout_name, front=front, indented_code=indented_code)
    parsed.issues[:0] = page.issues
    return parsed


def id_link(text: str, term_id: str) -> str:
    """A Markdown link by term id, read back as ``Ref(kind="id")`` by ``finish``."""
    shown = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]") or term_id
    return f"[{shown}](<{ID_SCHEME}{term_id.strip().replace('>', '')}>)"


def finish(parsed: ParsedFile, dialect: str, page_ref: Callable[[Ref], Ref] | None = None) -> ParsedFile:
    """Links by id become ``id`` refs (``page_ref`` may turn site paths into ``site`` refs), and
    the page's term links are counted again."""
    def convert(ref: Ref) -> Ref:
        if ref.kind == "link" and ref.target.startswith(ID_SCHEME):
            return Ref("id", unquote(ref.target[len(ID_SCHEME):]).strip(), ref.text, ref.line, ref.start, ref.end)
        return page_ref(ref) if page_ref and ref.kind == "link" else ref

    for entry in parsed.entries:
        # A documentation site links its terms by path or id; a full URL is a page elsewhere,
        # even when it ends in `.md` (a file on GitHub), which the plain reader takes for a term.
        entry.refs = [ref for ref in map(convert, entry.refs) if not _is_web_page(ref)]
        entry.prerequisites = [convert(ref) for ref in entry.prerequisites]
    parsed.has_term_links = any(is_term_ref(ref) for entry in parsed.entries for ref in entry.refs)
    parsed.dialect = dialect
    return parsed


def _is_web_page(ref: Ref) -> bool:
    return ref.kind == "link" and ref.target.lower().startswith(("http://", "https://", "mailto:", "//"))


def site_ref(ref: Ref, suffixes: tuple[str, ...] = (".mdx",)) -> Ref:
    """A link to a page of the site (``/docs/glossary/api``, ``./api.mdx``, ``api``) as a ``site`` ref,
    named by its last path segment (and anchor); other links stay as they are."""
    parts = urlsplit(ref.target)
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or not path or path.lower().endswith((".md", ".markdown")):
        return ref
    name = PurePosixPath(path.rstrip("/")).name
    stem, dot, suffix = name.rpartition(".")
    if dot and f".{suffix.lower()}" not in suffixes:
        return ref  # an image, a PDF: not a page
    name = stem if dot else name
    if not name or name in (".", ".."):
        return ref
    target = f"{name}#{unquote(parts.fragment)}" if parts.fragment else name
    return Ref("site", target, ref.text, ref.line, ref.start, ref.end)


@dataclass
class Options:
    max_labels: int = 50
    max_heading_chars: int = 500


def _visible(text: str) -> bool:
    return any(line.strip() and not ATX_HEADING.match(line) for line in text.split("\n"))


def _inject(body: str, raw: str, key: str | None, text: str) -> str:
    """``body`` with ``text`` written on the line of front matter ``key`` (blank in ``body``)."""
    lines = body.split("\n")
    at = 0
    if key:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*[:=]", re.IGNORECASE)
        at = next((n for n, line in enumerate(raw.split("\n")) if pattern.match(line)), 0)
    if at < len(lines) and not lines[at].strip():
        lines[at] = text
    else:
        lines.insert(0, text)
    return "\n".join(lines)


def read_page(
    text: str,
    path: str,
    *,
    dialect: str,
    clean: Callable[[Page], None],
    fields_of: Callable[[dict], Fields],
    options: Options,
    indented_code: bool = True,
    page_ref: Callable[[Ref], Ref] | None = None,
) -> tuple[ParsedFile, Page]:
    """Read one page of a site dialect into entries.

    Args:
        text: the file's text.
        path: its name in messages and provenance.
        dialect: the dialect's name, recorded on the result.
        clean: rewrites the page's markup into plain Markdown (``Page.text``), keeping lines;
            may set ``Page.split`` to the offset of a summary divider.
        fields_of: reads the front matter.
        options: limits.
        indented_code: see ``parse_markdown``.
        page_ref: turns a written link into a ``site`` ref where the dialect's links name pages.

    Returns:
        The parsed file, and the cleaned page (for dialects that read more from it).
    """
    front, body, issues = split_front_matter(text, path)
    fields = fields_of(front)
    page = Page(path, body, front, list(issues))
    clean(page)
    if fields.description and not _visible(page.text[: page.split] if page.split is not None else page.text):
        page = Page(path, _inject(body, text, fields.description_key, fields.description), front, list(issues))
        clean(page)
    page.report_removed()
    how = layout(page, fields.title, fields.term_keys)
    if how == "headings":
        group_headings(page)
    note_front = {k: v for k, v in {"title": fields.title, "aliases": fields.labels, **fields.extra}.items() if v}
    limits = {"max_labels": options.max_labels, "max_heading_chars": options.max_heading_chars,
              "indented_code": indented_code}
    if how == "note" and page.split is not None:
        parsed = _split_note(page, note_front, limits)
    else:
        parsed = parse(page, layout_name=how, front=note_front if how == "note" else {}, **limits)
    notes = [entry for entry in parsed.entries if entry.note]
    if notes and (PurePosixPath(path).name == "_index.md" or is_index_page(notes[0], fields.ids)):
        parsed.issues.append(Issue("index_page", f"{notes[0].heading!r} is the glossary's index page, not a term",
                                   path, notes[0].line, severity="info"))
        parsed.entries = [entry for entry in parsed.entries if not entry.note]
    for entry in parsed.entries:
        if entry.note:
            entry.ids = list(fields.ids)
        entry.tags = list(fields.tags)
        entry.url = fields.url or entry.url
    return finish(parsed, dialect, page_ref), page


def _split_note(page: Page, front: dict, limits: dict) -> ParsedFile:
    """A summary divider (Hugo's ``<!--more-->``) splits the short definition from the long
    explanation: two entries of one term, merged into one concept with two definitions."""
    text, at = page.text, page.split or 0
    short = Page(page.path, text[:at] + "\n" * text.count("\n", at), page.front, page.issues)
    long = Page(page.path, "\n" * text.count("\n", 0, at) + text[at:], page.front, [])
    first = parse(short, layout_name="note", front=front, **limits)
    second = parse(long, layout_name="note", front={k: v for k, v in front.items() if k in ("title", "aliases")},
                   **limits)
    first.issues.extend(second.issues)
    lead = next((n for n, line in enumerate(long.text.split("\n")) if line.strip()), None)
    for entry in second.entries:
        if entry.definition.strip() and lead is not None:
            entry.line = lead + 1
            if first.entries:  # the same names, so that the two merge even when the title came from a heading
                entry.heading, entry.labels = first.entries[0].heading, list(first.entries[0].labels)
            first.entries.append(entry)
    first.entries = [e for e in first.entries if e.definition.strip()] or first.entries[:1]
    first.has_term_links = first.has_term_links or second.has_term_links
    return first


#: How much of a page is searched for a dialect's signs (enough for any real page's front part).
EVIDENCE_CHARS = 200_000


def signs_in(patterns, text: str) -> list[tuple[int, str]]:
    """The (weight, reason) of every ``(pattern, weight, reason)`` found in the page's head."""
    head = text[:EVIDENCE_CHARS]
    return [(weight, why) for pattern, weight, why in patterns if pattern.search(head)]


def config_in(folder: Path, names) -> Path | None:
    """The first of the site configuration files ``names`` that ``folder`` holds."""
    return next((folder / name for name in names if (folder / name).is_file()), None)
