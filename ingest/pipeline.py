"""Ingest files into concepts: read, parse, merge duplicates, resolve links and mentions."""

from __future__ import annotations

import base64
import binascii
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from kg.labels import normalize, slugify, split_labels, text_lang
from kg.model import Collection, Concept, Definition, Issue, Label, Link, Source
from kg.settings import Settings

from .dialects import MarkdownReader
from .dialects._common import site_ref
from .md_entries import Entry, ParsedFile, Ref
from .mentions import MentionMatcher, fold
from .merge import concept_ids, group_entries
from .overrides import Overrides, apply_overrides, load_overrides
from .reader import InputFile, discover, file_digest, read_text
from .synonyms import merge_redirects

Progress = Callable[[int, int, str], None]

#: Links (and mentions) kept from one definition to one term, and from one file, each with
#: its sentence of evidence (up to kg.labels.EVIDENCE_CHARS). The corpus's most are 9 and
#: 151; a definition naming one term a million times made a million links, and a store of
#: 750 MB from a file of 20; a file naming 10,000 terms 190 times each, 440 MB and 2.7 GB.
MAX_LINKS_PER_TARGET = 100
MAX_LINKS_PER_FILE = 100_000


class _LinkBudget:
    """Counts the links kept, by definition and target and by file; remembers the first not kept."""

    def __init__(self) -> None:
        self.per_file: defaultdict[str, int] = defaultdict(int)
        self.file_cut: dict[str, int] = {}  # file -> line of its first link not kept
        self.definition()

    def definition(self) -> None:
        """Start counting the links of another definition."""
        self.per_target: defaultdict[str, int] = defaultdict(int)
        self.target_cut: dict[str, int] = {}  # target -> line of the first link to it not kept

    def take(self, file: str, target: str, line: int) -> bool:
        """Whether one more link, to ``target`` at ``file:line``, is kept."""
        if self.per_file[file] >= MAX_LINKS_PER_FILE:
            self.file_cut.setdefault(file, line)
            return False
        self.per_target[target] += 1
        if self.per_target[target] > MAX_LINKS_PER_TARGET:
            self.target_cut.setdefault(target, line)
            return False
        self.per_file[file] += 1
        return True


@dataclass
class IngestResult:
    """What an ingest produced. ``issues`` with severity ``error`` mean input was lost."""

    concepts: list[Concept] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    files_read: int = 0

    @property
    def complete(self) -> bool:
        return not any(issue.severity == "error" for issue in self.issues)


def ingest_paths(
    paths: list[Path | str], settings: Settings | None = None, progress: Progress | None = None
) -> IngestResult:
    """Read Markdown and SKOS files or folders into concepts.

    Args:
        paths: files or folders; folders are searched recursively.
        settings: limits and naming; defaults to ``Settings()``.
        progress: called as ``progress(done, total, file_name)`` after each file.

    Returns:
        Concepts, collections, every issue met (with file and line), source hashes.
    """
    settings = settings or Settings()
    # Each Markdown file is read in its site dialect (ingest.dialects), once all are known.
    markdown = MarkdownReader(settings.dialect, settings.max_labels_per_heading, settings.max_heading_chars,
                              workers=settings.ingest_workers or os.cpu_count() or 1)
    files, issues = discover([Path(p) for p in paths])
    result = IngestResult(issues=issues)
    corrections: list[Overrides] = []
    done = 0

    def tick(name: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, len(files), name)

    for item in files:
        text, read_issues = read_text(item, settings.max_file_bytes)
        result.issues.extend(read_issues)
        if text is not None:
            result.sources[item.name] = file_digest(item.path)
            result.files_read += 1
            if item.kind == "markdown":
                markdown.add(item, text)
                continue  # counted when parsed
            elif item.kind == "overrides":  # applied once every concept is built
                corrections.append(load_overrides(item.path, text, item.name))
            else:
                _import_skos(item, text, result, settings)
        tick(item.name)
    parsed, dialect_issues = markdown.read(tick)
    result.issues.extend(dialect_issues)
    for file in parsed:
        result.issues.extend(file.issues)
        if len(file.entries) > settings.max_terms_per_file:
            result.issues.append(_too_many_terms(file, settings.max_terms_per_file))
            file.entries = []
    _build_concepts(parsed, result)
    for overrides in corrections:  # the author's word wins over every source
        result.issues.extend(overrides.issues)
        result.issues.extend(apply_overrides(result.concepts, overrides))
    return result


def _too_many_terms(file: ParsedFile, limit: int) -> Issue:
    """The file is not read: every stage after parsing costs time and memory per term, and
    a file of 20 MB can hold 200,000 headings (four minutes and 2.8 GB to ingest)."""
    return Issue(
        "too_many_terms",
        f"file has {len(file.entries):,} terms, over the limit of {limit:,} (KG_MAX_TERMS_PER_FILE); "
        f"not read (term {limit + 1:,} is here)",
        file.path,
        file.entries[limit].line,
        severity="error",
    )


def _import_skos(item: InputFile, text: str, result: IngestResult, settings: Settings) -> None:
    from dataclasses import replace as _replace

    from .skos import parse_skos  # rdflib parsing only when SKOS files are given

    imported = parse_skos(text.encode("utf-8"), item.name, namespace=settings.namespace)
    taken = {c.id for c in result.concepts}
    renamed: dict[str, str] = {}
    for concept in imported.concepts:
        if concept.id in taken:
            new_id, n = concept.id, 1
            while new_id in taken:
                n += 1
                new_id = f"{concept.id}-{n}"
            result.issues.append(
                Issue("duplicate_id", f"concept id {concept.id!r} already ingested; renamed {new_id!r}", item.name)
            )
            renamed[concept.id] = new_id
            concept.id = new_id
        taken.add(concept.id)
    for concept in imported.concepts:  # links inside this file follow the renames
        if renamed:
            concept.links = [_replace(link, target=renamed.get(link.target, link.target)) for link in concept.links]
            concept.broader = [renamed.get(b, b) for b in concept.broader]
        result.concepts.append(concept)
    result.collections.extend(imported.collections)
    result.issues.extend(imported.issues)


def file_title(stem: str) -> str:
    """A title for a page that has none of its own: its file name as words, short ones in
    capitals as the acronyms they usually are (``ai/llm-rag`` -> "LLM RAG").

    >>> file_title("ai/ai-general"), file_title("dl-train_eval"), file_title("用語集")
    ('AI General', 'DL Train Eval', '用語集')
    """
    words = [w for w in re.split(r"[-_\s]+", PurePosixPath(stem).name) if w]
    return " ".join(w.upper() if len(w) <= 3 and w.isascii() else w[:1].upper() + w[1:] for w in words) or stem


def _distinct_titles(collections: list[Collection]) -> list[Collection]:
    """Pages titled alike from their file names (``a/intro.md``, ``b/intro.md``) add their folder."""
    seen = defaultdict(list)
    for collection in collections:
        seen[collection.label].append(collection)
    out = []
    for collection in collections:
        source = collection.source
        folder = PurePosixPath(source.file).parent.as_posix() if source and source.line == 0 else "."
        alike = len(seen[collection.label]) > 1 and folder != "."
        out.append(replace(collection, label=f"{collection.label} ({folder})") if alike else collection)
    return out


def _collection_ids(file: ParsedFile) -> tuple[Collection, dict[str, Collection]]:
    """The file's collection and one per H1 section that groups terms.

    Notes (one term per file) are grouped by folder instead. A single H1 over all
    the terms of a page is the page's title, not a section.
    """
    path = PurePosixPath(file.path)
    if file.entries and all(e.note for e in file.entries):
        folder = path.parent.as_posix()
        name = "notes" if folder == "." else folder
        return Collection(slugify(name.replace("/", "-")), name, Source(folder, 0)), {}
    stem = path.with_suffix("").as_posix()
    used = [(title, line) for title, line in file.sections if any(e.section == title for e in file.entries)]
    first_term_line = min((e.line for e in file.entries), default=0)
    if len(used) == 1 and all(e.section == used[0][0] for e in file.entries) and used[0][1] < first_term_line:
        title, line = used[0]
        return Collection(slugify(stem.replace("/", "-")), title, Source(file.path, line, file.url)), {}
    whole = Collection(slugify(stem.replace("/", "-")), file_title(stem), Source(file.path, 0, file.url))
    sections = {
        title: Collection(f"{whole.id}--{slugify(title)}", title, Source(file.path, line, file.url))
        for title, line in used
    }
    return whole, sections


class _Resolver:
    """Resolves written links to entries: by file and anchor, then anchor alone,
    then the heading encoded in a base64 anchor, then labels."""

    def __init__(self, entries: list[Entry], label_index: dict[str, list[str]], entry_concept: dict[str, str]) -> None:
        self.by_file_anchor: dict[tuple[str, str], Entry] = {}
        self.by_anchor: dict[str, list[Entry]] = defaultdict(list)
        self.by_file: dict[str, list[Entry]] = defaultdict(list)
        self.by_stem: dict[str, list[Entry]] = defaultdict(list)
        self.by_id: dict[str, list[Entry]] = defaultdict(list)  # ids pages state (Hugo `id`, a slug)
        for entry in entries:
            self.by_file[entry.file].append(entry)
            self.by_stem[normalize(_page_name(entry.file))].append(entry)
            for stated in entry.ids:
                self.by_id[normalize(stated)].append(entry)
            for anchor in entry.anchors:
                self.by_file_anchor.setdefault((entry.file, anchor), entry)
                self.by_anchor[anchor].append(entry)
        self.files = sorted(self.by_file)
        # Each file under each of its path tails ("b.md", "a/b.md"): a link is looked up by
        # its tails rather than by comparing it with every file.
        self.by_tail: dict[str, list[str]] = defaultdict(list)
        for file in self.files:
            parts = file.split("/")
            for n in range(1, len(parts) + 1):
                self.by_tail["/".join(parts[-n:])].append(file)
        self.label_index = label_index
        self.entry_concept = entry_concept
        self._headings: dict[str, dict[str, Entry]] = {}  # file -> normalised heading -> its first entry
        self._one_concept: dict[str, bool] = {}  # file -> whether all its entries are one concept

    def _file_for(self, href_path: str, here: str) -> str | None:
        if not href_path:
            return here
        local = posixpath.normpath(posixpath.join(posixpath.dirname(here), href_path))
        if local in self.by_file:
            return local
        # Published URLs (…/output/ai/deep-learning.md): the longest matching path suffix.
        parts = PurePosixPath(href_path).parts
        for n in range(len(parts), 0, -1):
            matches = self.by_tail.get("/".join(parts[-n:]), ())
            if len(matches) == 1:
                return matches[0]
        return None

    def _by_label(self, text: str) -> str | None:
        targets = self.label_index.get(normalize(text), [])
        return targets[0] if len(targets) == 1 else None

    def resolve(self, ref: Ref, here: str) -> str | None:
        """Concept id a written reference points to, or None."""
        if ref.kind in ("id", "site"):
            return self._by_id(ref.target)
        if ref.kind == "wikilink":
            title, _, heading = ref.target.partition("#")
            title = title.strip()
            if not title:
                return self._in_file(here, heading)
            found = self._by_label(title)
            if found:
                return found
            stems = self.by_stem.get(normalize(PurePosixPath(title).stem), [])
            return self.entry_concept[stems[0].key] if stems else None
        parts = urlsplit(ref.target)
        path = unquote(parts.path)
        anchor = unquote(parts.fragment)
        file = self._file_for(path, here)
        if file and anchor and (entry := self.by_file_anchor.get((file, anchor))):
            return self.entry_concept[entry.key]
        if anchor and (entries := self.by_anchor.get(anchor)):
            return self.entry_concept[entries[0].key]
        if anchor:
            for heading in (_decode_anchor(anchor), anchor.replace("-", " ")):
                if heading:
                    for label in split_labels(heading):
                        if found := self._by_label(label):
                            return found
            return None
        if file and self.by_file.get(file):
            return self.entry_concept[self.by_file[file][0].key]
        return None

    def _by_id(self, target: str) -> str | None:
        """A term named by a stated id, else by the name of a one-term page, else by label;
        ``name#anchor`` is the anchor's term on a page of terms."""
        name, _, anchor = target.partition("#")
        if anchor and (entries := self.by_anchor.get(anchor)):
            here = [e for e in entries if normalize(_page_name(e.file)) == normalize(name)]
            return self.entry_concept[(here or entries)[0].key]
        key = normalize(name)
        if entries := self.by_id.get(key):
            return self.entry_concept[entries[0].key]
        for entry in self.by_stem.get(key, []):  # a page of many terms is named by none of them
            one = self._one_concept.get(entry.file)
            if one is None:
                one = self._one_concept[entry.file] = len(
                    {self.entry_concept[e.key] for e in self.by_file[entry.file]}) == 1
            if one:
                return self.entry_concept[entry.key]
        return self._by_label(name) or self._by_label(name.replace("-", " ").replace("_", " "))

    def _in_file(self, file: str, heading: str) -> str | None:
        headings = self._headings.get(file)
        if headings is None:
            headings = self._headings[file] = {}
            for entry in self.by_file.get(file, []):
                headings.setdefault(normalize(entry.heading), entry)
        entry = headings.get(normalize(heading))
        return self.entry_concept[entry.key] if entry else None


def _page_name(file: str) -> str:
    """What a site calls a page: its file stem, or its folder's name for ``index.md``."""
    path = PurePosixPath(file)
    return path.parent.name if path.stem.lower() in ("index", "_index") and path.parent.name else path.stem


def _decode_anchor(anchor: str) -> str | None:
    try:
        return base64.b64decode(anchor + "=" * (-len(anchor) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _is_internal(ref: Ref) -> bool:
    """A link to a term (a Markdown file or an anchor), not to a web page."""
    if ref.kind in ("wikilink", "id", "site"):
        return True
    parts = urlsplit(ref.target)
    if parts.scheme in ("mailto", "tel", "data", "javascript"):
        return False
    path = parts.path.lower()
    if parts.scheme in ("http", "https"):
        return path.endswith((".md", ".markdown"))
    return path.endswith((".md", ".markdown")) or (not path and bool(parts.fragment)) or path == ""


def _merged_labels(group: list[Entry], redirects: set[str] = frozenset()) -> list[Label]:
    """All labels of a group, the fullest entry first: it gives the prefLabels
    (never a synonym heading, whose labels are altLabels)."""
    ordered = sorted(group, key=lambda e: (not e.definition.strip(), e.key in redirects, -len(e.labels)))
    labels: list[Label] = []
    seen: set[str] = set()
    for entry in ordered:
        for label in entry.labels:
            if normalize(label.text) not in seen:
                seen.add(normalize(label.text))
                labels.append(label)
    return labels


def _build_concepts(parsed: list[ParsedFile], result: IngestResult) -> None:
    entries = [entry for file in parsed for entry in file.entries]
    redirects, synonym_issues = merge_redirects(entries)  # "Same as X": X's label joins the merge
    index_groups, merge_issues = group_entries(entries)
    merge_issues = synonym_issues + merge_issues
    groups = [[entries[i] for i in members] for members in index_groups]
    group_labels = [_merged_labels(group, redirects) for group in groups]
    stated = [next((i for e in group for i in e.ids[:1]), None) for group in groups]
    ids = concept_ids(group_labels, taken={c.id for c in result.concepts}, stated=stated)  # SKOS ids came first

    file_collections: dict[str, tuple[Collection, dict[str, Collection]]] = {}
    collection_ids = {c.id for c in result.collections}
    for file in parsed:
        whole, sections = _collection_ids(file)
        file_collections[file.path] = (whole, sections)
        if file.entries and whole.id not in collection_ids:
            collection_ids.add(whole.id)
            result.collections.append(whole)
        result.collections.extend(sections.values())
    result.collections = _distinct_titles(result.collections)
    tags = _tag_collections(entries, {c.id for c in result.collections})
    result.collections.extend(tags.values())

    entry_concept: dict[str, str] = {}
    concepts: list[Concept] = []
    for concept_id, group, labels in zip(ids, groups, group_labels, strict=True):
        collections: list[str] = []
        for entry in group:
            whole, sections = file_collections[entry.file]
            for collection in (whole, sections.get(entry.section or ""), *(tags[slugify(t)] for t in entry.tags)):
                if collection and collection.id not in collections:
                    collections.append(collection.id)
            entry_concept[entry.key] = concept_id
        concepts.append(
            Concept(
                id=concept_id,
                labels=labels,
                definitions=[
                    Definition(e.definition, Source(e.file, e.line, e.url), text_lang(e.definition))
                    for e in group
                    if e.definition.strip()
                ],
                sources=[Source(e.file, e.line, e.url) for e in group],
                collections=collections,
            )
        )
    by_id = {c.id: c for c in concepts}
    result.issues.extend(
        replace(issue, concepts=tuple(entry_concept[key] for key in issue.concepts)) for issue in merge_issues
    )

    label_index: dict[str, list[str]] = defaultdict(list)
    for concept in concepts:
        for label in concept.labels:
            targets = label_index[normalize(label.text)]
            if concept.id not in targets:
                targets.append(concept.id)
    resolver = _Resolver(entries, label_index, entry_concept)

    # Unambiguous labels only: a mention of 正規化 cannot say which concept it means.
    matcher = MentionMatcher(
        {
            label.text: concept.id
            for concept in concepts
            for label in concept.labels
            if len(label_index[normalize(label.text)]) == 1
        }
    )
    links_mode = {file.path: file.has_term_links for file in parsed}

    budget = _LinkBudget()
    for entry in entries:
        concept = by_id[entry_concept[entry.key]]
        linked: set[str] = set()
        budget.definition()
        for ref in entry.refs:
            if ref.kind == "link" and not _is_internal(ref):
                # A path of the published site ("[Job](/docs/concepts/workloads/controllers/job/)")
                # names a term by its last segment when one is named so; else it is an outside page.
                ref = site_ref(ref, suffixes=(".mdx", ".html", ".htm"))
            if not _is_internal(ref):
                continue
            target = resolver.resolve(ref, entry.file)
            if target is None and ref.kind == "site":
                continue  # a page of the site that is no term: an outside link
            if target is None:
                result.issues.append(
                    Issue(
                        "broken_link",
                        f"link to {ref.target!r} ({ref.text!r}) resolves to no term",
                        entry.file,
                        ref.line,
                        (concept.id,),
                    )
                )
                continue
            if target == concept.id:
                result.issues.append(
                    Issue(
                        "self_link",
                        f"{concept.name!r} links to itself ({ref.text!r})",
                        entry.file,
                        ref.line,
                        (concept.id,),
                        severity="info",
                    )
                )
                continue
            linked.add(target)
            if not budget.take(entry.file, target, ref.line):
                continue
            concept.links.append(
                Link(
                    target,
                    ref.kind,
                    ref.text,
                    entry.sentence_at(ref.start, ref.end),
                    Source(entry.file, ref.line, entry.url),
                )
            )
        folded = fold(entry.definition)
        for segment in entry.segments:
            source = Source(entry.file, segment.line, entry.url)  # one per segment: a long one has thousands
            for mention in matcher.iter_find(entry.definition, segment.start, segment.end, folded=folded):
                if mention.target == concept.id:
                    continue
                # In a page that links its terms, an unlinked mention is reported (once per
                # definition) and still kept: the definition does use that term.
                if links_mode[entry.file] and mention.target not in linked:
                    linked.add(mention.target)
                    result.issues.append(
                        Issue(
                            "unlinked_mention",
                            f"definition of {concept.name!r} names {by_id[mention.target].name!r} "
                            f"({mention.text!r}) without linking it",
                            entry.file,
                            segment.line,
                            (concept.id, mention.target),
                            severity="info",
                        )
                    )
                if not budget.take(entry.file, mention.target, segment.line):
                    continue
                concept.links.append(
                    Link(
                        mention.target,
                        "mention",
                        mention.text,
                        entry.sentence_at(mention.start, mention.end),
                        source,
                    )
                )
        entry.forget_sentences()
        for target, line in budget.target_cut.items():
            result.issues.append(
                Issue(
                    "repeated_link",
                    f"definition of {concept.name!r} names {by_id[target].name!r} {budget.per_target[target]} "
                    f"times; the first {MAX_LINKS_PER_TARGET} are kept as links",
                    entry.file,
                    line,
                    (concept.id, target),
                    severity="info",
                )
            )
    for file, line in budget.file_cut.items():
        result.issues.append(
            Issue(
                "too_many_links",
                f"file makes more than {MAX_LINKS_PER_FILE:,} links and mentions; those from here on are not kept",
                file,
                line,
                severity="warning",
            )
        )
    _resolve_prerequisites(entries, by_id, entry_concept, resolver, label_index, result)
    result.concepts.extend(concepts)


def _tag_collections(entries: list[Entry], taken: set[str]) -> dict[str, Collection]:
    """One collection per tag (front matter ``tags``), by the tag's slug, apart from ``taken`` ids."""
    found: dict[str, Collection] = {}
    for entry in entries:
        for tag in entry.tags:
            key = slugify(tag)
            if key not in found:
                base = candidate = f"tag-{key}"
                n = 1
                while candidate in taken:
                    n += 1
                    candidate = f"{base}-{n}"
                taken.add(candidate)
                found[key] = Collection(candidate, tag)
    return found


def _resolve_prerequisites(
    entries: list[Entry],
    by_id: dict[str, Concept],
    entry_concept: dict[str, str],
    resolver: _Resolver,
    label_index: dict[str, list[str]],
    result: IngestResult,
) -> None:
    """Fill ``Concept.prerequisites`` from the entries' ``前提:`` statements, like links:
    by link target, else by label (or id). Merged headings add up."""
    for entry in entries:
        concept = by_id[entry_concept[entry.key]]
        for ref in entry.prerequisites:
            target = resolver.resolve(ref, entry.file) if ref.kind != "label" and _is_internal(ref) else None
            if target is None:
                target = ref.text if ref.text in by_id else resolver._by_label(ref.text)
            if target is None:
                shared = label_index.get(normalize(ref.text), [])
                why = f"names several terms ({', '.join(shared)})" if len(shared) > 1 else "resolves to no term"
                shown = ref.text if ref.kind == "label" else f"{ref.text} ({ref.target})"
                result.issues.append(
                    Issue(
                        "broken_prerequisite",
                        f"prerequisite {shown!r} of {concept.name!r} {why}",
                        entry.file,
                        ref.line,
                        (concept.id,),
                    )
                )
            elif target == concept.id:
                result.issues.append(
                    Issue(
                        "self_prerequisite",
                        f"{concept.name!r} is stated as its own prerequisite; ignored",
                        entry.file,
                        ref.line,
                        (concept.id,),
                        severity="info",
                    )
                )
            elif target not in concept.prerequisites:
                concept.prerequisites.append(target)
