"""What review buys: a reviewer played from labelled data answers ``kg review``'s questions in
their order, and judged paths kept apart from those labels are scored after 0, 10, 20, 50 answers.

The reviewer knows what the labelled files say (``eval/*_prerequisites.tsv`` yes,
``*_not_prerequisites.tsv`` no, the design half of the judged paths: genuine and missing items
yes, wrong ones no; a pair labelled the other way round is a no) and skips every question
they do not cover. The judged paths that score the result (the held-out half,
``eval/paths/linked_heldout_*``) answer nothing. Answers act as ``kg-prerequisites.yaml``
does on the next ingest: the model is refitted on them, then a yes is a curated edge (its
reverse goes) and a no removes the inferred edge.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
CHECKPOINTS = (0, 10, 20, 50)


def _labels(resolve: Callable[[str], str | None], shared: Path) -> dict[tuple[str, str], bool]:
    """(prerequisite id, concept id) -> yes/no, from every labelled file the reviewer knows."""
    from kg.prereqs.judged import read_judgements, read_missing

    said: dict[tuple[str, str], bool] = {}

    def put(p: str | None, c: str | None, yes: bool) -> None:
        if p and c and p != c:
            said[(p, c)] = yes
            if yes:
                said.setdefault((c, p), False)

    files = sorted(EVAL.glob("*_prerequisites.tsv")) + [shared / "eval" / "dev_prerequisites.tsv"]
    for path in files:
        if not path.exists():
            continue
        yes = "_not_" not in path.name
        with open(path, encoding="utf-8") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                if len(row) >= 2 and not row[0].startswith("#") and row[0] != "prerequisite":
                    put(resolve(row[0]), resolve(row[1]), yes)
    for judged in sorted((EVAL / "paths").glob("*_design_*judgements.tsv")):
        for j in read_judgements(judged):
            if j.judgement in "PW":
                said[(j.item, j.concept)] = j.judgement == "P"
    for missing in sorted((EVAL / "paths").glob("*_design_missing.tsv")):
        for concept, item in read_missing(missing):
            put(item, concept, True)
    return said


def _refitted(glossary, candidates, answers: list[tuple[str, str, bool]]):
    """The DAG the glossary's model infers once refitted on the answers (as an ingest after
    ``kg review`` does, ``kg.prereqs.model.refit``), before the answers themselves are applied."""
    from kg.prereqs.learning import infer_prerequisites
    from kg.prereqs.model import load_model, model_path, refit

    rows = {pair: n for n, pair in enumerate(candidates.rows())}
    settled: dict[int, int] = {}
    for p, c, yes in answers:
        if (p, c) in rows:
            settled[rows[(p, c)]] = int(yes)
            if yes:
                settled[rows[(c, p)]] = 0
    model = refit(load_model(model_path(glossary.settings)), candidates.matrix, settled)
    return infer_prerequisites(glossary, model, candidates=candidates)


def _answered(dag, answers: list[tuple[str, str, bool]]):
    """The DAG with the answers applied as the author's corrections are."""
    from kg.prereqs.learning import CURATED_REASON, _break_cycles

    dag = dag.copy()
    for p, c, yes in answers:
        if yes:
            if dag.has_edge(c, p) and not dag.edges[c, p].get("curated"):
                dag.remove_edge(c, p)
            dag.add_edge(p, c, confidence=1.0, evidence="", reasons=(CURATED_REASON,), curated=True,
                         relation="stated", words="")
        elif dag.has_edge(p, c) and not dag.edges[p, c].get("curated"):
            dag.remove_edge(p, c)
    _break_cycles(dag)
    return dag


def play(corpus: Path, shared: Path, checkpoints: tuple[int, ...] = CHECKPOINTS,
         progress: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """The judged-path figures after each number of answers in ``checkpoints``."""
    from ingest import ingest_paths
    from kg.glossary import Glossary
    from kg.prereqs.judged import evaluate_paths, read_judgements, read_missing
    from kg.prereqs.learning import learning_path
    from kg.prereqs.review import MAX_QUESTIONS, review_questions
    from kg.settings import Settings

    progress(f"ingesting {corpus} ...")
    glossary = Glossary.from_ingest(ingest_paths([corpus]), Settings(semantic_index=False))

    def resolve(label: str) -> str | None:
        found = glossary.candidates(label.strip())
        return found[0].id if found else None

    labels = _labels(resolve, shared)
    progress("ranking the questions ...")
    questions = review_questions(glossary, limit=MAX_QUESTIONS)
    answers = [(q.prerequisite, q.concept, labels[(q.prerequisite, q.concept)]) for q in questions
               if (q.prerequisite, q.concept) in labels]
    judgements = [j for path in sorted((EVAL / "paths").glob("linked_heldout_*judgements.tsv"))
                  for j in read_judgements(path)]
    missing = read_missing(EVAL / "paths" / "linked_heldout_missing.tsv")
    from kg.prereqs.features import extract

    candidates = extract(glossary)
    rows = []
    for k in checkpoints:
        if k > len(answers) and rows and rows[-1]["answers"] == len(answers):
            break
        given = answers[:k]
        dag = _answered(_refitted(glossary, candidates, given) if given else glossary.prerequisites, given)
        metrics = evaluate_paths(lambda c, dag=dag: learning_path(dag, c).steps, judgements, missing).metrics
        rows.append({"answers": len(given), "yes": sum(1 for *_, yes in given if yes),
                     **{key: metrics[key] for key in ("wrong_listed", "genuine_listed", "clean_paths",
                                                       "median_length", "unjudged")}})
        progress(f"{len(given)} answers: {metrics['clean_paths']:.1%} clean paths")
    return {"questions": len(questions), "answerable": len(answers), "checkpoints": rows}


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{result['questions']} questions ranked, {result['answerable']} of them covered by the labels",
             "",
             "| answers | yes | wrong items still listed | genuine and missing listed | paths with no wrong item "
             "| median length | unjudged items |",
             "|---|---|---|---|---|---|---|"]
    for row in result["checkpoints"]:
        lines.append(f"| {row['answers']} | {row['yes']} | {row['wrong_listed']:.1%} | {row['genuine_listed']:.1%} "
                     f"| {row['clean_paths']:.1%} | {row['median_length']:g} | {int(row['unjudged'])} |")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["checkpoints"]
    x = [row["answers"] for row in rows]
    figure, axes = plt.subplots(figsize=(6.4, 3.6), dpi=120)
    for key, label in (("clean_paths", "paths with no wrong item"), ("genuine_listed", "genuine and missing listed"),
                       ("wrong_listed", "wrong items still listed")):
        axes.plot(x, [100 * row[key] for row in rows], marker="o", label=label)
    axes.set_xlabel("answers given (kg review, in its order)")
    axes.set_ylabel("% of the held-out judged paths")
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", bbox_to_anchor=(1.0, 0.8), fontsize=8)  # between the lines
    axes.set_title("What review buys (linked corpus, held-out judged paths)", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
