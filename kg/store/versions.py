"""The versioned on-disk store: one JSON directory per ingest, switched atomically."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.errors import StoreError
from kg.model import Collection, Concept, Issue, Source
from kg.search.lexical_store import save_lexical
from kg.search.semantic import PASSAGE_LAYOUT, build_into
from kg.settings import Settings

if TYPE_CHECKING:
    from ingest.pipeline import IngestResult, Progress
    from kg.glossary import Glossary

#: Bump when the files of a version or their fields change: older stores are refused.
SCHEMA_VERSION = 1

#: How many of the newest versions are kept; older ones are deleted (never the current one).
KEEP_VERSIONS = 3

_VERSION_RE = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")
_TMP_PREFIX = ".tmp-"
_DATA_FILES = ("concepts.json", "collections.json", "issues.json")


def new_version_id() -> str:
    """A unique id that sorts by creation time: UTC to the microsecond plus 6 random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def settings_fingerprint(settings: Settings) -> dict[str, Any]:
    """The settings that change what an ingest produces (a change means re-ingest)."""
    return {
        "base_uri": settings.base_uri,
        "max_file_bytes": settings.max_file_bytes,
        "max_labels_per_heading": settings.max_labels_per_heading,
        "max_heading_chars": settings.max_heading_chars,
        "max_terms_per_file": settings.max_terms_per_file,
        "dialect": settings.dialect,  # another dialect reads the same files otherwise
        # What the dense index is built with: another model or layout means re-embedding.
        "semantic_index": settings.semantic_index,
        "model": settings.model if settings.semantic_index else None,
        "gloss_japanese": settings.gloss_japanese,
        "passage_layout": PASSAGE_LAYOUT,
        "half_threshold": settings.half_threshold,
        "hnsw_threshold": settings.hnsw_threshold,
        "ivf_threshold": settings.ivf_threshold,
        "ivf_nprobe": settings.ivf_nprobe,
    }


def _kg_version() -> str:
    try:
        return metadata.version("kg-glossary")
    except metadata.PackageNotFoundError:
        return "unknown"  # running from a checkout that was never installed


def _write_file(path: Path, data: bytes) -> None:
    """Write and fsync, so a rename that follows never publishes an empty file after a crash."""
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Files up to this size are hashed when a version is written and checked when it is loaded;
#: larger ones (a big vector index) only by size, so that a start stays fast.
HASH_LIMIT = 64 * 1024 * 1024


def _file_digests(directory: Path) -> dict[str, dict[str, Any]]:
    import hashlib

    files = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != "manifest.json"):
        entry: dict[str, Any] = {"bytes": path.stat().st_size}
        if entry["bytes"] <= HASH_LIMIT:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        files[path.relative_to(directory).as_posix()] = entry
    return files


def _check_files(directory: Path, expected: dict[str, dict[str, Any]] | None) -> None:
    """Refuse a version whose files differ from what its manifest recorded (older
    versions without the record are read as before)."""
    import hashlib

    if not expected:
        return
    for name, entry in expected.items():
        path = directory / name
        problem = None
        if not path.is_file():
            problem = "is missing"
        elif path.stat().st_size != entry.get("bytes"):
            problem = f"has {path.stat().st_size} bytes, the manifest recorded {entry.get('bytes')}"
        elif "sha256" in entry and hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            problem = "does not match the hash the manifest recorded"
        if problem:
            raise StoreError(f"{path} {problem}: store version {directory.name} is corrupt and is not served; "
                             "re-run `kg ingest PATH`", file=str(path), version=directory.name)


def _dump(value: Any, indent: int | None = None) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=indent).encode("utf-8")


class Store:
    """A folder of immutable versions and a ``CURRENT`` pointer.

    Layout::

        STORE/CURRENT                   the current version id (replaced atomically)
        STORE/.lock                     flock'ed by writers so ingests do not interleave
        STORE/versions/<id>/            manifest.json, concepts.json, collections.json, issues.json
        STORE/versions/.tmp-<random>/   a version being built (renamed to <id> when complete)

    Readers take no lock: a version directory never changes once renamed into place,
    and ``CURRENT`` always names a complete one.
    """

    def __init__(self, root: Path | str, keep: int = KEEP_VERSIONS) -> None:
        self.root = Path(root).expanduser()
        self.keep = max(1, keep)

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- reading ------------------------------------------------------------------------

    def current_version(self) -> str | None:
        """The id named by ``CURRENT``, or None when nothing has been written yet."""
        try:
            text = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError(f"cannot read {self.root / 'CURRENT'}: {error}", store=str(self.root)) from error
        return text or None

    def is_empty(self) -> bool:
        return self.current_version() is None

    def versions(self) -> list[str]:
        """Complete versions, oldest first (builds in progress are not listed)."""
        try:
            return sorted(p.name for p in self.versions_dir.iterdir() if _VERSION_RE.match(p.name) and p.is_dir())
        except FileNotFoundError:
            return []

    def version_dir(self, version: str | None = None) -> Path:
        """The directory of ``version`` (the current one by default), for files other layers keep there.

        Raises:
            StoreError: the store is empty or has no such version.
        """
        if version is None:
            version = self.current_version()
            if version is None:
                raise StoreError(f"the store {self.root} is empty: run `kg ingest PATH` first", store=str(self.root))
        path = self.versions_dir / version
        if not _VERSION_RE.match(version) or not path.is_dir():
            raise StoreError(f"the store {self.root} has no version {version!r}: re-run `kg ingest PATH`",
                             store=str(self.root), version=version)
        return path

    def manifest(self, version: str | None = None) -> dict[str, Any]:
        """The manifest of ``version`` (the current one by default).

        Raises:
            StoreError: the store is empty, or the version is missing or its manifest unreadable.
        """
        return self._read_json(self.version_dir(version) / "manifest.json")

    def load(self, settings: Settings | None = None, version: str | None = None) -> Glossary:
        """Open ``version`` (the current one by default) as a ``Glossary``.

        Args:
            settings: given to the glossary (namespace, limits); defaults to ``Settings()``.
            version: an id from ``versions()``.

        Returns:
            The glossary, with ``version`` and ``manifest`` set.

        Raises:
            StoreError: the store is empty, the version was written by another schema,
                or one of its files is missing or corrupt (the message names it).
        """
        directory = self.version_dir(version)
        manifest = self._read_json(directory / "manifest.json")
        found = manifest.get("schema_version") if isinstance(manifest, dict) else None
        if found != SCHEMA_VERSION:
            raise StoreError(
                f"store version {directory.name} was written by schema {found}, this version of kg reads "
                f"schema {SCHEMA_VERSION}: re-run `kg ingest PATH`",
                store=str(self.root), version=directory.name,
            )
        concepts = self._read_records(directory / "concepts.json", Concept.from_dict)
        collections = self._read_records(directory / "collections.json", _collection_from_dict)
        issues = self._read_records(directory / "issues.json", Issue.from_dict)
        _check_files(directory, manifest.get("files"))
        # A cheap cross-check that catches a data file swapped or truncated to valid JSON.
        expected = manifest.get("counts", {}).get("concepts")
        if expected is not None and expected != len(concepts):
            raise StoreError(f"{directory / 'concepts.json'} holds {len(concepts)} concepts, the manifest says "
                             f"{expected}: the store is corrupt, re-run `kg ingest PATH`", file=str(directory))
        # a cycle: kg.glossary imports this module
        from kg.glossary import Glossary

        return Glossary(concepts, collections, issues, settings=settings, version=directory.name, manifest=manifest,
                        directory=directory)

    def _read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_bytes())
        except FileNotFoundError as error:
            raise StoreError(f"{path} is missing: the store is corrupt, re-run `kg ingest PATH`",
                             file=str(path)) from error
        except (OSError, ValueError) as error:
            raise StoreError(f"{path} cannot be read ({error}): the store is corrupt, re-run `kg ingest PATH`",
                             file=str(path)) from error

    def _read_records(self, path: Path, parse: Callable[[dict], Any]) -> list:
        data = self._read_json(path)
        try:
            return [parse(item) for item in data]
        except (TypeError, KeyError, AttributeError) as error:
            raise StoreError(f"{path} has an unexpected record ({error!r}): the store is corrupt, "
                             "re-run `kg ingest PATH`", file=str(path)) from error

    # -- writing ------------------------------------------------------------------------

    def write(self, result: IngestResult, settings: Settings, extra: dict | None = None, *,
              inputs: list[Path | str] | None = None) -> str:
        """Write ``result`` as a new version and make it current.

        Args:
            result: what ``ingest_paths`` returned.
            settings: recorded in the manifest as a fingerprint.
            extra: free-form manifest entries of later layers (model name, index info).
            inputs: the paths given to ingest, recorded (absolute) in the manifest.

        Returns:
            The new version id.
        """
        with self.locked():
            self.collect_garbage()
            staging = self._staging()
            return self._commit(staging, result, settings, extra, inputs)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the writers' lock (blocking); the kernel releases it if the process dies."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _staging(self) -> Path:
        path = self.versions_dir / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
        path.mkdir()
        return path

    def _commit(self, staging: Path, result: IngestResult, settings: Settings, extra: dict | None,
                inputs: list[Path | str] | None, version: str | None = None) -> str:
        """Fill ``staging``, rename it to a version and switch ``CURRENT`` (caller holds the lock).

        ``version`` keeps an id made elsewhere (a replica takes its publisher's); a new one by default.
        """
        try:
            if version is None or not _VERSION_RE.match(version) or (self.versions_dir / version).exists():
                version = new_version_id()
            severities = Counter(issue.severity for issue in result.issues)
            manifest = {
                "schema_version": SCHEMA_VERSION,
                "version": version,
                "kg_version": _kg_version(),
                "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                "sources": dict(sorted(result.sources.items())),
                "inputs": [str(Path(p).absolute()) for p in (inputs or [])],
                "settings": settings_fingerprint(settings),
                "complete": result.complete,
                "counts": {
                    "concepts": len(result.concepts),
                    "collections": len(result.collections),
                    "issues": {s: severities.get(s, 0) for s in ("error", "warning", "info")},
                },
                "extra": dict(extra or {}),
            }
            _write_file(staging / "concepts.json", _dump([c.to_dict() for c in result.concepts]))
            _write_file(staging / "collections.json", _dump([_collection_to_dict(c) for c in result.collections]))
            _write_file(staging / "issues.json", _dump([i.to_dict() for i in result.issues]))
            manifest["files"] = _file_digests(staging)  # every file of the version, checked at load
            # The manifest last: a directory with a manifest has everything else.
            _write_file(staging / "manifest.json", _dump(manifest, indent=2))
            _fsync_dir(staging)
            os.rename(staging, self.versions_dir / version)
            _fsync_dir(self.versions_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._set_current(version)
        self.collect_garbage()
        return version

    def _set_current(self, version: str) -> None:
        tmp = self.root / f".CURRENT-{secrets.token_hex(4)}"
        _write_file(tmp, (version + "\n").encode("ascii"))
        os.replace(tmp, self.root / "CURRENT")  # atomic: readers see the old or the new id, never neither
        _fsync_dir(self.root)

    def collect_garbage(self) -> None:
        """Delete builds left by killed ingests and versions beyond the newest ``keep``.

        The current version is never deleted. Call with the lock held (``write`` does):
        another writer's build in progress would look like a leftover.
        """
        current = self.current_version()
        if self.versions_dir.is_dir():
            for path in self.versions_dir.iterdir():
                if path.name.startswith(_TMP_PREFIX):
                    shutil.rmtree(path, ignore_errors=True)
        for path in self.root.glob(".CURRENT-*"):
            path.unlink(missing_ok=True)
        for version in self.versions()[: -self.keep]:
            if version != current:
                shutil.rmtree(self.versions_dir / version, ignore_errors=True)


def _collection_to_dict(collection: Collection) -> dict[str, Any]:
    source = collection.source
    return {"id": collection.id, "label": collection.label,
            "source": {"file": source.file, "line": source.line, "url": source.url} if source else None,
            "uri": collection.uri}


def _collection_from_dict(data: dict[str, Any]) -> Collection:
    source = data.get("source")
    return Collection(data["id"], data["label"], Source(**source) if source else None, data.get("uri"))


@dataclass
class UpdateOutcome:
    """What ``update_store`` did."""

    version: str | None  # the version now current
    changed: bool  # False when the sources were unchanged (or nothing could be ingested)
    result: IngestResult | None = None  # None when unchanged
    issues: list[Issue] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 success or unchanged, 1 partial (some input lost), 2 nothing could be ingested."""
        if self.result is None:
            return 0
        if not self.result.concepts:
            return 2
        return 1 if any(issue.severity == "error" for issue in self.issues) else 0


def _build_layers(staging: Path, result: IngestResult, settings: Settings, extra: dict | None,
                  progress: Progress | None, stage: Callable[[str], Any] | None = None) -> dict:
    """Save what later layers need beside the concepts: the prerequisite DAG (inferred once
    here, so that no server start pays for it) and the dense index. Returns the manifest's
    ``extra`` with their entries."""
    # heavy: kg.prereqs.model and .saved load kg.prereqs.features and .cues (~11 ms at `kg` start-up)
    from kg.prereqs.model import model_path
    from kg.prereqs.saved import save_dag

    stage = stage or (lambda name: contextlib.nullcontext())
    # a cycle: kg.glossary imports this module
    from kg.glossary import Glossary

    with stage("prerequisites"):
        glossary = Glossary.from_ingest(result, settings)
        extra = {**(extra or {}), "prerequisites": save_dag(staging, glossary.prerequisites, model_path(settings))}
    with stage("lexical"):
        # heavy: kg.search.lexical loads scipy (~70 ms), kept out of the `kg` CLI start-up
        from kg.search.lexical import LabelMatcher, LexicalIndex

        concepts = list(glossary.concepts.values())
        save_lexical(staging, LabelMatcher(concepts), LexicalIndex(concepts))
    if settings.semantic_index:
        with stage("embed"):
            extra["index"] = build_into(staging, result, settings, progress, glossary=glossary)
    return extra


def write_result(result: IngestResult, settings: Settings, *, extra: dict | None = None,
                 inputs: list[Path | str] | None = None, version: str | None = None,
                 progress: Progress | None = None) -> str:
    """Write concepts read from elsewhere (not from files: a SPARQL store) as the new current
    version of ``settings.store``, with its dense index when ``settings.semantic_index``.

    Args:
        result: the concepts, collections and issues, with ``sources`` as the manifest records them.
        settings: the store, and what the index is built with (through the embedding cache).
        extra: manifest entries of later layers.
        inputs: recorded in the manifest.
        version: the id to use (kept when free and well formed; see ``Store._commit``).
        progress: as for ``update_store``.

    Returns:
        The id of the version now current.
    """
    store = Store(settings.store)
    with store.locked():
        store.collect_garbage()
        staging = store._staging()
        if result.concepts:
            try:
                extra = _build_layers(staging, result, settings, extra, progress)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return store._commit(staging, result, settings, extra, inputs, version)


def update_store(paths: list[Path | str], settings: Settings, progress: Progress | None = None,
                 force: bool = False, extra: dict | None = None,
                 stage: Callable[[str], contextlib.AbstractContextManager] | None = None) -> UpdateOutcome:
    """Ingest ``paths`` into ``settings.store`` unless their contents are already current.

    Sources are hashed before anything is parsed: when every file name and hash,
    the settings fingerprint and the schema equal the current manifest's (and that
    ingest was complete), nothing is done. Otherwise a new version is written, even
    a partial one (the good files are served); when no concept at all could be read
    the previous version stays current.

    Args:
        paths: Markdown/SKOS files or folders, as for ``ingest_paths``.
        settings: ``settings.store`` is the store; limits are used by ingest.
        progress: called as ``progress(done, total, file_name)`` per file parsed.
        force: ingest even when nothing changed.
        extra: manifest entries of later layers (see ``Store.write``).
        stage: wraps each stage (``parse``, ``prerequisites``, ``embed``, ``write``) as
            ``with stage(name):``; the scale benchmark times and weighs them with it.

    Returns:
        An ``UpdateOutcome``; its ``exit_code`` is what the CLI exits with.
    """
    # a cycle: ingest.pipeline imports kg, whose kg.glossary imports this module
    from ingest.pipeline import ingest_paths
    from ingest.reader import discover, file_digest

    stage = stage or (lambda name: contextlib.nullcontext())

    store = Store(settings.store)
    with store.locked():
        store.collect_garbage()  # builds left by a killed ingest
        current = store.current_version()
        if current is not None and not force:
            files, missing = discover([Path(p) for p in paths])
            try:
                sources = {item.name: file_digest(item.path) for item in files}
            except OSError:
                sources = None  # unreadable now: let ingest report it
            try:
                manifest = store.manifest(current)
            except StoreError:
                manifest = {}
            if (sources and not missing and manifest.get("schema_version") == SCHEMA_VERSION
                    and manifest.get("complete") and manifest.get("sources") == sources
                    and manifest.get("settings") == settings_fingerprint(settings)
                    and (extra is None or manifest.get("extra") == extra)):
                return UpdateOutcome(current, changed=False)
        # Staged before parsing so that a build in progress is visible (and cleaned if killed).
        staging = store._staging()
        try:
            with stage("parse"):
                result = ingest_paths(paths, settings, progress)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if result.concepts:
            try:
                extra = _build_layers(staging, result, settings, extra, progress, stage)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        if not result.concepts:
            shutil.rmtree(staging, ignore_errors=True)
            kept = f"version {current} stays current" if current else "the store stays empty"
            issues = [*result.issues, Issue("nothing_ingested", f"no concept could be read from the input; {kept}",
                                            severity="error")]
            return UpdateOutcome(current, changed=False, result=result, issues=issues)
        with stage("write"):
            version = store._commit(staging, result, settings, extra, list(paths))
        return UpdateOutcome(version, changed=True, result=result, issues=list(result.issues))
