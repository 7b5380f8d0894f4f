"""The author's corrections of inferred prerequisites: ``confirm`` and ``reject`` written to the
glossary's ``kg-prerequisites.yaml`` (``ingest.overrides``), then the store re-ingested so that
they take effect. Used by ``kg prereqs TERM --confirm/--reject``; callable from Python as well."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.overrides import clean_name, write_override
from ingest.reader import OVERRIDES_NAME
from kg.errors import BadParameterError
from kg.glossary import Glossary
from kg.labels import normalize
from kg.model import Concept, Issue
from kg.settings import Settings
from kg.store.versions import Store, UpdateOutcome, update_store


@dataclass
class Correction:
    """What ``correct_prerequisites`` wrote and what the re-ingest made of it."""

    file: Path
    concept: Concept
    confirmed: list[Concept]
    rejected: list[Concept]
    inputs: list[Path]  # what was re-ingested
    outcome: UpdateOutcome
    issues: list[Issue]  # what the file itself caused, and any input lost
    now: Concept | None  # the concept in the new current version


def source_folder(inputs: Sequence[Path]) -> Path | None:
    """Where the glossary's sources are: the first input folder, else the first input file's folder."""
    folder = next((p for p in inputs if p.is_dir()), None)
    if folder is None:
        folder = next((p.parent for p in inputs if p.is_file()), None)
    return folder


def _covered(path: Path, inputs: Sequence[Path]) -> bool:
    """Whether ingesting ``inputs`` reads ``path``."""
    path = path.resolve()
    return any(path == p.resolve() or (p.is_dir() and path.is_relative_to(p.resolve())) for p in inputs)


def write_corrections(glossary: Glossary, settings: Settings, corrections: dict[str, tuple[list[str], list[str]]],
                      source: Path | None = None, progress: Callable[[int, int, str], None] | None = None
                      ) -> tuple[Path, list[Path], UpdateOutcome]:
    """Write ``corrections`` (concept id -> the ids it confirms, the ids it rejects) to the
    glossary's ``kg-prerequisites.yaml`` and re-ingest the store's inputs once. Returns the
    file, what was re-ingested and the outcome.

    Raises:
        BadParameterError: no source folder to write to (pass ``source``).
    """

    def written(cid: str) -> str:
        """The name the file uses: the display name when it names only this concept, else the id."""
        concept = glossary.concepts[cid]
        return concept.name if [c.id for c in glossary.candidates(concept.name)] == [cid] else cid

    def key(name: str) -> str:
        found = glossary.candidates(clean_name(name))
        return found[0].id if len(found) == 1 else normalize(name)

    inputs = [Path(p) for p in glossary.manifest.get("inputs", [])]
    folder = source or source_folder(inputs)
    if folder is None:
        raise BadParameterError("cannot tell the glossary's source folder (the store records no input that still "
                                "exists); pass --source DIR", parameter="source")
    path = Path(folder) / OVERRIDES_NAME
    for cid, (confirm, reject) in corrections.items():
        path = write_override(folder, written(cid), [written(c) for c in confirm], [written(c) for c in reject],
                              key=key)
    paths = list(inputs) or [folder]
    if not _covered(path, paths):  # a source outside the inputs: read the file too
        paths.append(path)
    return path, paths, update_store(paths, settings, progress=progress)


def correct_prerequisites(glossary: Glossary, settings: Settings, term: str, confirm: Sequence[str] = (),
                          reject: Sequence[str] = (), source: Path | None = None,
                          progress: Callable[[int, int, str], None] | None = None) -> Correction:
    """Confirm or reject prerequisites of ``term`` (ids or labels, like every name here), then
    re-ingest the store's inputs so that the correction is served.

    Raises:
        NotFoundError: a name that is no concept (with suggestions).
        BadParameterError: a concept given as its own prerequisite, one both confirmed and
            rejected, or no source folder to write to (pass ``source``).
    """

    concept = glossary.get(term)
    confirmed, rejected = [glossary.get(name) for name in confirm], [glossary.get(name) for name in reject]
    if concept.id in {c.id for c in (*confirmed, *rejected)}:
        raise BadParameterError(f"{concept.name} cannot be a prerequisite of itself", parameter="confirm")
    if both := {c.id for c in confirmed} & {c.id for c in rejected}:
        raise BadParameterError(f"both confirmed and rejected: {', '.join(sorted(both))}", parameter="reject")
    path, paths, outcome = write_corrections(
        glossary, settings, {concept.id: ([c.id for c in confirmed], [c.id for c in rejected])}, source, progress)
    issues = [i for i in outcome.issues
              if i.severity == "error" or (i.file and Path(i.file).name == OVERRIDES_NAME and i.severity != "info")]
    now = Store(settings.store).load(settings).concepts.get(concept.id) if outcome.version else None
    return Correction(path, concept, confirmed, rejected, paths, outcome, issues, now)
