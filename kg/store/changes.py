"""What changed between two versions of a glossary: the change feed.

Concepts added and removed, relabelled (labels added or removed), redefined
(definition text changed), and links and prerequisite edges added or removed, keyed
by concept id (ids are stable across re-ingests of unchanged terms). ``kg diff`` and
``GET /changes?since=`` answer with it, as JSON or as a summary for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kg.errors import NotFoundError, StoreError
from kg.glossary import Glossary
from kg.store.versions import Store


@dataclass
class Changes:
    old_version: str | None
    new_version: str | None
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    relabelled: list[dict[str, Any]] = field(default_factory=list)
    redefined: list[dict[str, str]] = field(default_factory=list)
    links_added: list[dict[str, str]] = field(default_factory=list)
    links_removed: list[dict[str, str]] = field(default_factory=list)
    prerequisites_added: list[dict[str, str]] = field(default_factory=list)
    prerequisites_removed: list[dict[str, str]] = field(default_factory=list)

    KINDS = ("added", "removed", "relabelled", "redefined", "links_added", "links_removed",
             "prerequisites_added", "prerequisites_removed")

    @property
    def empty(self) -> bool:
        return not any(getattr(self, kind) for kind in self.KINDS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.old_version,
            "to": self.new_version,
            "counts": {kind: len(getattr(self, kind)) for kind in self.KINDS},
            **{kind: getattr(self, kind) for kind in self.KINDS},
        }

    def to_text(self) -> str:
        lines = [f"{self.old_version or '(none)'} -> {self.new_version or '(none)'}"]
        if self.empty:
            return lines[0] + ": no change"
        for kind in self.KINDS:
            items = getattr(self, kind)
            if not items:
                continue
            lines.append(f"{kind.replace('_', ' ')} ({len(items)}):")
            for item in items[:20]:
                lines.append("  " + _line(kind, item))
            if len(items) > 20:
                lines.append(f"  … and {len(items) - 20} more")
        return "\n".join(lines)


def _line(kind: str, item: dict[str, Any]) -> str:
    if kind == "relabelled":
        parts = [f"+{t}" for t in item["labels_added"]] + [f"-{t}" for t in item["labels_removed"]]
        return f"{item['name']} [{item['id']}]: {', '.join(parts)}"
    if "source" in item:
        return f"{item['source_name']} -> {item['target_name']}"
    return f"{item['name']} [{item['id']}]"


def diff(old: Glossary, new: Glossary) -> Changes:
    """The changes from ``old`` to ``new``."""
    changes = Changes(old.version, new.version)
    before, after = old.concepts, new.concepts

    def ref(glossary: Glossary, cid: str) -> dict[str, str]:
        return {"id": cid, "name": glossary.concepts[cid].name}

    changes.added = [ref(new, c) for c in sorted(after.keys() - before.keys())]
    changes.removed = [ref(old, c) for c in sorted(before.keys() - after.keys())]
    for cid in sorted(before.keys() & after.keys()):
        a, b = before[cid], after[cid]
        labels_a = {(l.text, l.lang) for l in a.labels}
        labels_b = {(l.text, l.lang) for l in b.labels}
        if labels_a != labels_b:
            changes.relabelled.append({
                **ref(new, cid),
                "labels_added": sorted(t for t, _ in labels_b - labels_a),
                "labels_removed": sorted(t for t, _ in labels_a - labels_b),
            })
        if a.definition_text != b.definition_text:
            changes.redefined.append(ref(new, cid))
    for graph_of, added, removed in ((lambda g: g.graph, "links_added", "links_removed"),
                                     (lambda g: g.prerequisites, "prerequisites_added", "prerequisites_removed")):
        edges_a, edges_b = set(graph_of(old).edges), set(graph_of(new).edges)
        setattr(changes, added, [_edge(new, u, v) for u, v in sorted(edges_b - edges_a)])
        setattr(changes, removed, [_edge(old, u, v) for u, v in sorted(edges_a - edges_b)])
    return changes


def _edge(glossary: Glossary, source: str, target: str) -> dict[str, str]:
    return {"source": source, "source_name": glossary.concepts[source].name,
            "target": target, "target_name": glossary.concepts[target].name}


def store_changes(settings, old: str | None = None, new: str | None = None) -> Changes:
    """The changes between two versions of the store named by ``settings.store``.

    Args:
        settings: the settings (``store``).
        old: a version id; default: the one before ``new``.
        new: a version id; default: the current one.

    Raises:
        NotFoundError: a version the store does not keep (it keeps the newest few); the
            error lists the versions it has.
        StoreError: the store is empty.
    """

    store = Store(settings.store)
    kept = store.versions()
    new = new or store.current_version()
    if new is None:
        raise StoreError(f"the store {store.root} is empty: run `kg ingest PATH` first", store=str(store.root))
    for name, version in (("new", new), ("old", old)):
        if version is not None and version not in kept:
            raise NotFoundError(f"{name}: the store keeps no version {version!r}", parameter="since" if
                                name == "old" else name, version=version, versions=kept)
    if old is None:
        earlier = [v for v in kept if v < new]
        if not earlier:
            return diff_from_nothing(store.load(settings, new))
        old = earlier[-1]
    return diff(store.load(settings, old), store.load(settings, new))


def diff_from_nothing(glossary: Glossary) -> Changes:
    """Everything of the first version, as added."""

    return diff(Glossary([], settings=glossary.settings), glossary)
