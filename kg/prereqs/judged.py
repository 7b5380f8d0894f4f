"""Learning paths scored the way a learner meets them: against paths judged item by item.

A judged set (``eval/paths/``, written as ``../shared/eval/JUDGING.md`` describes) says, for
each item a path once listed before a concept, whether it is a genuine prerequisite (P),
harmless background (N) or wrong (W, with its class), and which obvious prerequisites were
missing. A later version is scored against the same judgements: how many wrong items it
still lists, how many genuine and missing ones it lists, how many paths hold no wrong item,
and how long the paths are. Items it lists that nobody judged are counted apart: a judge
should look at them before a figure is trusted.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import ParseError

JUDGEMENTS = ("P", "N", "W")


@dataclass(frozen=True)
class Judgement:
    concept: str
    item: str
    judgement: str  # P, N or W
    error_class: str = ""  # for W: dependent, uses-or-supports, sibling, application, unrelated, other


@dataclass
class PathEvaluation:
    metrics: dict[str, float]
    wrong_listed: Counter = field(default_factory=Counter)  # W items still listed, by class
    unjudged: list[tuple[str, str]] = field(default_factory=list)  # (concept, item) listed but never judged

    def to_text(self) -> str:
        m = self.metrics
        lines = [
            f"{int(m['concepts'])} judged concepts, {int(m['wrong'])} wrong, {int(m['genuine'])} genuine and "
            f"{int(m['missing'])} missing items judged",
            f"wrong items still listed: {m['wrong_listed']:.1%}",
            f"genuine and missing items listed: {m['genuine_listed']:.1%}",
            f"paths with no wrong item: {m['clean_paths']:.1%}",
            f"median path length: {m['median_length']:g}",
        ]
        if "genuine_shown" in m:
            lines.append(f"with the background list: wrong items shown {m['wrong_shown']:.1%}, genuine and "
                         f"missing items shown {m['genuine_shown']:.1%}")
        if self.wrong_listed:
            lines.append("wrong items listed by class: " + ", ".join(
                f"{kind or 'unclassed'} {n}" for kind, n in self.wrong_listed.most_common()))
        if self.unjudged:
            lines.append(f"{len(self.unjudged)} listed items were never judged (judge them before trusting the "
                         "figures): " + ", ".join(f"{c} <- {i}" for c, i in self.unjudged[:8])
                         + (" …" if len(self.unjudged) > 8 else ""))
        return "\n".join(lines)


def _rows(path: Path, columns: int) -> Iterable[tuple[int, list[str]]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ParseError(f"cannot read judged paths: {error}", file=str(path)) from error
    for number, row in enumerate(csv.reader(text.splitlines(), delimiter="\t"), 1):
        if not row or not any(cell.strip() for cell in row) or number == 1 and row[0] == "concept_id":
            continue
        if len(row) < columns:
            raise ParseError(f"expected {columns} tab-separated columns, found {len(row)}", file=str(path),
                             line=number)
        yield number, [cell.strip() for cell in row]


def read_judgements(path: Path | str) -> list[Judgement]:
    """Rows of ``concept_id, concept_label, item_id, item_label, rank, judgement, error_class, note``.

    Raises:
        ParseError: an unreadable file, a short row or a judgement other than P, N or W (file and line).
    """
    judgements = []
    for number, row in _rows(Path(path), 6):
        verdict = row[5].upper()
        if verdict not in JUDGEMENTS:
            raise ParseError(f"judgement {row[5]!r} is not P, N or W", file=str(path), line=number)
        judgements.append(Judgement(row[0], row[2], verdict, row[6] if len(row) > 6 else ""))
    return judgements


def read_missing(path: Path | str) -> list[tuple[str, str]]:
    """Rows of ``concept_id, missing_item_id, note``: (concept, item) pairs."""
    return [(row[0], row[1]) for _, row in _rows(Path(path), 2)]


def evaluate_paths(path_of: Callable[[str], list[str]], judgements: Iterable[Judgement],
                   missing: Iterable[tuple[str, str]] = (),
                   background_of: Callable[[str], list[str]] | None = None) -> PathEvaluation:
    """Score the paths ``path_of(concept)`` (item ids, in order) lists now against the judgements.

    Every concept named by a judgement or a missing row is one judged path. ``wrong_listed``
    is the share of W items still listed; ``genuine_listed`` the share of P and missing items
    listed; ``clean_paths`` the share of judged paths that list no W item; ``median_length``
    the median number of items of those paths. With ``background_of`` (the field names shown
    apart from the items): ``genuine_shown`` and ``wrong_shown``, the same shares counting
    what either list shows.
    """
    verdicts: dict[tuple[str, str], Judgement] = {}
    for judgement in judgements:
        verdicts[(judgement.concept, judgement.item)] = judgement
    wanted = defaultdict(set)
    for concept, item in missing:
        wanted[concept].add(item)
    for (concept, item), judgement in verdicts.items():
        if judgement.judgement == "P":
            wanted[concept].add(item)
    concepts = sorted({c for c, _ in verdicts} | set(wanted))
    wrong = [(c, i, j.error_class) for (c, i), j in verdicts.items() if j.judgement == "W"]
    evaluation = PathEvaluation({})
    listed: dict[str, set[str]] = {}
    lengths = []
    shown: dict[str, set[str]] = {}
    for concept in concepts:
        items = path_of(concept)
        listed[concept] = set(items)
        shown[concept] = listed[concept] | set(background_of(concept) if background_of else ())
        lengths.append(len(items))
        evaluation.unjudged += [(concept, i) for i in items if (concept, i) not in verdicts
                                and i not in wanted[concept]]
    still_wrong = [(c, i, kind) for c, i, kind in wrong if i in listed[c]]
    evaluation.wrong_listed = Counter(kind for _, _, kind in still_wrong)
    genuine = [(c, i) for c in concepts for i in wanted[c]]
    dirty = {c for c, _, _ in still_wrong}
    evaluation.metrics = {
        "concepts": len(concepts),
        "wrong": len(wrong),
        "genuine": sum(1 for j in verdicts.values() if j.judgement == "P"),
        "missing": len(genuine) - sum(1 for j in verdicts.values() if j.judgement == "P"),
        "wrong_listed": len(still_wrong) / len(wrong) if wrong else 0.0,
        "genuine_listed": sum(1 for c, i in genuine if i in listed[c]) / len(genuine) if genuine else 0.0,
        "clean_paths": sum(1 for c in concepts if c not in dirty) / len(concepts) if concepts else 0.0,
        "median_length": statistics.median(lengths) if lengths else 0.0,
        "unjudged": len(evaluation.unjudged),
    }
    if background_of is not None:
        evaluation.metrics["wrong_shown"] = (sum(1 for c, i, _ in wrong if i in shown[c]) / len(wrong)
                                             if wrong else 0.0)
        evaluation.metrics["genuine_shown"] = (sum(1 for c, i in genuine if i in shown[c]) / len(genuine)
                                               if genuine else 0.0)
    return evaluation
