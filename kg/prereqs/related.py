"""Related concepts: direct links, shared link neighbours and similar meaning, blended into one ranking.

Every signal is scaled to [0, 1] and weighted by how directly it says that two
terms belong together:

========================  ======  ==========================================================
signal                    weight  scaled value
========================  ======  ==========================================================
``links_to``              1.0     ``1 - 1/(2*count)``: 0.5 for one reference, 0.75 for two...
``linked_from``           0.8     the same, for the other concept's references to this one
``shared_neighbours``     0.35    Adamic-Adar over the undirected link graph, as a share of
                                  the concept's own neighbourhood (1: shares all of it)
``similar_meaning``       0.3     cosine of the two concepts' passage vectors (below 0: 0)
========================  ======  ==========================================================

Why this order: a definition that uses a term is the glossary author saying the
two belong together, so it weighs most, and more references say it more firmly
(with diminishing returns, so a long definition cannot swamp everything). Being
used by another definition is the same statement seen from the other side, but
it says the *other* term needs this one, which is a little weaker as "what this
term relates to". Shared neighbours are indirect evidence (two terms explained
with the same words); rare neighbours count more than hubs such as Machine
Learning (Adamic and Adar, 2003). Similar meaning is a model's guess and never
zero even between unrelated texts, so it weighs least; it mostly finds terms the
author never linked. Each indirect signal at its full value stays below the
weakest direct link (0.4, one reference from the other side): a sibling that
shares a concept's only neighbour never outranks that neighbour, and a near
duplicate by meaning never outranks a term the definition uses. A concept found
by several signals adds them up, so a mutual link (0.9 for one reference each
way) outranks a one-way one (0.5), and shared neighbours and similar meaning
order the linked terms among themselves. The sum is divided by the sum of the
weights (2.45): scores lie in [0, 1] and are comparable within one answer.
"""

from __future__ import annotations

import heapq
import math
import threading
import weakref
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from kg.errors import BadParameterError
from kg.text import plain_text

if TYPE_CHECKING:
    import networkx as nx

    from kg.glossary import Glossary
    from kg.search.semantic import SemanticIndex

MAX_K = 100

W_LINKS_TO = 1.0
W_LINKED_FROM = 0.8
W_SHARED = 0.35
W_SIMILAR = 0.3
_TOTAL_WEIGHT = W_LINKS_TO + W_LINKED_FROM + W_SHARED + W_SIMILAR

# Names quoted in a shared-neighbours reason (the full list is in ``neighbours``, up to _MAX_NEIGHBOURS).
_NAMES_IN_DETAIL = 5
_MAX_NEIGHBOURS = 20
# Nearest passages asked of the vector index per concept wanted (a concept may have several passages).
_SIMILAR_POOL = 3
_VECTOR_CACHE_SIZE = 4096

KINDS = ("links_to", "linked_from", "shared_neighbours", "similar_meaning")


@dataclass
class Reason:
    """Why a concept is related: ``kind`` (one of ``KINDS``), a one-line ``detail`` for
    people, and the data behind it (the evidence sentence and how many references for
    links, the shared neighbours, the cosine)."""

    kind: str
    detail: str
    score: float  # this reason's share of the blended score
    evidence: str | None = None
    count: int | None = None
    kinds: list[str] | None = None
    neighbours: list[dict[str, str]] | None = None
    cosine: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "detail": self.detail, "score": round(self.score, 6)}
        for key in ("evidence", "count", "kinds", "neighbours"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.cosine is not None:
            data["cosine"] = round(self.cosine, 6)
        return data


@dataclass
class RelatedTerm:
    """One related concept with every reason it was found for (its score is their sum)."""

    id: str
    name: str
    labels: dict[str, str]
    score: float
    reasons: list[Reason] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "labels": self.labels,
            "score": round(self.score, 6),
            "reasons": [reason.to_dict() for reason in self.reasons],
        }


def related(glossary: Glossary, ref: str, k: int = 10) -> list[RelatedTerm]:
    """The ``k`` concepts most related to ``ref``, each with the reasons why.

    Direct links (both ways), shared link neighbours and, when the glossary has a
    dense index, nearest neighbours by meaning are blended (weights in the module
    docstring); a concept appears once with all its reasons. Without a dense index
    only the graph is used.

    Args:
        glossary: the glossary to look in.
        ref: id or any label of the concept.
        k: how many related concepts (1-100).

    Returns:
        Best first; ties by name.

    Raises:
        NotFoundError: ``ref`` names no concept (with close label suggestions).
        BadParameterError: ``k`` out of range (``parameter="k"``).
    """
    if not 1 <= k <= MAX_K:
        raise BadParameterError(f"k must be between 1 and {MAX_K}", parameter="k")
    concept = glossary.get(ref)
    # Scores first, as plain numbers: next to a hub the candidates are thousands, and only
    # the k shown need their reasons written out. Each reason's score is computed the same
    # way in both passes (fsum), so the ranking is that of the reasons.
    similar = _similar_meaning(glossary, concept.id, k)
    graph = glossary.graph
    shared = _shared_scores(glossary, concept.id)
    # Only the concepts that can reach the k-th best total need it exactly: next to a hub
    # the concepts sharing a neighbour are tens of thousands (seconds as dicts).
    candidates = _near_top(glossary, concept.id, shared, similar, k)
    shared.fill(candidates)
    totals: dict[str, float] = {}
    succ, pred = graph._succ[concept.id], graph._pred[concept.id]  # plain dicts: no views
    for other in candidates:  # added up in the order of KINDS, as the reasons are listed
        total = 0.0
        if other in succ:
            total = total + _link_score(succ[other], W_LINKS_TO)
        if other in pred:
            total = total + _link_score(pred[other], W_LINKED_FROM)
        if other in shared.scores:
            total = total + shared.scores[other]
        if other in similar:
            total = total + _similar_score(similar[other])
        totals[other] = total
    shown = _best(glossary, totals, k)

    found: dict[str, list[Reason]] = {other: [] for other in shown}
    name = concept.name
    for other in shown:
        if other in succ:
            found[other].append(_link_reason("links_to", name, glossary.concepts[other].name, succ[other],
                                             W_LINKS_TO))
        if other in pred:
            found[other].append(_link_reason("linked_from", glossary.concepts[other].name, name, pred[other],
                                             W_LINKED_FROM))
    _shared_neighbours(glossary, shared, found)
    for other in shown:
        if other in similar:
            found[other].append(_similar_reason(similar[other]))
    terms: list[RelatedTerm] = []
    for other in shown:  # each one's reasons were added in the order of KINDS
        node = glossary.concepts[other]
        terms.append(RelatedTerm(other, node.name, node.pref_labels(), totals[other], found[other]))
    return terms


def _best(glossary: Glossary, totals: dict[str, float], k: int) -> list[str]:
    """The ``k`` best ids: highest total first, then by name and id (names only of the ties)."""
    if len(totals) > k:
        kth = heapq.nlargest(k, totals.values())[-1]
        totals = {other: score for other, score in totals.items() if score >= kth}
    return sorted(totals, key=lambda o: (-totals[o], glossary.concepts[o].name.casefold(), o))[:k]


def link_strength(count: int) -> float:
    """How firmly ``count`` references say two terms belong together, in [0, 1).

    >>> [link_strength(c) for c in (1, 2, 4)]
    [0.5, 0.75, 0.875]
    """
    return 1.0 - 1.0 / (2 * max(1, count))


def _link_score(data: dict[str, Any], weight: float) -> float:
    return weight * link_strength(int(data.get("count") or 1)) / _TOTAL_WEIGHT


def _link_reason(kind: str, user: str, used: str, data: dict[str, Any], weight: float) -> Reason:
    """A links_to / linked_from reason for the edge ``user -> used``."""
    sentences = data.get("sentences") or []
    kinds = sorted(data.get("kinds") or ())
    if sentences:
        detail = plain_text(sentences[0])
    elif kinds == ["broader"]:
        detail = f"{user} is narrower than {used}"
    else:
        detail = f"{user}'s definition uses {used}"
    count = int(data.get("count") or 1)
    return Reason(
        kind,
        detail,
        _link_score(data, weight),
        evidence=plain_text(sentences[0]) if sentences else None,
        count=count,
        kinds=kinds,
    )


class _Shared:
    """Who shares link neighbours with a concept. ``weights``: the Adamic-Adar weight of
    each of the concept's shareable neighbours; ``approximate``: every concept's score as a
    dense array over the numbered nodes (a sparse product, summed in no fixed order), used
    only to find the few whose exact score (``fsum``) and ``via`` ``fill`` then works out."""

    def __init__(self, neighbours: dict[str, frozenset[str]], weights: dict[str, float], scale: float,
                 approximate: np.ndarray | None) -> None:
        self.neighbours = neighbours
        self.weights = weights
        self.scale = scale
        self.approximate = approximate
        self.via: dict[str, list[str]] = {}
        self.scores: dict[str, float] = {}

    def fill(self, others: list[str]) -> None:
        """Exact scores and ``via`` of ``others``: each one's neighbours looked up among the
        concept's, or, when that is more work (many candidates next to a hub), each shared
        neighbour's neighbours walked once."""
        wanted = set(others)
        walk = sum(len(self.neighbours[z]) for z in self.weights)
        if len(wanted) * len(self.weights) <= walk:
            for other in wanted:
                if via := [z for z in self.weights if other in self.neighbours[z]]:
                    self.via[other] = via
        else:
            for z in self.weights:
                for other in wanted.intersection(self.neighbours[z]):
                    self.via.setdefault(other, []).append(z)
        for other, via in self.via.items():
            # fsum: the same score whatever the order of the neighbours (the reason lists them sorted).
            self.scores[other] = (self.weights[via[0]] if len(via) == 1
                                  else math.fsum(self.weights[z] for z in via)) * self.scale


def _shared_scores(glossary: Glossary, concept_id: str) -> _Shared:
    """The concepts sharing link neighbours with ``concept_id`` (see ``_Shared``)."""
    neighbours = _neighbour_sets(glossary.graph)
    own = neighbours[concept_id]

    def weight(node: str) -> float:
        # Adamic-Adar: a neighbour shared by few concepts says more than a hub does.
        return 1.0 / math.log(len(neighbours[node]))

    weights = {z: weight(z) for z in own if len(neighbours[z]) >= 2}  # only these can be shared with anyone
    total = math.fsum(weights.values())
    if not total:
        return _Shared(neighbours, {}, 0.0, None)
    scale = W_SHARED / total / _TOTAL_WEIGHT
    adjacency = _adjacency(glossary.graph)
    rows = np.fromiter((adjacency.number[z] for z in weights), dtype=np.int64, count=len(weights))
    approximate = adjacency.matrix[rows].T @ (np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
                                              * scale)
    return _Shared(neighbours, weights, scale, approximate)


#: Candidates within this much of the k-th best approximate total are scored exactly (the
#: approximate sums differ from the exact ones by a few units in the last place).
_NEAR = 1e-9


def _near_top(glossary: Glossary, concept_id: str, shared: _Shared, similar: dict[str, float], k: int) -> list[str]:
    """Every concept whose total may be among the ``k`` best (ties included): linked or
    similar ones and those sharing neighbours, by approximate totals."""
    succ, pred = glossary.graph._succ[concept_id], glossary.graph._pred[concept_id]  # plain dicts: no views
    direct = {**dict.fromkeys(succ), **dict.fromkeys(pred), **dict.fromkeys(similar)}
    direct.pop(concept_id, None)
    if shared.approximate is None:
        return list(direct)
    adjacency = _adjacency(glossary.graph)
    totals = shared.approximate.copy()
    for scores in ({other: _link_score(data, W_LINKS_TO) for other, data in succ.items()},
                   {other: _link_score(data, W_LINKED_FROM) for other, data in pred.items()},
                   {other: _similar_score(cosine) for other, cosine in similar.items()}):
        at = np.fromiter((adjacency.number[other] for other in scores), dtype=np.int64, count=len(scores))
        totals[at] += np.fromiter(scores.values(), dtype=np.float64, count=len(scores))  # ids unique: no repeats
    totals[adjacency.number[concept_id]] = 0.0
    scored = np.flatnonzero(totals > 0)
    if len(scored) > k:
        kth = -np.partition(-totals[scored], k - 1)[k - 1]
        scored = scored[totals[scored] >= kth - _NEAR]
    return [adjacency.ids[i] for i in scored.tolist()]


def prepare(graph: nx.DiGraph) -> None:
    """Build the per-graph tables related terms use (neighbour sets, the adjacency matrix)
    now rather than in the first request: seconds at 100,000 concepts."""
    _adjacency(graph)


class _Adjacency(NamedTuple):
    """The undirected link graph as a 0/1 sparse matrix over numbered nodes."""

    ids: list[str]
    number: dict[str, int]
    matrix: Any  # scipy.sparse.csr_matrix


_adjacency_cache: weakref.WeakKeyDictionary[nx.DiGraph, _Adjacency] = weakref.WeakKeyDictionary()


def _adjacency(graph: nx.DiGraph) -> _Adjacency:
    """``_Adjacency`` of ``graph``, built once per graph from ``_neighbour_sets``."""
    import scipy.sparse as sp

    neighbours = _neighbour_sets(graph)
    with _neighbours_lock:
        cached = _adjacency_cache.get(graph)
        if cached is None:
            ids = list(neighbours)
            number = {cid: n for n, cid in enumerate(ids)}
            counts = np.fromiter((len(neighbours[cid]) for cid in ids), dtype=np.int64, count=len(ids))
            columns = np.fromiter((number[other] for cid in ids for other in neighbours[cid]), dtype=np.int64,
                                  count=int(counts.sum()))
            starts = np.concatenate([[0], np.cumsum(counts)])
            matrix = sp.csr_matrix((np.ones(len(columns)), columns, starts), shape=(len(ids), len(ids)))
            cached = _adjacency_cache[graph] = _Adjacency(ids, number, matrix)
        return cached


def _shared_neighbours(glossary: Glossary, shared: _Shared, found: dict[str, list[Reason]]) -> None:
    """The shared-neighbours reasons of the concepts in ``found``."""
    for other in found:
        via = shared.via.get(other)
        if not via:
            continue
        via.sort(key=lambda z: (-shared.weights[z], glossary.concepts[z].name.casefold()))
        names = [glossary.concepts[z].name for z in via]
        shown = ", ".join(names[:_NAMES_IN_DETAIL]) + (", ..." if len(names) > _NAMES_IN_DETAIL else "")
        plural = "neighbour" if len(via) == 1 else "neighbours"
        found[other].append(
            Reason(
                "shared_neighbours",
                f"shares {len(via)} {plural}: {shown}",
                shared.scores[other],
                count=len(via),
                neighbours=[{"id": z, "name": glossary.concepts[z].name} for z in via[:_MAX_NEIGHBOURS]],
            )
        )


_neighbours_cache: weakref.WeakKeyDictionary[nx.DiGraph, dict[str, frozenset[str]]] = weakref.WeakKeyDictionary()
_neighbours_lock = threading.Lock()


def _neighbour_sets(graph: nx.DiGraph) -> dict[str, frozenset[str]]:
    """Each node's neighbours in the undirected link graph (without itself), computed once per graph."""
    with _neighbours_lock:
        cached = _neighbours_cache.get(graph)
        if cached is None:
            cached = {n: frozenset(graph.succ[n]).union(graph.pred[n]) - {n} for n in graph}
            _neighbours_cache[graph] = cached
        return cached


def _similar_meaning(glossary: Glossary, concept_id: str, k: int) -> dict[str, float]:
    """The concepts nearest to ``concept_id`` by meaning, with their best passage cosine (> 0)."""
    semantic = glossary.engine.semantic
    if semantic is None or not semantic.passages:
        return {}
    vectors = _concept_vectors(semantic, concept_id)
    if vectors is None:
        return {}
    own_rows = len(vectors)
    scores, rows = semantic.index.search(vectors, min(len(semantic.passages), (k + 1) * _SIMILAR_POOL + own_rows))
    best: dict[str, float] = {}
    for score_row, row_row in zip(scores, rows, strict=True):
        for score, row in zip(score_row, row_row, strict=True):
            other = semantic.passages[int(row)].concept_id
            if other != concept_id and other in glossary.concepts:
                best[other] = max(best.get(other, -1.0), float(score))
    return {other: cosine for other, cosine in best.items() if cosine > 0}


def _similar_score(cosine: float) -> float:
    return W_SIMILAR * cosine / _TOTAL_WEIGHT


def _similar_reason(cosine: float) -> Reason:
    return Reason("similar_meaning", f"similar meaning (cosine {cosine:.2f})", _similar_score(cosine), cosine=cosine)


class _VectorCache:
    """Per semantic index: which passage rows belong to which concept, and an LRU of their vectors."""

    def __init__(self, semantic: SemanticIndex) -> None:
        self.rows: dict[str, list[int]] = defaultdict(list)
        for row, passage in enumerate(semantic.passages):
            self.rows[passage.concept_id].append(row)
        self.vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()


_vector_caches: weakref.WeakKeyDictionary[SemanticIndex, _VectorCache] = weakref.WeakKeyDictionary()
_vector_caches_lock = threading.Lock()


def _concept_vectors(semantic: SemanticIndex, concept_id: str) -> np.ndarray | None:
    """The vectors of ``concept_id``'s passages (one row each), or None when it has none.

    Read back from the index when it can give them (``reconstruct``), else the
    passages' texts are encoded again (the same model built the index, so the vectors
    are the same); either way they are kept per index for the next request.
    """
    with _vector_caches_lock:
        cache = _vector_caches.get(semantic)
        if cache is None:
            cache = _vector_caches[semantic] = _VectorCache(semantic)
    rows = cache.rows.get(concept_id)
    if not rows:
        return None
    with cache.lock:
        if concept_id in cache.vectors:
            cache.vectors.move_to_end(concept_id)
            return cache.vectors[concept_id]
    reconstruct = getattr(semantic.index, "reconstruct", None)
    if callable(reconstruct):
        vectors = np.asarray(reconstruct(rows), dtype=np.float32).reshape(len(rows), -1)
    else:
        vectors = semantic.encoder.encode([semantic.passages[row].text for row in rows])
    vectors = vectors[np.linalg.norm(vectors, axis=1) > 0]  # an empty text has no direction
    if not len(vectors):
        return None
    with cache.lock:
        cache.vectors[concept_id] = vectors
        if len(cache.vectors) > _VECTOR_CACHE_SIZE:
            cache.vectors.popitem(last=False)
    return vectors
