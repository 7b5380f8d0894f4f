"""The author in the loop: the prerequisite questions whose answers change the most learning paths.

Text alone cannot carry every prerequisite (Hallucination's entry never names a language
model), and the model is unsure of some it reads. The author knows; ten minutes of their
time should go where an answer changes most. A question is "is P needed before C?", from:

* an inferred edge the model is unsure of, or a candidate pair just under the edge cut
  (``below the cut``): the two directions' probabilities are read off the fitted model;
* a pair the text does not connect: the most used terms of C's sections (``same section``),
  C's nearest neighbours by meaning (with a dense index) and the is-a parents of those
  neighbours (``similar meaning``, ``parent of a similar term``), asked with a prior of
  ``UNSTATED_PRIOR``.

Each is ranked by ``uncertainty × impact``: uncertainty is 1 − |2q − 1| for the chance q
that P comes before C, and impact the number of learning paths an answer can change, C's
and those of every concept whose path reaches C through the chains a path follows
(``kg.prereqs.learning.chainable``). Answers are the author's corrections
(``kg.prereqs.curation``): yes confirms, no rejects, both written to ``kg-prerequisites.yaml``
and applied on every ingest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from kg.errors import BadParameterError
from kg.prereqs.dag_index import AncestorIndex, ancestor_index
from kg.prereqs.learning import chain_graph
from kg.text import plain_text

if TYPE_CHECKING:
    from kg.glossary import Glossary
    from kg.prereqs.model import PrerequisiteModel
    from kg.settings import Settings
    from kg.store.versions import UpdateOutcome

#: Questions a review asks at most (``kg review --limit``).
MAX_QUESTIONS = 500
#: An inferred pair is asked about while the likelier direction's chance is within these.
UNSURE = (0.2, 0.8)
#: The chance given to a prerequisite the text does not state, before anyone answers.
UNSTATED_PRIOR = 0.35
#: Neighbours by meaning looked at for each concept.
NEIGHBOURS = 5
#: The most used terms of a concept's sections asked about, for each concept.
SECTION_TERMS = 2


@dataclass
class Question:
    """Is ``prerequisite`` needed before ``concept``?"""

    prerequisite: str
    concept: str
    chance: float  # the model's (or the prior's) chance that it is
    impact: int  # learning paths an answer can change
    source: str  # inferred edge, below the cut, similar meaning, parent of a similar term
    evidence: list[str] = field(default_factory=list)

    @property
    def uncertainty(self) -> float:
        return 1.0 - abs(2.0 * self.chance - 1.0)

    @property
    def priority(self) -> float:
        return self.uncertainty * self.impact

    def to_dict(self, glossary: Glossary) -> dict[str, Any]:
        name = {cid: glossary.concepts[cid].name for cid in (self.prerequisite, self.concept)}
        return {
            "prerequisite": {"id": self.prerequisite, "name": name[self.prerequisite]},
            "concept": {"id": self.concept, "name": name[self.concept]},
            "question": f"Is {name[self.prerequisite]} needed before {name[self.concept]}?",
            "chance": round(self.chance, 3),
            "uncertainty": round(self.uncertainty, 3),
            "impact": self.impact,
            "priority": round(self.priority, 3),
            "source": self.source,
            "evidence": self.evidence,
        }


def _impacts(dag: nx.DiGraph) -> Callable[[str], int]:
    """For a concept: 1 (its own path) plus the concepts whose path reaches it through the
    edges a path follows (its descendants over chainable edges), each counted once on demand
    on the array index of the reversed chain graph."""
    dependants = AncestorIndex(chain_graph(dag).reverse(copy=False))
    return functools.lru_cache(maxsize=None)(lambda concept: 1 + dependants.count(concept))


def review_questions(glossary: Glossary, limit: int = 20, model: PrerequisiteModel | None = None,
                     answered: Iterable[tuple[str, str]] = ()) -> list[Question]:
    """The ``limit`` questions ranked first (see the module docstring), none already answered
    by the author (``前提:``, ``kg-prerequisites.yaml``) nor in ``answered``."""
    if not 1 <= limit <= MAX_QUESTIONS:
        raise BadParameterError(f"limit must be between 1 and {MAX_QUESTIONS}", parameter="limit")
    # heavy: the features and the model, read only when questions are asked
    from kg.prereqs.features import extract
    from kg.prereqs.model import load_model, model_path
    from kg.prereqs.related import _similar_meaning

    dag = glossary.prerequisites
    impact = _impacts(dag)
    concepts = glossary.concepts
    settled = {(p, c.id) for c in concepts.values()
               for p in (*c.prerequisites, *getattr(c, "rejected_prerequisites", ()))}
    settled |= set(answered)
    settled |= {(a, b) for a, b, data in dag.edges(data=True) if data.get("curated")}
    questions: dict[frozenset[str], Question] = {}

    index = ancestor_index(dag)

    def ask(p: str, c: str, chance: float, source: str, evidence: list[str]) -> None:
        if p == c or (p, c) in settled or (c, p) in settled or p not in concepts or c not in concepts:
            return
        if source not in ("inferred edge", "below the cut") and index.reached(p)[index.position[c]]:
            return  # p already builds on c: asking it before c would be asking backwards
        shown = list(dict.fromkeys(plain_text(e) for e in evidence if e))[:2]
        question = Question(p, c, chance, impact(c), source, shown)
        pair = frozenset((p, c))  # one question a pair: its likelier or more telling direction
        if pair not in questions or questions[pair].priority < question.priority:
            questions[pair] = question

    model = model or load_model(model_path(glossary.settings))
    candidates = extract(glossary)
    probabilities = model.probabilities(candidates.matrix)
    forward, backward = probabilities[0::2], probabilities[1::2]
    for n, (a, b) in enumerate(candidates.pairs):
        p, c, chance = (a, b, forward[n]) if forward[n] >= backward[n] else (b, a, backward[n])
        if UNSURE[0] <= chance <= UNSURE[1]:
            source = "inferred edge" if dag.has_edge(p, c) else "below the cut"
            ask(p, c, float(chance), source, [candidates.evidence.get((p, c), ""),
                                              candidates.evidence.get((c, p), "")])
    linked = {frozenset(pair) for pair in candidates.pairs}
    generality = {cid: glossary.graph.in_degree(cid) for cid in concepts}
    members: dict[str, list[str]] = {}
    for cid, concept in concepts.items():
        for collection in concept.collections:
            members.setdefault(collection, []).append(cid)
    for c, concept in concepts.items():
        # The most used terms of its own sections, which its definition never names.
        around = {other for collection in concept.collections for other in members[collection]}
        general = sorted((other for other in around if generality[other] > max(generality[c], 1)
                          and frozenset((c, other)) not in linked), key=lambda o: (-generality[o], o))
        for other in general[:SECTION_TERMS]:
            ask(other, c, UNSTATED_PRIOR, "same section",
                [f"{concepts[other].name} is one of the most used terms of {concepts[c].name}'s section"])
    for c in concepts:
        for other in _similar_meaning(glossary, c, NEIGHBOURS):
            if frozenset((c, other)) not in linked and generality[other] > generality[c]:
                ask(other, c, UNSTATED_PRIOR, "similar meaning",
                    [f"{concepts[other].name} is close in meaning to {concepts[c].name}"])
            for parent, _, data in dag.in_edges(other, data=True):
                if data.get("relation") == "is-a" and not dag.has_edge(parent, c) \
                        and frozenset((c, parent)) not in linked:
                    ask(parent, c, UNSTATED_PRIOR, "parent of a similar term",
                        [f"{concepts[other].name}, close in meaning, is a kind of {concepts[parent].name}"])
    ranked = sorted(questions.values(), key=lambda q: (-q.priority, -q.impact, q.concept, q.prerequisite))
    return ranked[:limit]


def apply_answers(glossary: Glossary, settings: Settings, answers: Iterable[tuple[str, str, bool]],
                  source: Path | None = None, progress: Callable[[int, int, str], None] | None = None
                  ) -> UpdateOutcome | None:
    """Write each answer (prerequisite, concept, yes) to ``kg-prerequisites.yaml`` (yes confirms,
    no rejects) and re-ingest once; None when there was nothing to write."""
    from kg.prereqs.curation import write_corrections

    by_concept: dict[str, tuple[list[str], list[str]]] = {}
    for prerequisite, concept, yes in answers:
        confirm, reject = by_concept.setdefault(concept, ([], []))
        (confirm if yes else reject).append(prerequisite)
    if not by_concept:
        return None
    return write_corrections(glossary, settings, by_concept, source, progress)[2]
