"""Site dialects: one reader per documentation-site flavour of Markdown, chosen by evidence.

Every reader returns the ``ParsedFile``/``Entry`` objects ``parse_markdown`` returns, so
merging, links, mentions, collections and prerequisites work the same for all of them.

Each file's dialect is, in order: the one forced (``kg ingest --dialect``, ``KG_DIALECT``);
the one of the nearest site configuration beside or above the file (``hugo.toml``,
``mkdocs.yml``, ``docusaurus.config.js``, ``book.toml``...); the file's own evidence
(shortcodes, ``*[ABBR]:`` lines, ``.mdx``, ``[x]: #anchor``...), with the files of its
folder voting for files that show none; else ``plain``.
"""

from __future__ import annotations

import importlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from kg.errors import ConfigurationError
from kg.model import Issue

from ..markdown import parse_markdown
from ..md_entries import ParsedFile
from ..reader import InputFile
from ._common import Options, Site

AUTO = "auto"
#: name -> module; imported when first needed.
_MODULES = {
    "plain": "ingest.dialects.plain",
    "hugo": "ingest.dialects.hugo",
    "mkdocs": "ingest.dialects.mkdocs",
    "docusaurus": "ingest.dialects.docusaurus",
    "mdbook": "ingest.dialects.mdbook",
}
ALIASES = {"markdown": "plain", "docsy": "hugo", "material": "mkdocs", "mdx": "docusaurus", "wiki": "mdbook",
           "github-wiki": "mdbook"}
_ENOUGH = 3  # evidence weight that makes a file's own dialect
# Site configurations are looked for this many folders up (stopping at a repository's root).
_MAX_UP = 8


def names() -> list[str]:
    """Every dialect name ``--dialect`` accepts (``auto`` first), aliases aside."""
    return [AUTO, *_MODULES]


def canonical(name: str | None) -> str:
    """The dialect a name (or alias) stands for; ``auto`` for none.

    Raises:
        ConfigurationError: the name is no dialect; the message lists the known ones.

    >>> canonical("Docsy"), canonical(None)
    ('hugo', 'auto')
    """
    key = (name or AUTO).strip().lower()
    key = ALIASES.get(key, key)
    if key != AUTO and key not in _MODULES:
        raise ConfigurationError(f"unknown dialect {name!r}; known dialects: {', '.join(names())} "
                                 f"(aliases: {', '.join(f'{a}={d}' for a, d in ALIASES.items())})",
                                 dialect=name, known=names())
    return key


def module(name: str) -> ModuleType:
    """The reader module of a dialect (``NAME``, ``SUMMARY``, ``evidence``, ``site_config``, ``read``)."""
    return importlib.import_module(_MODULES[canonical(name)])


def _site_dialects() -> list[str]:
    return [name for name in _MODULES if name != "plain"]


def site_of(folder: Path, cache: dict | None = None) -> tuple[str, Path] | None:
    """The nearest site configuration at or above ``folder``: ``(dialect, config file)``.

    Args:
        folder: where a file is.
        cache: answers by folder, shared by the files of one ingest.
    """
    _site_cache = {} if cache is None else cache
    folder = folder.resolve()
    seen: list[Path] = []
    found: tuple[str, Path] | None = None
    for _ in range(_MAX_UP):
        if folder in _site_cache:
            found = _site_cache[folder]
            break
        seen.append(folder)
        found = next(((name, config) for name in _site_dialects()
                      if (config := module(name).site_config(folder)) is not None), None)
        if found or (folder / ".git").exists() or folder.parent == folder:
            break
        folder = folder.parent
    for path in seen:  # every folder passed on the way has the same answer
        _site_cache[path] = found
    return found


def file_evidence(text: str, path: str) -> dict[str, list[tuple[int, str]]]:
    """Each dialect's weighted reasons to read this file with it, for those with enough.

    One strong sign (a shortcode, an ``*[ABBR]:`` line, an ``import``) is enough; weak
    ones (a definition list, a capitalised tag) only count together.
    """
    found = {name: module(name).evidence(text, path) for name in _site_dialects()}
    return {name: reasons for name, reasons in found.items() if sum(w for w, _ in reasons) >= _ENOUGH}


def detect(text: str, path: str | Path, folder: Path | None = None) -> str:
    """The dialect of one file by the site configuration above ``folder`` and its own evidence.

    Args:
        text: the file's text.
        path: its name (the suffix counts: ``.mdx``).
        folder: where it is on disk, to look for a site configuration.

    Returns:
        A dialect name; ``plain`` when nothing points elsewhere.
    """
    if folder is not None and (site := site_of(folder)):
        return site[0]
    scores = {name: sum(w for w, _ in reasons) for name, reasons in file_evidence(text, str(path)).items()}
    return max(scores, key=lambda name: (scores[name], -list(_MODULES).index(name))) if scores else "plain"


@dataclass
class Choice:
    """Which dialect reads a file, and why."""

    dialect: str
    reasons: list[str] = field(default_factory=list)
    site: Site = field(default_factory=Site)


def choose(files: list[tuple[InputFile, str]], forced: str = AUTO) -> list[Choice]:
    """The dialect of each file (see the module docstring for the order of evidence)."""
    forced = canonical(forced)
    evidence = [file_evidence(text, item.name) if forced == AUTO else {} for item, text in files]
    cache: dict = {}
    votes: dict[Path, Counter] = defaultdict(Counter)
    for (item, _), found in zip(files, evidence, strict=True):
        for name, reasons in found.items():
            votes[item.path.parent][name] += sum(w for w, _ in reasons)
    choices = []
    for (item, _), found in zip(files, evidence, strict=True):
        site = site_of(item.path.parent, cache)
        if forced != AUTO:
            choice = Choice(forced, ["--dialect"])
        elif site:
            choice = Choice(site[0], [f"site configuration {site[1].name}"])
        elif found:
            best = max(found, key=lambda name: (sum(w for w, _ in found[name]), -list(_MODULES).index(name)))
            choice = Choice(best, [why for _, why in found[best]])
        elif votes[item.path.parent]:
            best = max(votes[item.path.parent], key=lambda n: (votes[item.path.parent][n], -list(_MODULES).index(n)))
            choice = Choice(best, ["the other files of its folder"])
        else:
            choice = Choice("plain")
        config = site[1] if site and site[0] == choice.dialect else None
        choice.site = _site_info(choice.dialect, config)
        choices.append(choice)
    return choices


def _site_info(dialect: str, config: Path | None) -> Site:
    if config is None:
        return Site()
    reader = module(dialect)
    return reader.site_info(config) if hasattr(reader, "site_info") else Site(config.parent, config)


class MarkdownReader:
    """Reads the Markdown files of one ingest, each with its dialect.

    Files are collected first (``add``) and read together (``read``), because a file's
    dialect may depend on the other files of its folder.
    """

    def __init__(self, dialect: str | None = AUTO, max_labels: int = 50, max_heading_chars: int = 500,
                 workers: int = 1) -> None:
        self.forced = canonical(dialect)
        self.options = Options(max_labels, max_heading_chars)
        self.files: list[tuple[InputFile, str]] = []
        self.workers = max(1, workers)

    def add(self, item: InputFile, text: str) -> None:
        self.files.append((item, text))

    def read(self, progress: Callable[[str], None] | None = None) -> tuple[list[ParsedFile], list[Issue]]:
        """Every file added, parsed; and the issues of the choice of dialects.

        Args:
            progress: called with each file's name once it is read.
        """
        choices = choose(self.files, self.forced)
        parsed: list[ParsedFile] = []
        issues: list[Issue] = []
        jobs = [(item, text, choice) for (item, text), choice in zip(self.files, choices, strict=True)]
        for item, result, found in self._results(jobs):
            issues.extend(found)
            if result is not None:
                parsed.append(result)
            if progress:
                progress(item.name)
        issues.extend(_summary(self.files, choices))
        return parsed, issues

    def _results(self, jobs: list[tuple[InputFile, str, Choice]]):
        """(file, parsed or None, issues) per job, in order; in worker processes when there are
        many files, since parsing is pure Python and most of a large ingest's time."""
        if self.workers < 2 or len(jobs) < PARALLEL_MIN_FILES:
            for item, text, choice in jobs:
                found: list[Issue] = []
                yield item, self._read_one(item, text, choice, found), found
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        size = max(16, len(jobs) // (self.workers * 8))
        chunks = [jobs[n:n + size] for n in range(0, len(jobs), size)]
        # forkserver: the caller may be a server with threads, which fork would copy mid-flight.
        context = multiprocessing.get_context("forkserver")
        try:
            with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
                done = list(pool.map(_read_chunk, [(self, c) for c in chunks]))
        except (OSError, RuntimeError, BrokenProcessPool):  # no processes to be had here: parse in this one
            done = [_read_chunk((self, chunk)) for chunk in chunks]
        for chunk, results in zip(chunks, done, strict=True):
            for (item, _, _), (result, found) in zip(chunk, results, strict=True):
                yield item, result, found

    def __getstate__(self) -> dict:
        return {**self.__dict__, "files": []}  # a worker is sent its own files only

    def _read_one(self, item: InputFile, text: str, choice: Choice, issues: list[Issue]) -> ParsedFile | None:
        try:
            return module(choice.dialect).read(text, item.name, choice.site, self.options)
        except RecursionError:
            issues.append(Issue("too_deep", "nesting too deep to parse; skipped", item.name, severity="error"))
        except Exception as error:  # noqa: BLE001 - one odd page must not stop an ingest; read it plainly
            if choice.dialect == "plain":
                raise
            issues.append(Issue("parse_error", f"the {choice.dialect} reader failed ({type(error).__name__}: "
                                f"{error}); read as plain Markdown", item.name, severity="warning"))
            try:
                return parse_markdown(text, item.name, max_labels=self.options.max_labels,
                                      max_heading_chars=self.options.max_heading_chars)
            except RecursionError:
                issues.append(Issue("too_deep", "nesting too deep to parse; skipped", item.name, severity="error"))
        return None


#: From this many Markdown files on, they are parsed in ``workers`` processes.
PARALLEL_MIN_FILES = 200


def _read_chunk(job: tuple[MarkdownReader, list[tuple[InputFile, str, Choice]]]) -> list:
    reader, chunk = job
    results = []
    for item, text, choice in chunk:
        found: list[Issue] = []
        results.append((reader._read_one(item, text, choice, found), found))
    return results


def _summary(files: list[tuple[InputFile, str]], choices: list[Choice]) -> list[Issue]:
    """One note per dialect other than plain: how many files it read, and why."""
    by_dialect: dict[str, list[tuple[InputFile, Choice]]] = defaultdict(list)
    for (item, _), choice in zip(files, choices, strict=True):
        by_dialect[choice.dialect].append((item, choice))
    notes = []
    for dialect, members in by_dialect.items():
        if dialect == "plain":
            continue
        reasons = Counter(why for _, choice in members for why in choice.reasons)
        why = ", ".join(reason for reason, _ in reasons.most_common(4))
        notes.append(Issue("dialect", f"{len(members)} file(s) read as {dialect} ({why})", members[0][0].name,
                           severity="info"))
    return notes
