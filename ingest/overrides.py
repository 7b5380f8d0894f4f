"""The author's prerequisite corrections: ``kg-prerequisites.yaml`` beside the glossary.

The file maps a concept (a label or an id) to the prerequisites the author confirms
and the ones the author rejects::

    # Prerequisite corrections, applied on every ingest.
    Optimizer:
      confirm: [Gradient Descent]
      reject: [Large Language Model]

Ingest finds it like any input file (``ingest.reader.OVERRIDES_NAME``), hashes it with
the sources (editing it re-ingests) and applies it once every concept is built, from
Markdown and SKOS alike: the author's word wins over the glossary's text and over
inference. ``kg prereqs TERM --confirm B / --reject B`` writes it (``write_override``).
"""

from __future__ import annotations

import os
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kg.errors import ParseError
from kg.labels import normalize
from kg.model import Concept, Issue

from .reader import OVERRIDES_NAME

HEADER = (
    "# Prerequisite corrections, applied on every ingest. "
    "Written by `kg prereqs TERM --confirm B / --reject B`.\n"
    "# TERM:\n#   confirm: [B, ...]   B is a prerequisite of TERM, whatever the text says\n"
    "#   reject: [C, ...]    C is not, even when inferred\n"
)
_ACTIONS = ("confirm", "reject")
_WIKILINK = re.compile(r"^\[\[([^\[\]|#]*)(?:#[^\[\]|]*)?(?:\|[^\[\]]*)?\]\]$")


@dataclass
class OverrideEntry:
    """One concept's corrections as written: names with the 1-based line of each."""

    term: str
    line: int
    confirm: list[tuple[str, int]] = field(default_factory=list)
    reject: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Overrides:
    """A parsed overrides file; ``issues`` are what could not be read (never fatal)."""

    file: str  # as named in messages (relative to the ingest root)
    entries: list[OverrideEntry] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def clean_name(text: str) -> str:
    """A concept name as written in the file, without ``[[…]]`` around it.

    >>> clean_name(" [[Gradient Descent|GD]] ")
    'Gradient Descent'
    >>> clean_name("Adam")
    'Adam'
    """
    text = text.strip()
    match = _WIKILINK.match(text)
    return match.group(1).strip() if match else text


def load_overrides(path: Path | str, text: str | None = None, name: str | None = None) -> Overrides:
    """Read an overrides file.

    Args:
        path: the file; read only when ``text`` is not given.
        text: its text, when the caller has read it already (ingest does, with its limits).
        name: how to name the file in issues (default: ``path`` as given).

    Returns:
        The entries in file order, and a warning per part that cannot be used
        (invalid YAML names its line; the rest of the ingest goes on).
    """
    name = name or str(path)
    if text is None:
        text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    overrides = Overrides(name)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or error
        overrides.issues.append(
            _issue(name, mark.line + 1 if mark else None,
                   f"not valid YAML ({problem}); no prerequisite correction was applied")
        )
        return overrides
    if root is None:
        return overrides  # an empty file (or only comments)
    if not isinstance(root, yaml.MappingNode):
        overrides.issues.append(_issue(name, _line(root), "expected `TERM:` entries with `confirm:` / `reject:` lists"))
        return overrides
    for key, value in root.value:
        term = clean_name(str(key.value)) if isinstance(key, yaml.ScalarNode) else ""
        if not term:
            overrides.issues.append(_issue(name, _line(key), "an entry's key must be a concept label or id"))
            continue
        entry = OverrideEntry(term, _line(key))
        if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null":
            pass  # `TERM:` with nothing under it
        elif not isinstance(value, yaml.MappingNode):
            overrides.issues.append(
                _issue(name, _line(value), f"{term!r}: expected `confirm:` and/or `reject:` under it")
            )
            continue
        else:
            for action_node, items in value.value:
                action = str(action_node.value).strip().lower() if isinstance(action_node, yaml.ScalarNode) else ""
                if action not in _ACTIONS:
                    overrides.issues.append(
                        _issue(name, _line(action_node), f"{term!r}: unknown key {action or action_node.tag!r} "
                               "(expected confirm or reject)")
                    )
                    continue
                getattr(entry, action).extend(_names(items))
        overrides.entries.append(entry)
    return overrides


def _names(node: yaml.Node) -> list[tuple[str, int]]:
    """Names of a ``confirm``/``reject`` value: a list, or one comma-separated string.

    ``[[A]]`` unquoted in YAML is a list inside a list: it is read as the name A.
    """
    if isinstance(node, yaml.ScalarNode):
        return [(clean_name(part), _line(node)) for part in str(node.value).split(",") if clean_name(part)]
    if isinstance(node, yaml.SequenceNode):
        return [name for item in node.value for name in _names(item)]
    return []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _issue(file: str, line: int | None, message: str, concepts: tuple[str, ...] = (),
           kind: str = "bad_overrides", severity: str = "warning") -> Issue:
    return Issue(kind, message, file, line, concepts, severity=severity)


def apply_overrides(concepts: Iterable[Concept], overrides: Overrides) -> list[Issue]:
    """Apply ``overrides`` to ``concepts`` in place.

    Confirmed names are added to ``prerequisites`` (and taken out of
    ``rejected_prerequisites``), rejected ones the other way round; a later entry
    wins over an earlier one. Names are ids or labels (any case and width).

    Returns:
        A ``broken_prerequisite`` warning, with the overrides file and line, for each
        name that is no concept or names several; an info issue per self-reference.
    """
    concepts = list(concepts)
    by_id = {c.id: c for c in concepts}
    by_label: dict[str, list[str]] = defaultdict(list)
    for concept in concepts:
        for label in (*concept.labels, *concept.hidden_labels):
            ids = by_label[normalize(label.text)]
            if concept.id not in ids:
                ids.append(concept.id)
    issues: list[Issue] = []

    def resolve(text: str, line: int, owner: str | None) -> str | None:
        if text in by_id:
            return text
        ids = by_label.get(normalize(text), [])
        if len(ids) == 1:
            return ids[0]
        owner_text = f" (for {by_id[owner].name!r})" if owner else ""
        if ids:
            message = f"{text!r}{owner_text} names several concepts ({', '.join(ids)}); write the id instead"
        else:
            message = f"{text!r}{owner_text} is no concept of the glossary"
        issues.append(_issue(overrides.file, line, message, (owner,) if owner else tuple(ids), "broken_prerequisite"))
        return None

    for entry in overrides.entries:
        concept_id = resolve(entry.term, entry.line, None)
        if concept_id is None:
            continue
        concept = by_id[concept_id]
        for action, names in (("confirm", entry.confirm), ("reject", entry.reject)):
            add, drop = (
                (concept.prerequisites, concept.rejected_prerequisites)
                if action == "confirm"
                else (concept.rejected_prerequisites, concept.prerequisites)
            )
            for text, line in names:
                target = resolve(text, line, concept_id)
                if target is None:
                    continue
                if target == concept_id:
                    issues.append(_issue(overrides.file, line, f"{concept.name!r} cannot be its own prerequisite; "
                                         "ignored", (concept_id,), "self_prerequisite", "info"))
                    continue
                if target in drop:
                    drop.remove(target)
                if target not in add:
                    add.append(target)
    return issues


def write_override(
    folder: Path | str,
    concept_label: str,
    confirm: Iterable[str] = (),
    reject: Iterable[str] = (),
    key: Callable[[str], str] | None = None,
) -> Path:
    """Record corrections for one concept in ``folder/kg-prerequisites.yaml``.

    Existing entries and the comments at the top of the file are kept, entries stay
    in their order (a new one goes last) and so do the names in each list. A name
    confirmed now leaves the concept's ``reject`` list and the other way round.

    Args:
        folder: the glossary's source folder.
        concept_label: the concept, as it is to be written (a label or an id).
        confirm: names of prerequisites to confirm.
        reject: names of prerequisites to reject.
        key: maps a name to what identifies its concept (e.g. its id), so that an
            entry written with another label of the same concept is found; by
            default names are compared after case and width normalisation.

    Returns:
        The file written.

    Raises:
        ParseError: the existing file is not valid YAML (it is left as it is).
    """
    key = key or normalize
    path = Path(folder) / OVERRIDES_NAME
    text = path.read_text(encoding="utf-8-sig") if path.exists() else ""
    header = _header(text) if text else HEADER
    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ParseError(f"not valid YAML ({getattr(error, 'problem', None) or error}); fix it before adding to it",
                         file=str(path), line=mark.line + 1 if mark else None) from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParseError("expected `TERM:` entries with `confirm:` / `reject:` lists", file=str(path), line=1)
    wanted = key(concept_label)
    term = next((k for k in data if key(clean_name(str(k))) == wanted), concept_label)
    entry = data.get(term)
    entry = dict(entry) if isinstance(entry, dict) else {}
    lists = {action: _as_list(entry.get(action)) for action in _ACTIONS}
    for action, names in (("confirm", confirm), ("reject", reject)):
        other = lists["reject" if action == "confirm" else "confirm"]
        for name in names:
            other[:] = [n for n in other if key(n) != key(name)]
            if not any(key(n) == key(name) for n in lists[action]):
                lists[action].append(name)
    for action in _ACTIONS:
        if lists[action]:
            entry[action] = lists[action]
        else:
            entry.pop(action, None)
    if entry:
        data[term] = entry
    else:
        data.pop(term, None)
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100) if data else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside it and renamed: an ingest never reads half a file.
    tmp = path.with_name(f".{OVERRIDES_NAME}.{secrets.token_hex(4)}")
    tmp.write_text(header + body, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _header(text: str) -> str:
    """The comment lines (and blank lines) at the top of ``text``."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line)
    header = "".join(lines)
    return header if not header or header.endswith("\n") else header + "\n"


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [clean_name(part) for part in value.split(",") if clean_name(part)]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(_as_list(item))  # [[A]] read by YAML as a list in a list
        return out
    return [str(value)]
