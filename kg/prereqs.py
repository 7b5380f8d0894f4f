"""Prerequisites: which term to learn before which, decided from the glossary's own text.

When A's definition uses B (a link or a mention), B is a candidate prerequisite of
A. Links often go both ways, so each candidate pair is scored in both directions
from evidence that can be read off the glossary:

* **how A uses B** — B in A's first sentence (the genus of a definition:
  "Xの一種", "a kind of X") weighs more than B in a later bullet; a sentence
  pattern that names B as the base of A ("Bを用いた", "Bに基づく", "Bを防ぐ",
  "based on B", "a kind of B") weighs most; B listed as an example or a sub-item
  ("主なモデル:", "例:", "など", "such as") points the other way;
* **labels** — a label of A containing a label of B ("Video Codec" / "Codec",
  "Maximum Likelihood Estimation" / "Likelihood");
* **generality** — terms many definitions use are more basic (in-degree), and
  RefD (Liang et al. 2015): A needs B when A's references link to B more than
  B's references link to A.

The stronger direction wins; its confidence is the margin squashed to 0..1. Edges
under ``MIN_CONFIDENCE`` are dropped and the rest made a DAG by removing the weakest
edge of each remaining cycle. Weights were set by reading definitions, then checked
on labelled pairs (``kg eval-prereqs``; README, "Prerequisites").
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx

from kg.errors import BadParameterError
from kg.labels import normalize

if TYPE_CHECKING:
    from kg.glossary import Glossary

MIN_CONFIDENCE = 0.7

# Evidence weights (see module docstring).
_W_USE = 0.4  # A's definition uses B at all (a passing mention proves little)
_W_FIRST = 1.5  # ... in its first sentence
_W_PATTERN = 2.5  # ... in a sentence that names B as A's base
_W_EXAMPLE = -1.5  # ... only as an example / list item: B is rather a kind of A (counts for B <- A)
_W_LABEL = 3.0  # a label of A contains a label of B
_W_GENERAL = 0.6  # per unit of log in-degree difference
_W_REFD = 1.5  # RefD in [-1, 1]

# "B" stands for the mention. Japanese particles follow the term; English precedes it.
_BASE_AFTER = re.compile(
    # An optional coordinated term first: "適合率と再現率の調和平均" names both as the base.
    r"^(?:\)|）)?\s*(?:(?:と|及び|および|、)[^。、,]{1,20}?)?(?:の一種|の一つ|の1つ|の手法|の方法|の拡張|の改良|の変種|"
    r"の派生|の特殊|の応用|の一分野|の分野|を用い|を使|を利用|を基に|をもとに|を元に|に基づ|を拡張|を改良|を応用|"
    r"を組み合わせ|を防|を抑|を軽減|を改善|を高速化|を効率化|を最大化|を最小化|を変化|を調整|の調和平均|の平均|の比)"
)
_BASE_BEFORE = re.compile(
    r"(?:kind of|type of|form of|variant of|version of|extension of|based on|built on|using|uses|use of|"
    r"applies|applied to|derived from|instance of|subclass of|special case of|prevent|prevents)"
    r"\s+(?:an?\s+|the\s+)?$",
    re.IGNORECASE,
)
# The mention sits in an enumeration of examples or sub-items of A.
_EXAMPLE_CONTEXT = re.compile(
    r"(主な|代表的|例[:：えは]|例として|など|等|が該当|に分かれ|e\.g\.|such as|for example|including|examples?:|種類)",
    re.IGNORECASE,
)
_STEM = re.compile(r"[a-z0-9]+")


def _english_words(text: str) -> tuple[str, ...]:
    words = _STEM.findall(normalize(text))
    return tuple(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)


def _label_keys(label) -> list[str]:
    """Index keys of a label: its English words, or its Japanese character bigrams."""
    if label.lang == "en":
        return list(_english_words(label.text))
    text = normalize(label.text)
    return [text[i : i + 2] for i in range(len(text) - 1)]


def _label_contains(outer, inner) -> bool:
    """Whether a label of ``outer`` contains a label of ``inner`` (as whole words in English)."""
    for big in outer.labels:
        for small in inner.labels:
            if small.lang != big.lang:
                continue
            if big.lang == "en":
                a, b = _english_words(big.text), _english_words(small.text)
                if 0 < len(b) < len(a) and any(a[i : i + len(b)] == b for i in range(len(a) - len(b) + 1)):
                    return True
            else:
                a, b = normalize(big.text), normalize(small.text)
                if len(b) >= 2 and len(a) > len(b) and b in a:
                    return True
    return False


@dataclass(frozen=True)
class PrerequisiteEdge:
    """``prerequisite`` is to be learnt before ``concept``; ``evidence`` is the sentence of
    the concept's definition that uses it (empty when the evidence is only labels)."""

    prerequisite: str
    concept: str
    confidence: float
    evidence: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "prerequisite": self.prerequisite,
            "concept": self.concept,
            "confidence": round(self.confidence, 3),
            "evidence": self.evidence,
            "reasons": list(self.reasons),
        }


@dataclass
class _Evidence:
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    sentence: str = ""


def _use_evidence(glossary: Glossary, user: str, used: str, data: dict[str, Any]) -> tuple[_Evidence, float]:
    """How ``user``'s definition uses ``used`` (edge data of the link graph).

    Returns:
        The evidence that ``used`` comes before ``user``, and the weight of evidence
        for the other way round (``used`` listed as a kind or an example of ``user``).
    """
    evidence = _Evidence(_W_USE, ["used in the definition"])
    concept = glossary.concepts[user]
    texts = {normalize(link.text) for link in concept.links if link.target == used and link.text}
    texts |= {normalize(l.text) for l in glossary.concepts[used].labels}
    texts.discard("")
    lines = concept.definition_text.splitlines()
    first = normalize(lines[0]) if lines else ""
    sentences = data.get("sentences") or []
    evidence.sentence = sentences[0] if sentences else ""
    pattern = example = in_first = False
    for sentence in sentences:
        folded = normalize(sentence)
        listed = _in_enumeration(lines, sentence, texts)
        for text in texts:
            at = folded.find(text)
            if at < 0:
                continue
            if _BASE_AFTER.match(folded[at + len(text) :]) or _BASE_BEFORE.search(folded[:at]):
                pattern = True
                evidence.sentence = sentence
            elif listed or _EXAMPLE_CONTEXT.search(folded):
                example = True
            elif folded in first or first in folded:
                in_first = True
    if pattern:
        evidence.score += _W_PATTERN
        evidence.reasons.append("named as its base")
    if in_first and not example:
        evidence.score += _W_FIRST
        evidence.reasons.append("named in the first sentence")
    reverse = -_W_EXAMPLE if example and not pattern else 0.0
    return evidence, reverse


def _in_enumeration(lines: list[str], sentence: str, texts: set[str]) -> bool:
    """Whether ``sentence`` is an item listed under a header ("- 主なモデル:" then
    "  - CNN: ..."), or a bare list item that is little more than the term itself."""
    for n, line in enumerate(lines):
        if sentence and sentence in line:
            item = normalize(line.strip(" -*\t"))
            if any(t and item.startswith(t) and len(item) <= len(t) + 4 for t in texts):
                return True  # "- gem5", "- Dropout": an enumeration of kinds or examples
            indent = len(line) - len(line.lstrip())
            for previous in reversed(lines[:n]):
                if len(previous) - len(previous.lstrip()) < indent:
                    return previous.rstrip().endswith((":", "："))
            return False
    return False


def _refd(graph: nx.DiGraph, a: str, b: str) -> float:
    """RefD(a, b) > 0 when a's references point to b more than b's point to a (b is needed for a)."""

    def share(x: str, y: str) -> float:
        refs = set(graph.succ[x]) - {y}
        if not refs:
            return 0.0
        return sum(1 for r in refs if graph.has_edge(r, y)) / len(refs)

    return share(a, b) - share(b, a)


def prerequisite_graph(glossary: Glossary, min_confidence: float = MIN_CONFIDENCE) -> nx.DiGraph:
    """The prerequisite DAG: stated by the source when it states any (an imported
    ``kgv:prerequisite``), else inferred (``infer_prerequisites``)."""
    if any(concept.prerequisites for concept in glossary.concepts.values()):
        dag = nx.DiGraph()
        dag.add_nodes_from(glossary.concepts)
        for concept in glossary.concepts.values():
            for prerequisite in concept.prerequisites:
                if prerequisite in glossary.concepts and prerequisite != concept.id:
                    dag.add_edge(
                        prerequisite, concept.id, confidence=1.0, evidence="", reasons=("stated by the source",)
                    )
        _break_cycles(dag)
        return dag
    return infer_prerequisites(glossary, min_confidence)


def infer_prerequisites(glossary: Glossary, min_confidence: float = MIN_CONFIDENCE) -> nx.DiGraph:
    """The prerequisite DAG: an edge B -> A when B is to be learnt before A.

    Edge attributes: ``confidence`` (0..1), ``evidence`` (a sentence), ``reasons``.
    """
    links = glossary.graph
    indegree = {node: links.in_degree(node) for node in links}
    scores: dict[tuple[str, str], _Evidence] = defaultdict(_Evidence)  # (prereq, concept)
    pairs: set[frozenset[str]] = set()
    for user, used, data in links.edges(data=True):
        if user == used:
            continue
        found, reverse = _use_evidence(glossary, user, used, data)
        total = scores[(used, user)]
        total.score += found.score
        total.reasons += found.reasons
        total.sentence = total.sentence or found.sentence
        if reverse:
            other = scores[(user, used)]
            other.score += reverse
            other.reasons.append("lists it as a kind or an example")
            other.sentence = other.sentence or found.sentence
        pairs.add(frozenset((user, used)))
    # Label containment also pairs terms that never link ("BERT ... Transformers").
    holders: dict[str, set[str]] = defaultdict(set)  # English word or Japanese bigram -> concepts
    for concept in glossary.concepts.values():
        for label in concept.labels:
            for key in _label_keys(label):
                holders[key].add(concept.id)
    for inner in glossary.concepts.values():
        for label in inner.labels:
            keys = _label_keys(label)
            if not keys:
                continue
            for outer_id in holders.get(keys[0], ()):
                if outer_id != inner.id and _label_contains(glossary.concepts[outer_id], inner):
                    evidence = scores[(inner.id, outer_id)]
                    if "label contains it" not in evidence.reasons:
                        evidence.score += _W_LABEL
                        evidence.reasons.append("label contains it")
                        pairs.add(frozenset((outer_id, inner.id)))

    # A SKOS hierarchy says it outright: the broader concept comes first.
    for concept in glossary.concepts.values():
        for parent in concept.broader:
            if parent in glossary.concepts and parent != concept.id:
                evidence = scores[(parent, concept.id)]
                evidence.score += _W_LABEL
                evidence.reasons.append("broader concept")
                pairs.add(frozenset((parent, concept.id)))

    dag = nx.DiGraph()
    dag.add_nodes_from(glossary.concepts)
    for a, b in sorted(tuple(sorted(pair)) for pair in pairs):  # sorted: the same DAG on every run
        forward, backward = scores.get((a, b), _Evidence()), scores.get((b, a), _Evidence())
        general = _W_GENERAL * (math.log1p(indegree.get(a, 0)) - math.log1p(indegree.get(b, 0)))
        refd = _W_REFD * _refd(links, b, a) if links.has_node(a) and links.has_node(b) else 0.0
        margin = forward.score - backward.score + general + refd  # > 0: a before b
        prereq, concept, winner = (a, b, forward) if margin > 0 else (b, a, backward)
        if winner.score <= 0:
            continue  # only evidence against: no edge
        confidence = 1 / (1 + math.exp(-abs(margin)))
        if confidence < min_confidence:
            continue
        reasons = list(dict.fromkeys(winner.reasons))
        if abs(general) > 0.3 and (general > 0) == (margin > 0):
            reasons.append("used by more definitions")
        dag.add_edge(prereq, concept, confidence=confidence, evidence=winner.sentence, reasons=tuple(reasons))
    _break_cycles(dag)
    return dag


def _break_cycles(dag: nx.DiGraph) -> None:
    """Remove the weakest edge of each cycle until none is left (bounded by the edge count)."""
    for _ in range(dag.number_of_edges()):
        try:
            cycle = nx.find_cycle(dag)
        except nx.NetworkXNoCycle:
            return
        weakest = min(cycle, key=lambda edge: dag.edges[edge[0], edge[1]]["confidence"])
        dag.remove_edge(weakest[0], weakest[1])


@dataclass
class LearningPath:
    """What to learn before ``concept``, basics first, and the edges that put each step there."""

    concept: str
    steps: list[str]
    edges: list[PrerequisiteEdge]
    known: list[str]
    depth: int | None

    def to_dict(self, glossary: Glossary) -> dict[str, Any]:
        def name(cid: str) -> str:
            return glossary.concepts[cid].name

        return {
            "concept": {"id": self.concept, "name": name(self.concept)},
            "path": [
                {"id": step, "name": name(step), "labels": glossary.concepts[step].pref_labels()} for step in self.steps
            ],
            "edges": [edge.to_dict() for edge in self.edges],
            "known": [{"id": k, "name": name(k)} for k in self.known],
            "depth": self.depth,
        }


def learning_path(
    dag: nx.DiGraph, concept: str, known: set[str] = frozenset(), depth: int | None = None
) -> LearningPath:
    """Prerequisites of ``concept`` in the order to learn them.

    Args:
        dag: from ``infer_prerequisites``.
        concept: a concept id.
        known: ids the reader knows: they are left out, and so is whatever is
            needed only for them (the search does not go past a known concept).
        depth: how many prerequisite steps back to go (None: all).
    """
    if depth is not None and depth < 0:
        raise BadParameterError("depth must be 0 or more", parameter="depth")
    distance = {concept: 0}
    frontier = [concept]
    while frontier:
        next_frontier = []
        for node in frontier:
            if depth is not None and distance[node] >= depth:
                continue
            for prereq in dag.predecessors(node):
                if prereq in known or prereq in distance:
                    continue
                distance[prereq] = distance[node] + 1
                next_frontier.append(prereq)
        frontier = next_frontier
    members = set(distance)
    sub = dag.subgraph(members)
    # Basics first: a topological order, preferring the farthest (most basic) terms.
    order = list(nx.lexicographical_topological_sort(sub, key=lambda n: (-distance[n], n)))
    steps = [n for n in order if n != concept]
    edges = [PrerequisiteEdge(u, v, d["confidence"], d["evidence"], d["reasons"]) for u, v, d in sub.edges(data=True)]
    edges.sort(key=lambda e: (order.index(e.concept), order.index(e.prerequisite)))
    return LearningPath(concept, steps, edges, sorted(known & set(nx.ancestors(dag, concept))), depth)
