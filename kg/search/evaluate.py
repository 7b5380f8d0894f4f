"""Search quality measurement: labelled queries in, MRR@10 / hit@k / nDCG@10 out."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.errors import ParseError


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    relevant_labels: tuple[str, ...]
    line: int


def read_queries(path: Path | str) -> list[LabelledQuery]:
    """Rows of ``query<TAB>label;label;...``; a header row (``query`` ...) and blank lines are skipped.

    Raises:
        ParseError: a row without a tab or without labels, naming the file and line.
    """
    path = Path(path)
    rows: list[LabelledQuery] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ParseError(f"cannot read queries: {error}", file=str(path)) from error
    for line_no, row in enumerate(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE), 1):
        if not row or not "".join(row).strip():
            continue
        if line_no == 1 and row[0].strip().lower() in ("query", "prerequisite"):
            continue
        if len(row) < 2 or not row[1].strip():
            raise ParseError("expected: query<TAB>relevant labels separated by ';'", file=str(path), line=line_no)
        labels = tuple(label.strip() for label in row[1].split(";") if label.strip())
        rows.append(LabelledQuery(row[0].strip(), labels, line_no))
    return rows


def reciprocal_rank(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    """
    >>> reciprocal_rank(["a", "b", "c"], {"b"})
    0.5
    """
    for rank, item in enumerate(ranked[:k], 1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def ndcg(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    """Binary-gain nDCG@k.

    >>> ndcg(["a", "b"], {"a"})
    1.0
    """
    dcg = sum(1.0 / math.log2(rank + 1) for rank, item in enumerate(ranked[:k], 1) if item in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


@dataclass
class QueryResult:
    query: str
    relevant: list[str]
    ranked: list[str]
    rank: int | None  # 1-based rank of the first relevant concept, None when not in the list
    close_match: bool | None = None  # whether the answer said it had a close match (None: not asked)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "relevant": self.relevant, "rank": self.rank, "top": self.ranked[:5],
                "close_match": self.close_match}


@dataclass
class Evaluation:
    """Averages over the queries, the per-query results, and labels that named no concept."""

    results: list[QueryResult] = field(default_factory=list)
    unknown_labels: list[tuple[int, str]] = field(default_factory=list)
    k: int = 10
    # Queries the glossary has no answer to, and whether each was answered "no close match".
    no_answer: list[tuple[str, bool]] = field(default_factory=list)

    def _mean(self, values: Iterable[float]) -> float:
        values = list(values)
        return sum(values) / len(values) if values else 0.0

    @property
    def metrics(self) -> dict[str, float]:
        k = self.k
        rel = [set(r.relevant) for r in self.results]
        return {
            f"mrr@{k}": self._mean(reciprocal_rank(r.ranked, s, k) for r, s in zip(self.results, rel, strict=True)),
            "hit@1": self._mean(float(bool(set(r.ranked[:1]) & s)) for r, s in zip(self.results, rel, strict=True)),
            f"hit@{k}": self._mean(float(bool(set(r.ranked[:k]) & s)) for r, s in zip(self.results, rel, strict=True)),
            f"ndcg@{k}": self._mean(ndcg(r.ranked, s, k) for r, s in zip(self.results, rel, strict=True)),
            "queries": float(len(self.results)),
            **self._floor_metrics,
        }

    @property
    def _floor_metrics(self) -> dict[str, float]:
        """How the relevance floor served: answerable queries still given a close match, and
        queries with no answer told so."""
        asked = [r.close_match for r in self.results if r.close_match is not None]
        out = {"close_match": self._mean(float(c) for c in asked)} if asked else {}
        if self.no_answer:
            out["no_answer_queries"] = float(len(self.no_answer))
            out["no_close_match"] = self._mean(float(not close) for _, close in self.no_answer)
        return out

    @property
    def misses(self) -> list[QueryResult]:
        return [r for r in self.results if r.rank is None or r.rank > self.k]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "misses": [m.to_dict() for m in self.misses],
            "unknown_labels": [{"line": line, "label": label} for line, label in self.unknown_labels],
            "queries": [r.to_dict() for r in self.results],
            "no_answer": [{"query": q, "close_match": close} for q, close in self.no_answer],
        }

    def to_text(self) -> str:
        m = self.metrics
        k = self.k
        lines = [
            f"queries {int(m['queries'])}   MRR@{k} {m[f'mrr@{k}']:.3f}   hit@1 {m['hit@1']:.3f}   "
            f"hit@{k} {m[f'hit@{k}']:.3f}   nDCG@{k} {m[f'ndcg@{k}']:.3f}"
        ]
        if "close_match" in m:
            lines.append(f"answerable queries given a close match: {m['close_match']:.1%}")
        if self.no_answer:
            lines.append(f"queries with no answer told 'no close match': {m['no_close_match']:.1%} "
                         f"of {len(self.no_answer)}")
            lines += [f"  given a close match: {q!r}" for q, close in self.no_answer if close]
        if self.misses:
            lines.append(f"misses ({len(self.misses)}):")
            for miss in self.misses:
                lines.append(f"  {miss.query!r}: wanted {', '.join(miss.relevant)}; got {', '.join(miss.ranked[:3])}")
        for line, label in self.unknown_labels:
            lines.append(f"line {line}: label {label!r} names no concept in this store")
        return "\n".join(lines)


def evaluate(
    queries: list[LabelledQuery],
    rank: Callable[[str], list[str]],
    resolve: Callable[[str], list[str]],
    k: int = 10,
    *,
    close: Callable[[str], bool] | None = None,
    no_answer: Iterable[str] = (),
) -> Evaluation:
    """Run ``rank(query)`` (concept ids, best first) for each query and score it.

    Args:
        queries: labelled queries (see ``read_queries``).
        rank: the search under test.
        resolve: label -> the concept ids it names (empty when unknown).
        k: the cut-off for MRR, hit and nDCG.
        close: query -> whether the answer says it has a close match (the relevance floor).
        no_answer: queries the glossary has no answer to, asked with ``close``.
    """
    evaluation = Evaluation(k=k)
    if close is not None:
        evaluation.no_answer = [(query, close(query)) for query in no_answer]
    for item in queries:
        relevant: list[str] = []
        for label in item.relevant_labels:
            ids = resolve(label)
            if not ids:
                evaluation.unknown_labels.append((item.line, label))
            relevant += [i for i in ids if i not in relevant]
        if not relevant:
            continue  # nothing to find in this store: not counted
        ranked = rank(item.query)
        first = next((n for n, cid in enumerate(ranked, 1) if cid in relevant), None)
        said = close(item.query) if close is not None else None
        evaluation.results.append(QueryResult(item.query, relevant, ranked, first, said))
    return evaluation


def read_no_answer_queries(path: Path | str) -> list[str]:
    """The first column of a TSV of queries with no answer (a header row starting ``query`` is
    skipped). Raises ParseError when the file cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ParseError(f"cannot read queries: {error}", file=str(path)) from error
    reader = csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    rows = [row for row in reader if row and row[0].strip()]
    return [row[0].strip() for n, row in enumerate(rows) if not (n == 0 and row[0].strip().lower() == "query")]


# -- prerequisites ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledPair:
    prerequisite: str
    concept: str
    line: int


def read_pairs(path: Path | str) -> list[LabelledPair]:
    """Rows of ``prerequisite<TAB>concept[<TAB>note]`` (or ``not_prerequisite<TAB>concept``);
    a header row and blank lines are skipped.

    Raises:
        ParseError: a row with fewer than two columns, naming the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ParseError(f"cannot read pairs: {error}", file=str(path)) from error
    pairs = []
    for line_no, row in enumerate(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE), 1):
        if not row or not "".join(row).strip():
            continue
        if line_no == 1 and row[0].strip().lower() in ("prerequisite", "not_prerequisite"):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ParseError("expected: prerequisite<TAB>concept", file=str(path), line=line_no)
        pairs.append(LabelledPair(row[0].strip(), row[1].strip(), line_no))
    return pairs


@dataclass
class PairResult:
    prerequisite: str
    concept: str
    outcome: str  # correct | reversed | unconnected | unknown; negatives: excluded | included | unknown
    path_length: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "prerequisite": self.prerequisite,
            "concept": self.concept,
            "outcome": self.outcome,
            "path_length": self.path_length,
        }


@dataclass
class PrerequisiteEvaluation:
    results: list[PairResult] = field(default_factory=list)
    negatives: list[PairResult] = field(default_factory=list)  # labelled non-prerequisites

    @property
    def metrics(self) -> dict[str, float]:
        scored = [r for r in self.results if r.outcome != "unknown"]
        negatives = [r for r in self.negatives if r.outcome != "unknown"]
        lengths = sorted(r.path_length for r in scored if r.path_length is not None)

        def share(outcome: str) -> float:
            return sum(1 for r in scored if r.outcome == outcome) / len(scored) if scored else 0.0

        median = (
            (
                lengths[len(lengths) // 2]
                if len(lengths) % 2
                else (lengths[len(lengths) // 2 - 1] + lengths[len(lengths) // 2]) / 2
            )
            if lengths
            else 0.0
        )
        return {
            "correct": share("correct"),
            "reversed": share("reversed"),
            "unconnected": share("unconnected"),
            "median_path_length": float(median),
            "pairs": float(len(scored)),
            # Share of labelled non-prerequisites kept out of their concept's path.
            "precision": (sum(1 for r in negatives if r.outcome == "excluded") / len(negatives)) if negatives else 1.0,
            "negatives": float(len(negatives)),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "pairs": [r.to_dict() for r in self.results],
                "negatives": [r.to_dict() for r in self.negatives]}

    def to_text(self) -> str:
        m = self.metrics
        lines = [
            f"pairs {int(m['pairs'])}   correct {m['correct']:.1%}   reversed {m['reversed']:.1%}   "
            f"unconnected {m['unconnected']:.1%}   median learning-path length {m['median_path_length']:g}"
        ]
        if self.negatives:
            lines.append(f"non-prerequisites {int(m['negatives'])}   kept out of the path (precision) "
                         f"{m['precision']:.1%}")
        for r in self.results:
            if r.outcome != "correct":
                lines.append(f"  {r.outcome:11s} {r.prerequisite} -> {r.concept}")
        for r in self.negatives:
            if r.outcome != "excluded":
                lines.append(f"  {r.outcome:11s} not {r.prerequisite} -> {r.concept}")
        return "\n".join(lines)


def evaluate_prerequisites(
    pairs: list[LabelledPair],
    path: Callable[[str], list[str]],
    resolve: Callable[[str], str | None],
    negatives: list[LabelledPair] = (),
) -> PrerequisiteEvaluation:
    """Score (prerequisite, concept) pairs against learning paths.

    Args:
        pairs: from ``read_pairs``.
        path: concept id -> the ids of its learning path.
        resolve: label -> concept id (None when unknown).
        negatives: (not_prerequisite, concept) pairs: ``excluded`` when the first is not in
            the concept's path, else ``included``; ``precision`` is the share excluded.

    A pair is ``correct`` when the prerequisite is in the concept's learning path,
    ``reversed`` when the concept is in the prerequisite's, else ``unconnected``;
    the median is over the learning paths of the pairs' concepts.
    """
    def positive(first: str, concept: str, steps: list[str]) -> str:
        if first in steps:
            return "correct"
        return "reversed" if concept in path(first) else "unconnected"

    def negative(first: str, _concept: str, steps: list[str]) -> str:
        return "included" if first in steps else "excluded"

    evaluation = PrerequisiteEvaluation()
    for labelled, judge, into in ((pairs, positive, evaluation.results), (negatives, negative, evaluation.negatives)):
        for pair in labelled:
            first, concept = resolve(pair.prerequisite), resolve(pair.concept)
            if first is None or concept is None:
                into.append(PairResult(pair.prerequisite, pair.concept, "unknown"))
                continue
            steps = path(concept)
            into.append(PairResult(pair.prerequisite, pair.concept, judge(first, concept, steps), len(steps)))
    return evaluation
