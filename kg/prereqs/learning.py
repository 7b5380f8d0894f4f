"""Prerequisites: which term to learn before which, and ranked learning paths.

The DAG. Every candidate pair (``kg.prereqs.features``: a definition uses the
other term, a label contains the other's, or a SKOS hierarchy relates them) is
scored in both directions by the fitted model (``kg.prereqs.model``); the likelier
direction becomes an edge when the two directions together (an edge either way)
reach ``EDGE_THRESHOLD``; its confidence is its own probability. Then
the author's word wins (``curated``): prerequisites stated in the glossary
(``前提:`` bullets, ``prerequisites:`` front matter, ``kgv:prerequisite`` in SKOS,
the overrides file of ``kg prereqs --confirm``) are added with confidence 1, and
rejected ones are removed. Cycles are broken at their weakest inferred edge. A SKOS
export of this product carries its inferred edges (``kgv:inferredPrerequisite``):
importing it takes that DAG as it was instead of inferring anew.

Every inferred edge is named by the relation its text states (``kg.prereqs.relations``: is-a,
part, derived-from, built-on, addresses, uses, named-after); a pair whose text only shows an
application, a sibling or the reverse kind makes no edge.

The learning path of a concept lists what must come first, not everything upstream: its
direct prerequisites, of any relation; past them, only chains whose every edge is
``chainable`` (``CHAIN_RELATIONS``: is-a, part, derived-from, built-on and the author's, at
least ``CHAIN_STRONG`` confident; plain mentions at least ``CHAIN_STRONG_USES``). A chain's
strength is the product of the edge confidences along it, times ``HOP_DECAY`` per step
beyond the first, and each ancestor is scored by its chains taken together (noisy-OR: the
chance that at least one of them holds, were they independent), so a basic term that
several chains lead to outranks one a single chain reaches. Every item must reach
``min_confidence``, direct prerequisites are never cut by ``limit``, the others fill it
strongest first, and the result is listed basics first. The field names a large share of
the glossary builds on (``background_terms``) are listed apart
as ``background`` unless the concept names them directly, and a reader who knows a term
knows what it needs. A single wrong edge therefore brings in at most the few ancestors it
scores highly, and a weak edge, or one that is no is-a, part, derived-from, built-on or
strong mention, brings in nothing behind it.
"""

from __future__ import annotations

import heapq
import itertools
import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from kg.errors import BadParameterError
from kg.prereqs.dag_index import AncestorIndex, ancestor_index
from kg.prereqs.relations import CHAIN_RELATIONS
from kg.text import plain_text

if TYPE_CHECKING:
    from kg.glossary import Glossary
    from kg.prereqs.features import Candidates
    from kg.prereqs.model import PrerequisiteModel

#: An inferred edge needs the two directions' probabilities to add up to this; the likelier wins.
EDGE_THRESHOLD = 0.5
#: Learning paths: every item needs a chain at least this strong (more likely right than wrong).
PATH_MIN_CONFIDENCE = 0.5
#: Learning paths: at most this many items (direct prerequisites are never cut by it).
PATH_LIMIT = 12
MAX_PATH_LIMIT = 200

#: Learning paths: a chain's strength is multiplied by this for each step beyond the first
#: (chosen leave-one-file-out among 1.0, 0.9, 0.8, 0.7, 0.6: 0.8 gave the most correct pairs, the
#: same precision, and half the path length of 1.0).
HOP_DECAY = 0.8
#: Learning paths: chains weaker than this are not counted in an ancestor's score (a hub has
#: thousands of faint ones; leave-one-file-out scored the same with 0.2 as with every chain).
CHAIN_FLOOR = 0.2

#: Learning paths: beyond a direct prerequisite, a chain follows only edges of the relations
#: ``kg.prereqs.relations.CHAIN_RELATIONS`` at least this confident. On the design half of the
#: judged paths every value from 0.5 to 0.8 listed the same items (0.9 dropped genuine ones);
#: 0.8 keeps a chain's items about as likely as a direct prerequisite.
CHAIN_STRONG = 0.8
#: Learning paths: a plain mention (``uses``) carries a chain only this confident. On the design
#: half of the judged paths, 0.9 listed 46.6% of the genuine and missing linked items against
#: 40.9% with no ``uses`` edge followed, and the same wrong ones; 0.85 listed wrong ones too.
CHAIN_STRONG_USES = 0.9
#: Learning paths: a term that this share of the glossary's concepts build on (through the
#: edges a path follows) is background, listed apart unless the concept names it directly.
#: Chosen on the design half of the judged paths among 0.15, 0.2 and 0.3 (0.15 put wrong
#: items there in the small English fixture). Since paths follow only is-a, part, derived-from
#: and built-on chains, the judged glossaries' paths rarely reach a field name at all.
BACKGROUND_SHARE = 0.2
#: Learning paths: a background term is built on by at least this many concepts (in a small
#: glossary every basic term is built on by a large share of it, and none is a field name).
BACKGROUND_MIN_CONCEPTS = 10
#: Learning paths: at most this many background terms.
BACKGROUND_LIMIT = 5

CURATED_REASON = "stated by the author"


# Each DAG's background terms, with its node count when they were found (see ``ancestor_index``).
_BACKGROUND: weakref.WeakKeyDictionary[nx.DiGraph, tuple[int, dict[str, float]]] = weakref.WeakKeyDictionary()
#: Concepts sampled to tell the background terms of a large glossary (every one up to this many).
BACKGROUND_SAMPLE = 1000


# Each DAG's index of the edges a path follows (rebuilt, as ``ancestor_index``, when its node count changes).
_CHAIN_INDEX: weakref.WeakKeyDictionary[nx.DiGraph, AncestorIndex] = weakref.WeakKeyDictionary()


def chain_graph(dag: nx.DiGraph) -> nx.DiGraph:
    """Every node of ``dag`` with only its ``chainable`` edges: what a learning path follows
    beyond the direct prerequisites."""
    chains = nx.DiGraph()
    chains.add_nodes_from(dag)
    chains.add_edges_from((a, b) for a, b, data in dag.edges(data=True) if chainable(data))
    return chains


def chain_index(dag: nx.DiGraph) -> AncestorIndex:
    """The array index (``kg.prereqs.dag_index``) of ``chain_graph``. Kept while the DAG lives."""
    index = _CHAIN_INDEX.get(dag)
    if index is None or index.nodes != len(dag):
        index = _CHAIN_INDEX[dag] = AncestorIndex(chain_graph(dag))
    return index


def background_terms(dag: nx.DiGraph) -> dict[str, float]:
    """The terms a large share of the glossary builds on (the field names: Artificial
    Intelligence, Machine Learning, …), each with that share: the share of concepts whose
    learning path could reach it (a direct prerequisite, or an ancestor through the edges a
    path follows) is at least ``BACKGROUND_SHARE``, and ``BACKGROUND_MIN_CONCEPTS`` concepts
    at least. Counted over every concept, or over an
    evenly spaced ``BACKGROUND_SAMPLE`` of them in a larger glossary; kept while the DAG lives."""
    found = _BACKGROUND.get(dag)
    if found is not None and found[0] == len(dag):
        return found[1]
    index = chain_index(dag)
    nodes = sorted(dag)
    step = max(1, len(nodes) // BACKGROUND_SAMPLE)
    sample = nodes[::step]
    counts = np.zeros(len(index.ids), dtype=np.int64)
    for node in sample:
        mask = index.reached(node)
        for prereq in dag._pred[node]:
            mask[index.position[prereq]] = True
        counts += mask
    share = counts / max(len(sample), 1)
    enough = (share >= BACKGROUND_SHARE) & (share * len(nodes) >= BACKGROUND_MIN_CONCEPTS)
    terms = {index.ids[i]: float(share[i]) for i in np.flatnonzero(enough).tolist()}
    _BACKGROUND[dag] = (len(dag), terms)
    return terms


def chainable(data: dict[str, Any]) -> bool:
    """Whether a learning path may go on past this edge's prerequisite."""
    if data.get("relation") == "uses":
        return data["confidence"] >= CHAIN_STRONG_USES
    return data.get("relation", "") in CHAIN_RELATIONS and (data["confidence"] >= CHAIN_STRONG
                                                            or bool(data.get("curated")))


@dataclass(frozen=True)
class PrerequisiteEdge:
    """``prerequisite`` is to be learnt before ``concept``; ``evidence`` is the sentence of
    the concept's definition that shows it (empty when the evidence is only labels)."""

    prerequisite: str
    concept: str
    confidence: float
    evidence: str
    reasons: tuple[str, ...]
    curated: bool = False
    relation: str = ""  # kg.prereqs.relations: is-a, part, built-on, …; stated (curated), imported
    words: str = ""  # the words of the text that show the relation

    @classmethod
    def of(cls, dag: nx.DiGraph, prerequisite: str, concept: str) -> PrerequisiteEdge:
        data = dag.edges[prerequisite, concept]
        return cls(prerequisite, concept, data["confidence"], data["evidence"], tuple(data["reasons"]),
                   bool(data.get("curated")), data.get("relation", ""), data.get("words", ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "prerequisite": self.prerequisite,
            "concept": self.concept,
            "confidence": round(self.confidence, 3),
            "relation": self.relation,
            "words": self.words,
            "evidence": self.evidence,
            "reasons": list(self.reasons),
            "curated": self.curated,
        }


def prerequisite_graph(glossary: Glossary, model: PrerequisiteModel | None = None,
                       threshold: float | None = None, candidates: Candidates | None = None) -> nx.DiGraph:
    """The prerequisite DAG: an edge B -> A when B is to be learnt before A.

    Edge attributes: ``confidence`` (0..1), ``evidence`` (a sentence), ``reasons``,
    ``curated`` (stated by the author rather than inferred).
    """
    if any(concept.inferred_prerequisites for concept in glossary.concepts.values()):
        dag = _as_exported(glossary)  # an export of this product: its DAG as it was
    else:
        dag = infer_prerequisites(glossary, model, threshold, candidates)
    apply_curated(glossary, dag)
    _break_cycles(dag)
    return dag


def _as_exported(glossary: Glossary) -> nx.DiGraph:
    dag = nx.DiGraph()
    dag.add_nodes_from(glossary.concepts)
    for concept in glossary.concepts.values():
        for prerequisite in concept.inferred_prerequisites:
            if prerequisite in glossary.concepts and prerequisite != concept.id:
                dag.add_edge(prerequisite, concept.id, confidence=1.0, evidence="",
                             reasons=("inferred by the exporting glossary",), curated=False, relation="imported",
                             words="")
    return dag


def infer_prerequisites(glossary: Glossary, model: PrerequisiteModel | None = None,
                        threshold: float | None = None, candidates: Candidates | None = None) -> nx.DiGraph:
    """Edges the model infers from the text alone (may hold cycles; see ``prerequisite_graph``).
    ``candidates``: the glossary's features when already extracted (training reuses them).

    With the glossary's own model (no ``model`` given), the author's word is also a lesson:
    when the author has stated or rejected prerequisites (``前提:``, ``kg-prerequisites.yaml``,
    ``kg review``), the model is refitted on them (``kg.prereqs.model.refit``), so that an
    answer also moves the pairs its cues resemble. A model given explicitly (training,
    evaluation) is used as it is."""
    # heavy: kg.prereqs.model and kg.prereqs.features load kg.prereqs.cues (~10 ms at `kg` start-up)
    from kg.prereqs.features import extract
    from kg.prereqs.model import load_model, model_path, refit
    from kg.prereqs.relations import PREREQUISITE_RELATIONS, describe, edge_relation

    threshold = EDGE_THRESHOLD if threshold is None else threshold
    candidates = candidates or extract(glossary)
    if model is None:
        model = load_model(model_path(glossary.settings))
        if stated := stated_rows(glossary, candidates):
            model = refit(model, candidates.matrix, stated)
    probabilities = model.probabilities(candidates.matrix)
    forward, backward = probabilities[0::2], probabilities[1::2]
    # The two directions are exclusive: their sum is the chance of any edge; the likelier wins.
    kept = np.flatnonzero(forward + backward >= threshold)
    rows = 2 * kept + (forward[kept] < backward[kept])
    reasons = model.reasons_of(candidates.matrix[rows])
    dag = nx.DiGraph()
    dag.add_nodes_from(glossary.concepts)
    concepts, uses = glossary.concepts, candidates.uses
    for n, row, said in zip(kept.tolist(), rows.tolist(), reasons, strict=True):
        a, b = candidates.pairs[n]
        prerequisite, concept = (a, b) if row % 2 == 0 else (b, a)
        p, c = concepts[prerequisite], concepts[concept]
        relation, source, words = edge_relation(p, c, candidates.matrix[row], uses.get((concept, prerequisite)),
                                                uses.get((prerequisite, concept)))
        if relation not in PREREQUISITE_RELATIONS:
            continue  # an application, a sibling, the reverse kind: related, never a prerequisite
        dag.add_edge(prerequisite, concept, confidence=float(probabilities[row]),
                     evidence=plain_text(candidates.evidence.get((prerequisite, concept), "")),
                     reasons=(plain_text(describe(relation, source, words, p.name, c.name)), *said), curated=False,
                     relation=relation, words=words)
    return dag


def stated_rows(glossary: Glossary, candidates: Candidates) -> dict[int, int]:
    """Rows of ``candidates.matrix`` the author has settled: 1 for a stated prerequisite
    (and 0 for its reverse), 0 for a rejected one. Only candidate pairs have rows."""
    rows = {pair: n for n, pair in enumerate(candidates.rows())}
    settled: dict[int, int] = {}
    for concept in glossary.concepts.values():
        for prerequisite in concept.prerequisites:
            if (prerequisite, concept.id) in rows:
                settled[rows[(prerequisite, concept.id)]] = 1
                settled[rows[(concept.id, prerequisite)]] = 0
        for rejected in concept.rejected_prerequisites:
            if (rejected, concept.id) in rows:
                settled.setdefault(rows[(rejected, concept.id)], 0)
    return settled


def apply_curated(glossary: Glossary, dag: nx.DiGraph) -> None:
    """The author's word over inference: stated prerequisites added, rejected ones removed."""
    for concept in glossary.concepts.values():
        for rejected in getattr(concept, "rejected_prerequisites", ()):
            if dag.has_edge(rejected, concept.id) and not dag.edges[rejected, concept.id].get("curated"):
                dag.remove_edge(rejected, concept.id)
        for prerequisite in concept.prerequisites:
            if prerequisite not in glossary.concepts or prerequisite == concept.id:
                continue
            if dag.has_edge(concept.id, prerequisite) and not dag.edges[concept.id, prerequisite].get("curated"):
                dag.remove_edge(concept.id, prerequisite)  # the inferred direction was the wrong one
            dag.add_edge(prerequisite, concept.id, confidence=1.0, evidence="", reasons=(CURATED_REASON,),
                         curated=True, relation="stated", words="")


#: Nodes one cycle check may search before its edge is dropped (see ``_break_cycles``). The
#: labelled glossaries' largest tangle has 55 concepts, so there it never binds (a test holds
#: that). At 100,000 synthetic concepts 100 rather than 500 halved cycle breaking (9.8 s
#: against 20.6) and kept 266 more of its 517,000 edges; at 30,000 it kept 137 fewer of
#: 127,000: in a giant tangle which edges stay is an approximation either way.
SEARCH_LIMIT = 100


def _break_cycles(dag: nx.DiGraph) -> None:
    """Drop the weakest edge of every cycle; curated edges go last.

    Edges are kept strongest first, and an edge is dropped when the kept ones already
    lead from its end back to its start: it is then the weakest edge of that cycle.
    Only strongly connected components can hold cycles, and inside each the kept
    edges are held in a topological order maintained as they come (Pearce and Kelly,
    2006), so that most edges are checked in constant time. Finding and breaking one
    cycle at a time over the whole graph took 5.5 minutes at 10,000 synthetic concepts.

    In a giant tangle (a synthetic glossary of 100,000 concepts has one of tens of
    thousands), an edge whose check would search more than ``SEARCH_LIMIT`` nodes is
    dropped as if it closed a cycle: always a weaker edge than every one kept before it,
    and the graph stays acyclic. The labelled glossaries never come near the limit.
    """
    def strength(edge: tuple[str, str]) -> tuple[bool, float, str, str]:
        data = dag.edges[edge]
        return (bool(data.get("curated")), data["confidence"], edge[0], edge[1])

    for component in list(nx.strongly_connected_components(dag)):
        if len(component) < 2:
            continue
        edges = sorted(((a, b) for a in component for b in dag.succ[a] if b in component), key=strength,
                       reverse=True)
        nodes = sorted(component)  # sorted: one order in every process
        number = {node: n for n, node in enumerate(nodes)}
        order = _TopologicalOrder(len(nodes), [(number[a], number[b]) for a, b in edges])
        for a, b in edges:
            if not order.add(number[a], number[b]):
                dag.remove_edge(a, b)


class _TopologicalOrder:
    """A DAG that refuses edges closing a cycle, keeping a topological order as edges come
    (the dynamic algorithm of Pearce and Kelly): an edge that agrees with the order costs
    nothing, one that does not costs a search of the nodes between its two ends.

    Nodes are numbers ``0 .. size - 1`` and the graph lists indexed by them: the searches
    are most of cycle breaking in a giant tangle, and list indexing halves their time
    against dicts keyed by concept id."""

    def __init__(self, size: int, edges: list[tuple[int, int]]) -> None:
        # Start from an order few edges disagree with, so that few edges need a search.
        ranked = _feedback_order(range(size), edges)
        self.position = [0] * size
        for n, node in enumerate(ranked):
            self.position[node] = n
        self.succ: list[list[int]] = [[] for _ in range(size)]
        self.pred: list[list[int]] = [[] for _ in range(size)]

    def add(self, a: int, b: int) -> bool:
        """Add ``a -> b`` unless it closes a cycle (then False)."""
        position = self.position
        low, high = position[b], position[a]
        if low > high:
            self.succ[a].append(b)
            self.pred[b].append(a)
            return True
        forward = self._reach(b, self.succ, position, -high, -1, a)
        if forward is None:
            return False  # b already leads to a (or too many nodes lie between to tell cheaply)
        backward = self._reach(a, self.pred, position, low, 1, None)
        if backward is None:
            return False
        # Reorder the affected nodes: everything that reaches a before everything b reaches.
        nodes = sorted(backward, key=position.__getitem__) + sorted(forward, key=position.__getitem__)
        slots = sorted(position[n] for n in nodes)
        for node, slot in zip(nodes, slots, strict=True):
            position[node] = slot
        self.succ[a].append(b)
        self.pred[b].append(a)
        return True

    @staticmethod
    def _reach(start: int, neighbours: list[list[int]], position: list[int], bound: int, sign: int,
               goal: int | None) -> list[int] | None:
        """Nodes reachable from ``start`` whose ``sign * position`` is at least ``bound``;
        None when ``goal`` is among them or they are more than ``SEARCH_LIMIT``."""
        seen = {start}
        stack = [start]
        pop, push, add = stack.pop, stack.append, seen.add
        while stack:
            for node in neighbours[pop()]:
                if node == goal:
                    return None
                if node not in seen and sign * position[node] >= bound:
                    add(node)
                    push(node)
            if len(seen) > SEARCH_LIMIT:
                return None
        return list(seen)


def _feedback_order(nodes, edges) -> list[int]:
    """An order of ``nodes`` most ``edges`` go forward in (Eades, Lin and Smyth, 1993): sinks
    go to the end and sources to the front as they appear, else the node whose out-degree
    most exceeds its in-degree goes to the front. Linear but for the heap."""
    import heapq

    # Dicts as ordered sets: a set's order changes from one process to the next, and with it
    # the order found (and which edges reach SEARCH_LIMIT).
    succ: dict[int, dict[int, None]] = {node: {} for node in nodes}
    pred: dict[int, dict[int, None]] = {node: {} for node in nodes}
    for a, b in edges:
        succ[a][b] = None
        pred[b][a] = None
    heap = [(len(pred[n]) - len(succ[n]), n) for n in nodes]
    heapq.heapify(heap)
    front: list[int] = []
    back: list[int] = []
    left = set(nodes)
    pending = [n for n in nodes if not succ[n] or not pred[n]]

    def remove(node: int) -> None:
        left.discard(node)
        for other in succ.pop(node):
            pred[other].pop(node, None)
            if other in left:
                heapq.heappush(heap, (len(pred[other]) - len(succ[other]), other))
                if not pred[other]:
                    pending.append(other)
        for other in pred.pop(node):
            succ[other].pop(node, None)
            if other in left:
                heapq.heappush(heap, (len(pred[other]) - len(succ[other]), other))
                if not succ[other]:
                    pending.append(other)

    while left:
        while pending:
            node = pending.pop()
            if node in left:
                (back if not succ[node] else front).append(node)
                remove(node)
        if not left:
            break
        delta, node = heapq.heappop(heap)
        if node in left and delta == len(pred[node]) - len(succ[node]):
            front.append(node)
            remove(node)
    return front + back[::-1]


@dataclass
class PathItem:
    """One thing to learn: its score (its chains to the concept taken together), its best
    chain, from the item to the concept, edge by edge, and how many of the terms it is a
    direct prerequisite of lead on to the concept (``routes``)."""

    id: str
    score: float
    chain: list[PrerequisiteEdge]
    routes: int = 1

    @property
    def direct(self) -> bool:
        return len(self.chain) == 1


@dataclass
class LearningPath:
    """What to learn before ``concept``, basics first, each item with why it is there."""

    concept: str
    items: list[PathItem]
    edges: list[PrerequisiteEdge]
    known: list[str]
    depth: int | None
    limit: int
    min_confidence: float
    cut: int  # ancestors left out by min_confidence or limit
    background: list[tuple[str, float]] = field(default_factory=list)  # (term, share of the glossary built on it)

    @property
    def steps(self) -> list[str]:
        return [item.id for item in self.items]

    def to_dict(self, glossary: Glossary) -> dict[str, Any]:
        def name(cid: str) -> str:
            return glossary.concepts[cid].name

        return {
            "concept": {"id": self.concept, "name": name(self.concept)},
            "path": [
                {
                    "id": item.id,
                    "name": name(item.id),
                    "labels": glossary.concepts[item.id].pref_labels(),
                    "score": round(item.score, 3),
                    "routes": item.routes,
                    "direct": item.direct,
                    "curated": all(edge.curated for edge in item.chain),
                    "reason": _reason_text(item, name),
                    "chain": [edge.to_dict() for edge in item.chain],
                }
                for item in self.items
            ],
            "edges": [edge.to_dict() for edge in self.edges],
            "background": [{"id": b, "name": name(b), "share": round(share, 3)} for b, share in self.background],
            "known": [{"id": k, "name": name(k)} for k in self.known],
            "depth": self.depth,
            "limit": self.limit,
            "min_confidence": self.min_confidence,
            "left_out": self.cut,
        }


def _reason_text(item: PathItem, name) -> str:
    """One line: "for X: <why>", then the rest of the chain ("for X → Y → Z"), and how many
    other routes lead on to the concept. The why is the relation the text states, with its
    words (``kg.prereqs.relations.describe``)."""
    first = item.chain[0]
    why = first.reasons[0] if first.reasons else "inferred"
    chain = " → ".join(name(edge.concept) for edge in item.chain)
    more = item.routes - 1
    return f"for {chain}: {why}" + (f" (and {more} other route{'s' if more > 1 else ''})" if more else "")


def learning_path(
    dag: nx.DiGraph,
    concept: str,
    known: set[str] = frozenset(),
    depth: int | None = None,
    limit: int = PATH_LIMIT,
    min_confidence: float = PATH_MIN_CONFIDENCE,
) -> LearningPath:
    """Prerequisites of ``concept``, ranked by the strength of their chains, basics first.

    Args:
        dag: from ``prerequisite_graph``.
        concept: a concept id.
        known: ids the reader knows: left out, and so is everything they need (a reader
            who knows a term knows its prerequisites).
        depth: at most this many prerequisite steps back (None: any).
        limit: at most this many items, direct prerequisites excepted (they are never cut by it).
        min_confidence: every item's chains together must be at least this strong (0..1).
    """
    if depth is not None and depth < 0:
        raise BadParameterError("depth must be 0 or more", parameter="depth")
    if not 1 <= limit <= MAX_PATH_LIMIT:
        raise BadParameterError(f"limit must be between 1 and {MAX_PATH_LIMIT}", parameter="limit")
    if not 0.0 <= min_confidence <= 1.0:
        raise BadParameterError("min_confidence must be between 0 and 1", parameter="min_confidence")
    known = set(known)
    if known:  # what a known term needs is known too
        known |= ancestor_index(dag).ancestors_of_any(known) - {concept}
    chains, expandable = _best_chains(dag, concept, known, depth, min(min_confidence, CHAIN_FLOOR))
    together, routes = _combine_chains(dag, concept, chains, expandable)
    # Each listable ancestor: its chains' combined score and the concepts after it on its best chain.
    # The field names most of the glossary builds on go to the background unless named directly.
    hubs = background_terms(dag)
    scored = {node: (together[node], after) for node, (_score, after) in chains.items()
              if together[node] >= min_confidence and (len(after) == 1 or node not in hubs)}
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1][0], len(kv[1][1]), kv[0]))
    # Direct prerequisites are never cut by the limit; every item needs min_confidence.
    chosen: list[str] = [node for node, (_score, after) in ranked if len(after) == 1]
    for node, _scored in ranked:
        if len(chosen) >= limit:
            break
        if node not in chosen:
            chosen.append(node)
    members = set(chosen)
    items = {node: PathItem(node, scored[node][0], [PrerequisiteEdge.of(dag, a, b)
                                                    for a, b in itertools.pairwise((node, *scored[node][1]))],
                            routes[node])
             for node in chosen}
    sub = _induced(dag, members | {concept})
    hops = {node: len(items[node].chain) for node in members}
    hops[concept] = 0
    # Basics first: a topological order, farthest (most basic) first among the ready ones.
    order = [n for n in nx.lexicographical_topological_sort(sub, key=lambda n: (-hops[n], -scored.get(n, (1,))[0], n))
             if n != concept]
    edges = [PrerequisiteEdge.of(dag, u, v) for u, v in sub.edges]
    position = {n: i for i, n in enumerate([*order, concept])}
    edges.sort(key=lambda e: (position[e.concept], position[e.prerequisite]))
    # How many ancestors a looser limit or confidence could still bring in: those the path's
    # rule reaches (its direct prerequisites, and what chainable edges lead to), walked by the
    # array index of the chainable edges. (Every ancestor, through any edge, is tens of
    # thousands in a large glossary, and no option could list them.)
    paths = chain_index(dag)
    reached = paths.reached(concept, known, depth)
    if depth is None or depth >= 1:
        direct = [paths.position[p] for p in dag._pred[concept] if p not in known and p != concept]
        reached[np.asarray(direct, dtype=np.int64)] = True
    # The field names the path's own chains reach as strongly as an item must (any edge would
    # reach far more, through tangles).
    background = sorted(((hub, hubs[hub]) for hub in chains if hub in hubs and hub not in members
                         and together[hub] >= min_confidence), key=lambda hs: (-hs[1], hs[0]))
    left_out = int(reached.sum()) - len(chosen) - len(background[:BACKGROUND_LIMIT])
    knew = ancestor_index(dag).among_ancestors(concept, known) if known else []
    return LearningPath(concept, [items[n] for n in order], edges, knew, depth,
                        limit, min_confidence, cut=max(left_out, 0), background=background[:BACKGROUND_LIMIT])


def _induced(dag: nx.DiGraph, nodes: set[str]) -> nx.DiGraph:
    """The edges of ``dag`` among ``nodes`` as a small graph of its own (a subgraph view would
    walk every edge of a hub among them: thousands in a large glossary)."""
    sub = nx.DiGraph()
    sub.add_nodes_from(nodes)
    for node in nodes:
        succ = dag._succ[node]
        sub.add_edges_from((node, other) for other in (nodes if len(nodes) < len(succ) else succ) if other in nodes
                           and other in succ)
    return sub


def _best_chains(dag: nx.DiGraph, concept: str, known: set[str], depth: int | None, min_confidence: float
                 ) -> tuple[dict[str, tuple[float, tuple[str, ...]]], set[str]]:
    """For each ancestor whose strongest chain to ``concept`` reaches ``min_confidence``: the
    product of the confidences along that chain, and the concepts after it on the chain (the
    last is ``concept``); and the ancestors a path may go on past (``expandable``).

    A chain is a direct prerequisite edge of any relation, or a chain of ``chainable`` edges
    only (strong is-a, part, derived-from, built-on): the strongest of the latter is found by
    Dijkstra on -log(confidence), backwards over chainable edges; with a ``depth``, the
    strongest chain of at most that many steps (Bellman-Ford, one layer per step). The
    ancestors that search reaches are the expandable ones.

    A chain only weakens as it grows, so the search stops where chains fall below
    ``min_confidence``: it visits the few ancestors that can be listed, not all of them."""
    best: dict[str, tuple[float, tuple[str, ...]]] = {concept: (1.0, ())}

    def follows(prereq: str, data: dict[str, Any]) -> bool:
        return prereq not in known and prereq != concept and chainable(data)

    if depth is None:
        cost = {concept: 0.0}
        heap = [(0.0, concept)]
        done: set[str] = set()
        while heap:
            c, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            after = (node, *best[node][1])
            for prereq, data in dag._pred[node].items():
                if not follows(prereq, data):
                    continue
                # Each step beyond the first also costs -log(HOP_DECAY): relevance fades with distance.
                new = c - math.log(max(data["confidence"], 1e-9)) - (math.log(HOP_DECAY) if node != concept else 0.0)
                if new < cost.get(prereq, math.inf):
                    score = math.exp(-new)
                    if score < min_confidence:
                        continue
                    cost[prereq] = new
                    best[prereq] = (score, after)
                    heapq.heappush(heap, (new, prereq))
    else:
        frontier = [concept]
        for _ in range(depth):
            # Every update of a layer reads the previous layer only, so that a chain found
            # in layer k has at most k steps.
            layer: dict[str, tuple[float, tuple[str, ...]]] = {}
            for node in frontier:
                score_node, after_node = best[node]
                after = (node, *after_node)
                for prereq, data in dag._pred[node].items():
                    if not follows(prereq, data):
                        continue
                    score = score_node * data["confidence"] * (HOP_DECAY if node != concept else 1.0)
                    if (score >= min_confidence and score > best.get(prereq, (0.0,))[0]
                            and score > layer.get(prereq, (0.0,))[0]):
                        layer[prereq] = (score, after)
            best.update(layer)
            frontier = list(layer)
    del best[concept]
    expandable = set(best)
    if depth is None or depth >= 1:  # direct prerequisites of any relation, listed but not gone past
        for prereq, data in dag._pred[concept].items():
            if prereq not in known and prereq != concept and data["confidence"] >= min_confidence \
                    and data["confidence"] > best.get(prereq, (0.0,))[0]:
                best[prereq] = (data["confidence"], (concept,))
    return best, expandable


def _combine_chains(dag: nx.DiGraph, concept: str, best: dict[str, tuple[float, tuple[str, ...]]],
                    expandable: set[str]) -> tuple[dict[str, float], dict[str, int]]:
    """Each ancestor's chains taken together (noisy-OR), and how many of its direct
    successors the chains go on through: score(n) = 1 - prod over the successors s of n
    that reach the concept of (1 - score(s) * confidence(n, s) * decay), where score(concept)
    = 1 and decay is ``HOP_DECAY`` except into the concept itself. Only the ancestors in
    ``best`` (chains at least ``CHAIN_FLOOR`` strong) count, and a successor other than the
    concept only through a chainable edge when it is ``expandable``; successors come before their
    prerequisites (Kahn's order on the reversed edges), so each score is final when used.

    Edges are read from the successor's side (``_pred``): a term names few prerequisites,
    while a hub is the prerequisite of thousands."""
    inside = best.keys()
    waiting = dict.fromkeys(inside, 0)
    for node in (concept, *inside):
        for prereq in dag._pred[node]:
            if prereq in waiting:
                waiting[prereq] += 1
    miss = dict.fromkeys(inside, 1.0)
    routes = dict.fromkeys(inside, 0)
    score = {concept: 1.0}
    ready = [concept]
    while ready:
        node = ready.pop()
        for prereq, data in dag._pred[node].items():
            if prereq not in waiting:
                continue
            if node != concept and not (node in expandable and chainable(data)):
                waiting[prereq] -= 1  # not a route a path follows
                if not waiting[prereq]:
                    score[prereq] = 1.0 - miss[prereq]
                    ready.append(prereq)
                continue
            miss[prereq] *= 1.0 - score[node] * data["confidence"] * (HOP_DECAY if node != concept else 1.0)
            routes[prereq] += 1
            waiting[prereq] -= 1
            if not waiting[prereq]:
                score[prereq] = 1.0 - miss[prereq]
                ready.append(prereq)
    del score[concept]
    return score, routes
