"""The glossary as a thesaurus hierarchy: the author's ``broader`` (Markdown front matter,
imported SKOS) and the inferred is-a relations (``kg.prereqs.relations``: "c is a kind of p"
makes p broader than c), without cycles.

Used by the SKOS export (``skos:broader`` / ``skos:narrower``), the concept views and the
hierarchy and index pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    from kg.glossary import Glossary


@dataclass
class Hierarchy:
    """child -> parents, both the author's and the inferred ones (``inferred``: those added)."""

    graph: nx.DiGraph  # child -> parent
    inferred: dict[str, list[str]] = field(default_factory=dict)
    authored: nx.DiGraph = field(default_factory=nx.DiGraph)
    _above: dict[tuple[bool, str], frozenset[str]] = field(default_factory=dict, repr=False)

    def broader(self, concept: str) -> list[str]:
        return sorted(self.graph.successors(concept)) if concept in self.graph else []

    def narrower(self, concept: str) -> list[str]:
        return sorted(self.graph.predecessors(concept)) if concept in self.graph else []

    def top(self, concepts) -> list[str]:
        """The concepts with no broader one that have narrower ones (a hierarchy's tops), sorted."""
        return sorted(c for c in concepts if c in self.graph and not self.graph.out_degree(c)
                      and self.graph.in_degree(c))

    def _ancestors(self, node: str, graph: nx.DiGraph) -> frozenset[str]:
        key = (graph is self.authored, node)
        found = self._above.get(key)
        if found is None:
            found = self._above[key] = frozenset(nx.descendants(graph, node)) if node in graph else frozenset()
        return found

    def along_inferred(self, a: str, b: str) -> bool:
        """Whether one of ``a``, ``b`` is above the other by an inferred step (the author's own
        related links along the author's own hierarchy stay as written)."""
        if not self.inferred or not (b in self._ancestors(a, self.graph) or a in self._ancestors(b, self.graph)):
            return False
        return not (b in self._ancestors(a, self.authored) or a in self._ancestors(b, self.authored))


def hierarchy_of(glossary: Glossary) -> Hierarchy:
    """The author's hierarchy, then the inferred is-a edges strongest first where they close no
    cycle and the author has not placed the pair. A vocabulary imported from SKOS keeps its own
    hierarchy: only the glossary's own terms get one inferred."""
    concepts = glossary.concepts
    graph = nx.DiGraph()  # child -> parent
    for concept in concepts.values():
        graph.add_edges_from((concept.id, parent) for parent in concept.broader
                             if parent in concepts and parent != concept.id)
    authored = nx.DiGraph(graph)
    inferred: dict[str, list[str]] = {}
    edges = sorted(((-data["confidence"], child, parent) for parent, child, data in
                    glossary.prerequisites.edges(data=True) if data.get("relation") == "is-a"
                    and not concepts[child].schemes and not concepts[parent].schemes))
    for _strength, child, parent in edges:
        if graph.has_edge(child, parent):
            continue
        if parent in graph and child in graph and nx.has_path(graph, parent, child):
            continue
        graph.add_edge(child, parent)
        inferred.setdefault(child, []).append(parent)
    return Hierarchy(graph, inferred, authored)


# The rows of the kana table (あ行 … わ行), each with the kana that open it (voiced ones too).
KANA_ROWS = (
    ("あ", "ぁあぃいぅうゔぇえぉお"), ("か", "かがきぎくぐけげこご"), ("さ", "さざしじすずせぜそぞ"),
    ("た", "ただちぢっつづてでとど"), ("な", "なにぬねの"), ("は", "はばぱひびぴふぶぷへべぺほぼぽ"),
    ("ま", "まみむめも"), ("や", "ゃやゅゆょよ"), ("ら", "らりるれろ"), ("わ", "ゎわゐゑをん"),
)
_ROW_OF = {kana: row for row, members in KANA_ROWS for kana in members}


@dataclass
class IndexEntry:
    label: str
    concept: str
    lang: str
    key: str  # what it sorts by: the label case-folded, or its reading in hiragana


def alphabetical_index(glossary: Glossary) -> list[tuple[str, list[IndexEntry]]]:
    """Every preferred label under its letter (A–Z, then "#" for digits and the rest) and every
    Japanese one under its kana row (あ–わ), a kanji label by its reading (SudachiPy)."""
    from kg.labels import normalize
    from kg.prereqs.morphology import reading

    groups: dict[str, list[IndexEntry]] = {}
    for concept in glossary.concepts.values():
        for lang, text in concept.pref_labels().items():
            if lang == "ja":
                key = reading(normalize(text))
                group = _ROW_OF.get(key[:1], "#")
            else:
                key = normalize(text)
                first = key[:1].upper()
                group = first if "A" <= first <= "Z" else "#"
            groups.setdefault(group, []).append(IndexEntry(text, concept.id, lang, key))
    order = [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [row for row, _ in KANA_ROWS] + ["#"]
    return [(group, sorted(groups[group], key=lambda e: (e.key, e.label, e.concept)))
            for group in order if group in groups]
