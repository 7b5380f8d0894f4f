"""Fitting the prerequisite model: weak supervision plus labelled pairs, scored leave-one-file-out.

Training examples are ordered candidate pairs (p, c) of real glossaries:

* **weak labels** come from the glossary's own high-precision cues. A label of c
  containing a label of p (Video Codec / Codec), c's definition naming p as its
  genus ("Xの一種", "a kind of X"), c an item of a list in p's definition
  ("主なモデル:" then "- c"), a SKOS ``broader``: each says (p, c) is a prerequisite
  and (c, p) is not. c's definition naming p only in a usage note or as a sibling
  ("pで一般的", "pと併用", "developed by p") says (p, c) is not;
* **labelled pairs** (``prerequisite<TAB>concept`` and ``not_prerequisite<TAB>concept``
  files) override them: a positive gives (p, c) = 1 and (c, p) = 0, a negative (n, c) = 0.

The model is a logistic regression (scikit-learn, L2, lbfgs: deterministic). Its
quality is measured by leaving one source file out at a time: the model is fitted on
the examples of every other file, the held-out file's labelled pairs are scored on
the learning paths it gives (``kg.search.evaluate``), and the folds are added up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.pipeline import ingest_paths
from kg.glossary import Glossary
from kg.prereqs.features import FEATURES, Candidates, extract
from kg.prereqs.learning import learning_path, prerequisite_graph
from kg.prereqs.model import PrerequisiteModel
from kg.search.evaluate import LabelledPair, PrerequisiteEvaluation, evaluate_prerequisites, read_pairs
from kg.settings import Settings

#: L2 strength of the logistic regression (scikit-learn's C: smaller is stronger).
REGULARIZATION = 1.0

_F = {name: i for i, name in enumerate(FEATURES)}


@dataclass
class Corpus:
    """One glossary prepared for training: its features and the source file of each concept."""

    name: str
    glossary: Any  # kg.Glossary
    candidates: Candidates
    file_of: dict[str, str]
    rows: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def build(cls, name: str, glossary) -> Corpus:
        candidates = extract(glossary)
        file_of = {cid: f"{name}:{c.sources[0].file}" if c.sources else name for cid, c in glossary.concepts.items()}
        rows = {pair: n for n, pair in enumerate(candidates.rows())}
        return cls(name, glossary, candidates, file_of, rows)

    def resolve(self, label: str) -> str | None:
        found = self.glossary.candidates(label)
        return found[0].id if found else None


@dataclass
class Example:
    corpus: int
    row: int
    label: int
    file: str
    labelled: bool


def weak_label(row: np.ndarray) -> int | None:
    """1 when the cues say p comes before c, 0 when they say c comes before p, else None.

    >>> import numpy as np
    >>> row = np.zeros(len(FEATURES)); row[_F["label_c"]] = 1
    >>> weak_label(row), weak_label(np.zeros(len(FEATURES)))
    (1, None)
    """
    votes = 0
    votes += row[_F["label_c"]] - row[_F["label_p"]]
    votes += row[_F["genus_c"]] - row[_F["genus_p"]]
    votes += row[_F["broader_c"]] - row[_F["broader_p"]]
    # c computed from p ("pの調和平均", "derived from p"), or p's definition saying c is
    # derived from it ("cはここから導出"): p first.
    votes += max(row[_F["derived_c"]], row[_F["here_p"]]) - max(row[_F["derived_p"]], row[_F["here_c"]])
    # c an item of a list in p's definition ("主なモデル:" then "- c"): p first.
    votes += max(row[_F["listed_p"]], row[_F["example_p"]]) - max(row[_F["listed_c"]], row[_F["example_c"]])
    if votes > 0:
        return 1
    if votes < 0:
        return 0
    # A usage note or a sibling ("Xで一般的", "Xと併用", "developed by X") and nothing more: no edge.
    strong = ("genus_c", "base_c", "fixes_c", "derived_c", "label_c", "broader_c")
    if max(row[_F["usage_c"]], row[_F["peer_c"]]) and not any(row[_F[name]] for name in strong):
        return 0
    return None


def examples(corpora: list[Corpus], positives: list[LabelledPair], negatives: list[LabelledPair]) -> list[Example]:
    """Weak examples of every corpus, overridden by the labelled pairs that resolve in it."""
    out: dict[tuple[int, int], Example] = {}
    for k, corpus in enumerate(corpora):
        for (_p, c), row in corpus.rows.items():
            label = weak_label(corpus.candidates.matrix[row])
            if label is not None:
                out[(k, row)] = Example(k, row, label, corpus.file_of[c], False)
    for pairs, positive in ((positives, True), (negatives, False)):
        for pair in pairs:
            for k, corpus in enumerate(corpora):
                p, c = corpus.resolve(pair.prerequisite), corpus.resolve(pair.concept)
                if p is None or c is None:
                    continue
                if (p, c) in corpus.rows:
                    out[(k, corpus.rows[(p, c)])] = Example(k, corpus.rows[(p, c)], int(positive),
                                                            corpus.file_of[c], True)
                    if positive:
                        out[(k, corpus.rows[(c, p)])] = Example(k, corpus.rows[(c, p)], 0, corpus.file_of[c], True)
                break  # a pair belongs to the first glossary that knows both terms
    return [out[key] for key in sorted(out)]


def fit(corpora: list[Corpus], chosen: list[Example], meta: dict[str, Any] | None = None) -> PrerequisiteModel:
    """Logistic regression on ``chosen`` examples."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([corpora[e.corpus].candidates.matrix[e.row] for e in chosen])
    y = np.asarray([e.label for e in chosen])
    if len(set(y)) < 2:
        raise ValueError("training needs examples of both classes")
    regression = LogisticRegression(C=REGULARIZATION, max_iter=5000)
    regression.fit(x, y)
    return PrerequisiteModel(regression.coef_[0].copy(), float(regression.intercept_[0]), dict(meta or {}))


def evaluate_model(corpus: Corpus, model: PrerequisiteModel, positives: list[LabelledPair],
                   negatives: list[LabelledPair], only_file: str | None = None, **path_options
                   ) -> PrerequisiteEvaluation:
    """Learning-path quality of ``model`` on the pairs whose concept is in this corpus
    (and in ``only_file``, when given)."""

    dag = prerequisite_graph(corpus.glossary, model, candidates=corpus.candidates)
    cache: dict[str, list[str]] = {}

    def path(cid: str) -> list[str]:
        if cid not in cache:
            cache[cid] = learning_path(dag, cid, **path_options).steps
        return cache[cid]

    def mine(pair: LabelledPair) -> bool:
        p, c = corpus.resolve(pair.prerequisite), corpus.resolve(pair.concept)
        return p is not None and c is not None and (only_file is None or corpus.file_of[c] == only_file)

    return evaluate_prerequisites([p for p in positives if mine(p)], path, corpus.resolve,
                                  [n for n in negatives if mine(n)])


def _first_corpus(corpora: list[Corpus], pair: LabelledPair) -> int | None:
    return next((k for k, corpus in enumerate(corpora)
                 if corpus.resolve(pair.prerequisite) and corpus.resolve(pair.concept)), None)


def leave_one_file_out(corpora: list[Corpus], positives: list[LabelledPair],
                       negatives: list[LabelledPair]) -> PrerequisiteEvaluation:
    """Each file's labelled pairs scored by a model fitted without that file's examples."""
    chosen = examples(corpora, positives, negatives)
    total = PrerequisiteEvaluation()
    files = sorted({corpora[k].file_of[c]
                    for pair in [*positives, *negatives]
                    if (k := _first_corpus(corpora, pair)) is not None
                    and (c := corpora[k].resolve(pair.concept)) is not None})
    for held in files:
        rest = [e for e in chosen if e.file != held]
        if len({e.label for e in rest}) < 2:
            continue  # nothing left to learn from without this file: the fold cannot be scored
        model = fit(corpora, rest)
        for k, corpus in enumerate(corpora):
            mine_pos = [p for p in positives if _first_corpus(corpora, p) == k]
            mine_neg = [n for n in negatives if _first_corpus(corpora, n) == k]
            if not any(corpus.file_of[corpus.resolve(p.concept)] == held for p in [*mine_pos, *mine_neg]):
                continue
            fold = evaluate_model(corpus, model, mine_pos, mine_neg, only_file=held)
            total.results += fold.results
            total.negatives += fold.negatives
    return total


def load_pairs(paths: list[Path]) -> list[LabelledPair]:
    return [pair for path in paths for pair in read_pairs(path)]


def train(corpora: list[Corpus], positives: list[LabelledPair], negatives: list[LabelledPair],
          sources: dict[str, Any] | None = None) -> PrerequisiteModel:
    """The model fitted on every example, with its training record in ``meta``."""
    chosen = examples(corpora, positives, negatives)
    counts = Counter((e.labelled, e.label) for e in chosen)
    meta = {
        "trained_on": sources or {},
        "examples": {
            "weak_positive": counts[(False, 1)],
            "weak_negative": counts[(False, 0)],
            "labelled_positive": counts[(True, 1)],
            "labelled_negative": counts[(True, 0)],
        },
        "regularization": REGULARIZATION,
    }
    return fit(corpora, chosen, meta)


# -- a recipe: the glossaries and labelled files of one model, in one file ----------------------


def read_recipe(path: Path, shared: Path | None = None, held_out: bool = True
                ) -> tuple[list[Path], list[Path], list[Path]]:
    """The glossaries, labelled prerequisites and labelled non-prerequisites a recipe file names
    (``eval/recipe.json`` is the shipped model's): paths relative to the file's folder, ``{shared}``
    for ``shared``, ``design`` and ``held_out`` as glob patterns there. ``held_out=False`` leaves
    the held-out halves out, as every design decision was taken without them.

    Raises:
        FileNotFoundError: the recipe, or a file or folder it names, is missing.
    """
    import json

    recipe = json.loads(Path(path).read_text(encoding="utf-8"))
    folder = Path(path).parent

    def resolve(name: str) -> Path:
        if "{shared}" not in name:
            return folder / name
        if shared is None:
            raise FileNotFoundError(f"{path} names the shared corpus ({name}): give its folder")
        # The shared folder as given (relative to where the command runs), not to the recipe.
        return Path(name.format(shared=Path(shared).resolve()))

    halves = [recipe["design"], *([recipe["held_out"]] if held_out else [])]
    corpora = [resolve(name) for name in recipe["corpora"]]
    positives = [resolve(name) for name in recipe["pairs"]]
    positives += [p for half in halves for p in sorted(folder.glob(half["pairs"]))]
    negatives = [p for half in halves for p in sorted(folder.glob(half["not_pairs"]))]
    for needed in [*corpora, *positives, *negatives]:
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing (named by {path})")
    return corpora, positives, negatives


def prepare(paths: list[Path]) -> list[Corpus]:
    """Each glossary ingested (graph only, no embeddings) and its features extracted."""

    settings = Settings(semantic_index=False)
    return [Corpus.build(path.name, Glossary.from_ingest(ingest_paths([path], settings), settings)) for path in paths]


def fit_recipe(corpus_paths: list[Path], pair_paths: list[Path], negative_paths: list[Path], output: Path,
               cv: bool = True, progress=None) -> dict[str, Any]:
    """Train on the given glossaries and labelled files, write the model to ``output``,
    and return a report: leave-one-file-out and training-set quality, examples, weights."""
    say = progress or (lambda _text: None)
    corpora = prepare(corpus_paths)
    positives, negatives = load_pairs(pair_paths), load_pairs(negative_paths)
    say(f"{len(corpora)} glossaries, {sum(len(c.candidates.pairs) for c in corpora)} candidate pairs; "
        f"{len(positives)} labelled prerequisites, {len(negatives)} labelled non-prerequisites")
    report: dict[str, Any] = {}
    if cv:
        lofo = leave_one_file_out(corpora, positives, negatives)
        report["leave_one_file_out"] = lofo.metrics
        say("leave-one-file-out: " + lofo.to_text().replace("\n", "\n  "))
    sources = {
        "corpora": [_relative(p) for p in corpus_paths],
        "pairs": [_relative(p) for p in pair_paths],
        "not_pairs": [_relative(p) for p in negative_paths],
    }
    model = train(corpora, positives, negatives, sources)
    if cv:
        model.meta["leave_one_file_out"] = {k: round(v, 4) for k, v in report["leave_one_file_out"].items()}
    model.save(output)
    report["examples"] = model.meta["examples"]
    report["weights"] = dict(zip(FEATURES, (round(float(c), 3) for c in model.coef), strict=True))
    report["intercept"] = round(model.intercept, 3)
    report["output"] = str(output)
    say("weights: " + ", ".join(f"{k} {v:+.2f}" for k, v in report["weights"].items() if abs(v) >= 0.005))
    say(f"wrote {output}")
    return report


def _relative(path: Path) -> str:
    """A path as recorded in the model: relative to the working folder when inside it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
