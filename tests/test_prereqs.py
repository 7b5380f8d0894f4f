"""Prerequisites: the fitted model, the DAG, ranked learning paths, curated edges, quality."""
from __future__ import annotations

import functools
import itertools
import json
import math
import time
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner

from api.cli import cli
from ingest import ingest_paths
from kg import Glossary, Settings
from kg.errors import BadParameterError, NotFoundError
from kg.prereqs.features import FEATURES, candidate_pairs, extract, label_containments
from kg.prereqs.learning import (
    BACKGROUND_LIMIT,
    CHAIN_FLOOR,
    CURATED_REASON,
    HOP_DECAY,
    background_terms,
    chainable,
    learning_path,
)
from kg.prereqs.model import MODEL_PATH, PrerequisiteModel, load_model
from kg.search.evaluate import evaluate_prerequisites, read_pairs

EVAL = Path(__file__).resolve().parent.parent / "eval"  # the labelled pairs, and recipe.json
GRAPH_ONLY = Settings(semantic_index=False)


def _glossary(path: Path) -> Glossary:
    return Glossary.from_ingest(ingest_paths([path]), GRAPH_ONLY)


@pytest.fixture(scope="module")
def corpus(linked_corpus) -> Glossary:
    return _glossary(linked_corpus)


def _evaluate(glossary: Glossary, pairs: Path, negatives: Path | None = None):
    def resolve(label):
        found = glossary.candidates(label)
        return found[0].id if found else None

    return evaluate_prerequisites(read_pairs(pairs), lambda cid: [s["id"] for s in glossary.learning_path(cid)["path"]],
                                  resolve, read_pairs(negatives) if negatives else []).metrics


# -- quality -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recipe(linked_corpus):
    from kg.prereqs.training import load_pairs, prepare, read_recipe

    corpora, positives, negatives = read_recipe(EVAL / "recipe.json", shared=linked_corpus.parents[2])
    return prepare(corpora), load_pairs(positives), load_pairs(negatives)


def test_leave_one_file_out_quality(recipe):
    """Each file's labelled pairs scored by a model that never saw that file's examples
    (every labelled pair of the recipe: 220 prerequisites, 161 non-prerequisites)."""
    from kg.prereqs.training import leave_one_file_out

    corpora, positives, negatives = recipe
    metrics = leave_one_file_out(corpora, positives, negatives).metrics
    assert metrics["pairs"] >= 210 and metrics["negatives"] >= 150, metrics
    # 69.2% since application, feature and merit lists stopped counting as lists of kinds (70.4%
    # before): pairs such as Deep Learning before NLP, which the judged paths call background.
    # 62.7% since paths go past a direct prerequisite only through strong is-a, part, derived-from
    # and built-on edges (issue 23): the judged paths lost nine in ten of their wrong items, and
    # the pairs lost are far ancestors reached through weak or non-structural chains.
    assert metrics["correct"] >= 0.60 and metrics["reversed"] <= 0.06, metrics
    assert metrics["precision"] >= 0.75 and metrics["median_path_length"] <= 12, metrics


def test_every_labelled_pair_names_two_known_terms(recipe):
    """A pair that does not resolve would be skipped silently by training and scoring."""
    from kg.prereqs.training import _first_corpus

    _corpora, positives, negatives = recipe
    assert len(positives) >= 260 and len(negatives) >= 190
    unresolved = [pair for pair in [*positives, *negatives] if _first_corpus(recipe[0], pair) is None]
    assert unresolved == []


@pytest.mark.parametrize("split, pairs, negatives, correct, precision", [
    # The first held-out half (scored five times, see the README) and the second and third
    # sets, written later and each scored once before joining the shipped model's training
    # data. The third was written from textbook knowledge, not from the definitions: most
    # of its pairs are connected by no definition, hence its low level.
    ("heldout", 40, 50, 0.5, 0.75),
    ("round2_heldout", 35, 30, 0.45, 0.8),
    ("round3_heldout", 40, 30, 0.2, 0.8),
])
def test_held_out_split(linked_corpus, split, pairs, negatives, correct, precision):
    """A held-out split of our labelled pairs, scored by a model fitted without any of them
    (as the README reports): a regression guard at the level measured, not a target tuned to."""
    from kg.prereqs.training import evaluate_model, load_pairs, prepare, read_recipe, train

    corpora_paths, positive_paths, negative_paths = read_recipe(EVAL / "recipe.json", shared=linked_corpus.parents[2],
                                                                held_out=False)
    assert not any("heldout" in path.name for path in [*positive_paths, *negative_paths])
    corpora = prepare(corpora_paths)
    model = train(corpora, load_pairs(positive_paths), load_pairs(negative_paths))
    metrics = evaluate_model(corpora[0], model, read_pairs(EVAL / f"{split}_prerequisites.tsv"),
                             read_pairs(EVAL / f"{split}_not_prerequisites.tsv")).metrics
    assert metrics["pairs"] >= pairs and metrics["negatives"] >= negatives, metrics
    assert metrics["correct"] >= correct and metrics["reversed"] <= 0.12, metrics
    assert metrics["precision"] >= precision and metrics["median_path_length"] <= 12, metrics


def test_shared_dev_pairs(corpus, eval_dir):
    metrics = _evaluate(corpus, eval_dir / "dev_prerequisites.tsv")
    assert metrics["pairs"] == 11 and metrics["correct"] >= 10 / 11 and metrics["reversed"] == 0, metrics
    assert metrics["median_path_length"] <= 12, metrics


def test_the_raw_form_gives_the_same_answers(raw_corpus, eval_dir):
    metrics = _evaluate(_glossary(raw_corpus), eval_dir / "dev_prerequisites.tsv")
    assert metrics["correct"] >= 10 / 11 and metrics["median_path_length"] <= 12, metrics


def test_english_glossary_gets_prerequisites_without_japanese_cues(fixtures):
    glossary = _glossary(fixtures / "english")
    assert glossary.prerequisites.number_of_edges() >= 20
    metrics = _evaluate(glossary, EVAL / "english_design_prerequisites.tsv")
    assert metrics["correct"] >= 0.7 and metrics["reversed"] == 0, metrics


# -- the model ---------------------------------------------------------------------------------


def test_shipped_model_is_what_training_on_the_recipe_gives(recipe):
    """Training is deterministic and the packaged weights are reproducible from the repo."""
    from kg.prereqs.training import train

    corpora, positives, negatives = recipe
    first, second = train(corpora, positives, negatives), train(corpora, positives, negatives)
    assert np.array_equal(first.coef, second.coef) and first.intercept == second.intercept
    shipped = load_model()
    assert np.allclose(shipped.coef, first.coef, atol=1e-5), "retrain: kg train-prereqs"
    assert shipped.meta["examples"] == first.meta["examples"]


def test_model_file_for_other_features_is_refused(tmp_path):
    from kg.errors import KGError

    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    (tmp_path / "m.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KGError, match="kg train-prereqs"):
        load_model(tmp_path / "m.json")


def test_features_read_the_cues(corpus):
    candidates = extract(corpus)
    rows = {pair: n for n, pair in enumerate(candidates.rows())}
    column = {name: i for i, name in enumerate(FEATURES)}

    def row(p, c):
        return candidates.matrix[rows[(p, c)]]

    assert row("precision", "f1-score")[column["derived_c"]] == 1  # 適合率と再現率の調和平均
    assert row("codec", "video-codec")[column["label_c"]] == 1
    assert row("rnn", "long-short-term-memory")[column["genus_c"]] == 1  # …の一種
    # "適合率、再現率、F値はここから導出": derived from the confusion matrix, not the other way.
    assert row("confusion-matrix", "precision")[column["here_p"]] == 1
    assert row("precision", "confusion-matrix")[column["derived_c"]] == 0
    # Optimizer's usage note "LLMで最も一般的" is a usage, not a base.
    assert row("large-language-model", "optimizer")[column["usage_c"]] == 1


def test_label_containment_pairs_go_through_the_nearest_label(tmp_path):
    """A label held by a label that holds it again makes no pair of its own: the chain
    through the middle label leads there. Two concepts that hold each other are no
    middle for one another."""
    (tmp_path / "g.md").write_text(
        "## Model\n\n- A function fitted to data.\n\n## Language Model\n\n- Predicts the next token.\n\n"
        "## Large Language Model\n\n- Trained on a web-scale corpus.\n\n"
        "## Net | Deep Net Model\n\n- Stacked layers.\n\n## Deep Net\n\n- Many layers.\n\n"
        "## Deep Net Model Zoo\n\n- A collection of trained ones.\n", encoding="utf-8")
    glossary = _glossary(tmp_path)
    contained = label_containments(glossary)
    assert ("large-language-model", "model") in contained
    assert {("net", "deep-net"), ("deep-net", "net")} <= contained  # each holds a label of the other
    pairs = candidate_pairs(glossary, contained)
    assert ("language-model", "large-language-model") in pairs and ("language-model", "model") in pairs
    assert ("large-language-model", "model") not in pairs
    assert ("deep-net", "deep-net-model-zoo") in pairs and ("deep-net-model-zoo", "net") in pairs
    path = glossary.learning_path("Large Language Model")
    assert [item["id"] for item in path["path"]] == ["model", "language-model"]
    assert [step["concept"] for step in path["path"][0]["chain"]] == ["language-model", "large-language-model"]


@pytest.mark.parametrize("seed", range(4))
def test_refd_counts_the_paths_of_its_definition(seed):
    """RefD as counted along the shorter adjacency list equals RefD by its definition, on
    random graphs with hubs (so that both lists are walked)."""
    from kg.prereqs.features import _refd

    rng = np.random.default_rng(seed)
    ids = [f"c{i}" for i in range(60)]
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    weights = 1.0 / np.arange(1, 61) ** 1.2  # a few concepts get most links, both ways
    for _ in range(400):
        a, b = rng.choice(60, size=2, replace=False, p=weights / weights.sum())
        graph.add_edge(ids[a], ids[b])

    def share(x, y):
        refs = set(graph.succ[x]) - {y}
        return sum(y in graph.succ[z] for z in refs) / len(refs) if refs else 0.0

    first, second = rng.integers(0, 60, size=(2, 300))
    keep = first != second
    first, second = first[keep], second[keep]
    expected = [share(ids[a], ids[b]) - share(ids[b], ids[a]) for a, b in zip(first, second, strict=True)]
    assert np.allclose(_refd(graph, ids, first, second), expected)
    assert np.count_nonzero(expected) > 50


# -- the DAG -----------------------------------------------------------------------------------


def test_the_graph_is_a_dag_with_evidence(corpus):
    dag = corpus.prerequisites
    assert nx.is_directed_acyclic_graph(dag)
    assert dag.number_of_edges() > 100
    for _u, _v, data in dag.edges(data=True):
        assert 0 < data["confidence"] <= 1 and data["reasons"] and data["curated"] is False
    edge = dag.edges["overfitting", "dropout"]
    assert "過学習" in edge["evidence"]


def test_cycle_breaking_is_exact_on_the_real_glossary(corpus):
    """Every cycle check in the linked corpus can search its whole tangle: ``SEARCH_LIMIT``
    (which drops an edge whose check would search more) only binds in giant synthetic tangles."""
    from kg.prereqs.learning import SEARCH_LIMIT, infer_prerequisites

    tangles = nx.strongly_connected_components(infer_prerequisites(corpus))
    assert 2 < max(map(len, tangles)) < SEARCH_LIMIT


def test_a_usage_note_is_no_prerequisite(corpus):
    path = corpus.learning_path("Optimizer")
    ids = [s["id"] for s in path["path"]]
    assert {"loss-function", "weight"} <= set(ids)
    assert not {"large-language-model", "nlp", "inference", "token"} & set(ids), ids
    assert not corpus.prerequisites.has_edge("large-language-model", "optimizer")


def test_every_item_says_why(corpus):
    for term in ("Optimizer", "BERT", "F1 Score", "Dropout"):
        path = corpus.learning_path(term)
        for item in path["path"]:
            assert item["reason"] and 0.5 <= item["score"] <= 1, item
            chain = item["chain"]
            assert chain[0]["prerequisite"] == item["id"] and chain[-1]["concept"] == path["concept"]["id"]
            assert all(a["concept"] == b["prerequisite"] for a, b in zip(chain, chain[1:], strict=False))
            assert len(chain) == 1 or not item["direct"]
    recall = next(s for s in corpus.learning_path("F1 Score")["path"] if s["id"] == "recall")
    assert "調和平均" in recall["chain"][0]["evidence"] and "is derived from Recall" in recall["reason"]
    assert recall["chain"][0]["relation"] == "derived-from" and "調和平均" in recall["chain"][0]["words"]


def test_one_weak_edge_never_brings_in_a_subtree():
    dag = nx.DiGraph()
    edge = {"evidence": "", "reasons": ("x",), "curated": False, "relation": "is-a"}
    dag.add_edge("basis", "topic", confidence=0.95, **edge)
    dag.add_edge("aside", "topic", confidence=0.55, **edge)  # a weak, maybe wrong, edge
    for n in range(10):  # with a whole subtree behind it
        dag.add_edge(f"hub{n}", "aside", confidence=0.95, **edge)
    path = learning_path(dag, "topic")
    assert path.steps == ["aside", "basis"] or path.steps == ["basis", "aside"]
    # A path does not go on past a weak edge: its subtree is not even left out (no --limit or
    # --min-confidence would bring it in).
    assert path.cut == 0 and learning_path(dag, "topic", min_confidence=0.0, limit=200).steps == path.steps


def test_limit_keeps_direct_prerequisites_and_ranks_the_rest():
    dag = nx.DiGraph()
    edge = {"evidence": "", "reasons": ("x",), "curated": False, "relation": "is-a"}
    for n in range(5):
        dag.add_edge(f"d{n}", "topic", confidence=0.9, **edge)
        dag.add_edge(f"a{n}", f"d{n}", confidence=0.9 - n / 100, **edge)
    path = learning_path(dag, "topic", limit=7)
    assert set(path.steps) == {f"d{n}" for n in range(5)} | {"a0", "a1"}
    assert path.steps.index("a0") < path.steps.index("d0")  # basics first
    assert set(learning_path(dag, "topic", limit=2).steps) == {f"d{n}" for n in range(5)}
    assert learning_path(dag, "topic", min_confidence=0.95).steps == []
    for bad in ({"limit": 0}, {"min_confidence": 1.5}, {"depth": -1}):
        with pytest.raises(BadParameterError):
            learning_path(dag, "topic", **bad)


def test_known_concepts_and_what_only_they_need_drop_out(corpus):
    full = [s["id"] for s in corpus.learning_path("Dropout")["path"]]
    assert "overfitting" in full
    without = corpus.learning_path("Dropout", known=["過学習"])
    ids = [s["id"] for s in without["path"]]
    # What overfitting needs is known too (a reader who knows a term knows its prerequisites).
    needs = nx.ancestors(corpus.prerequisites, "overfitting")
    assert "overfitting" not in ids and "overfitting" in [k["id"] for k in without["known"]]
    assert {k["id"] for k in without["known"]} <= needs | {"overfitting"} and not needs & set(ids)
    for item in without["path"]:  # no chain goes through what the reader knows
        assert "overfitting" not in {edge["prerequisite"] for edge in item["chain"]}


def test_depth_limits_and_order_is_basics_first(corpus):
    direct = corpus.learning_path("BERT", depth=1)
    assert {s["id"] for s in direct["path"]} <= set(corpus.prerequisites.predecessors("bert"))
    assert all(s["direct"] for s in direct["path"])
    path = [s["id"] for s in corpus.learning_path("BERT")["path"]]
    position = {cid: n for n, cid in enumerate(path)}
    for u, v in corpus.prerequisites.subgraph(path).edges:
        assert position[u] < position[v]  # every prerequisite comes before what needs it
    with pytest.raises(BadParameterError):
        corpus.learning_path("BERT", depth=-1)


def test_unknown_terms(corpus):
    with pytest.raises(NotFoundError) as raised:
        corpus.learning_path("Dropuot")
    assert raised.value.details["suggestions"][0]["id"] == "dropout"
    with pytest.raises(BadParameterError) as raised:
        corpus.learning_path("Dropout", known=["nothing like this"])
    assert raised.value.details["parameter"] == "known"


def test_cycles_and_self_links_never_hang(tmp_path):
    (tmp_path / "g.md").write_text(
        "## Alpha\n\n- Alpha uses Beta. See Alpha.\n\n## Beta\n\n- Beta uses Gamma and Alpha.\n\n"
        "## Gamma\n\n- Gamma uses Alpha and Beta.\n", encoding="utf-8")
    glossary = _glossary(tmp_path)
    start = time.monotonic()
    assert nx.is_directed_acyclic_graph(glossary.prerequisites)
    for name in ("Alpha", "Beta", "Gamma"):
        path = glossary.learning_path(name)
        assert name.lower() not in [s["id"] for s in path["path"]]
    assert time.monotonic() - start < 5


def _reference_ranking(dag, concept, known, depth, min_confidence):
    """Every chain of every ancestor enumerated (small graphs only): the ancestors whose best
    chain of at most ``depth`` steps avoiding ``known`` reaches the floor, their chains taken
    together by the noisy-OR recursion over those ancestors, the best chain of each, and the
    ancestor count."""
    best: dict[str, float] = {}
    reachable: set[str] = set()
    known = set(known)
    for term in list(known):  # a reader who knows a term knows what it needs
        known |= nx.ancestors(dag, term) - {concept}

    expandable: set[str] = set()  # reached by a chain of chainable edges only: a path goes on past them

    def walk(node, score, steps, seen):
        for prereq in dag.predecessors(node):
            if prereq in known or prereq in seen or (depth is not None and steps >= depth):
                continue
            strong = chainable(dag.edges[prereq, node])
            if node != concept and not strong:
                continue  # past a direct prerequisite, only strong structural edges
            reachable.add(prereq)
            new = score * dag.edges[prereq, node]["confidence"] * (HOP_DECAY if steps else 1.0)
            best[prereq] = max(best.get(prereq, 0.0), new)
            if strong:  # a direct edge of another relation is listed, and the path stops there
                expandable.add(prereq)
                walk(prereq, new, steps + 1, seen | {prereq})

    walk(concept, 1.0, 0, {concept})
    counted = {n for n, s in best.items() if s >= min(min_confidence, CHAIN_FLOOR)}

    @functools.cache
    def together(node):
        if node == concept:
            return 1.0
        miss = 1.0
        for after in dag.successors(node):
            if after == concept or after in counted and after in expandable and chainable(dag.edges[node, after]):
                miss *= 1 - together(after) * dag.edges[node, after]["confidence"] * (
                    HOP_DECAY if after != concept else 1.0)
        return 1 - miss

    hubs = background_terms(dag)  # listed apart unless direct
    scores = {n: together(n) for n in counted if together(n) >= min_confidence
              and (n not in hubs or dag.has_edge(n, concept))}
    routes = {n: sum(1 for a in dag.successors(n)
                     if a == concept or a in counted and a in expandable and chainable(dag.edges[n, a]))
              for n in scores}
    # What the path's rule reaches within depth (direct prerequisites, chainable chains): those
    # not listed are left out.
    background = [h for h in sorted(hubs) if h in counted and h not in scores
                  and together(h) >= min_confidence][:BACKGROUND_LIMIT]
    return scores, {n: best[n] for n in scores}, routes, len(reachable) - len(background), known


@pytest.mark.parametrize("seed", range(12))
def test_ranked_path_equals_every_chain_enumerated(seed):
    """The pruned search (it stops where chains fall below the floor, combines chains in
    Kahn's order and counts the ancestors with the array index) gives what enumerating
    every chain gives."""
    rng = np.random.default_rng(seed)
    dag = nx.DiGraph()
    edge = {"evidence": "", "reasons": ("x",), "curated": False, "relation": "is-a"}
    nodes = [f"n{i}" for i in range(14)]
    dag.add_nodes_from(nodes)
    for i in range(len(nodes)):  # edges go from a lower to a higher number: a DAG
        for j in range(i + 1, len(nodes)):
            if rng.random() < 0.3:
                dag.add_edge(nodes[i], nodes[j], confidence=float(rng.uniform(0.1, 1.0)), **edge)
    for concept in nodes[7:]:
        for known in (set(), {nodes[int(rng.integers(0, 7))]}):
            for depth in (None, 1, 2):
                for min_confidence in (0.0, 0.3, 0.5):
                    path = learning_path(dag, concept, known, depth, limit=200, min_confidence=min_confidence)
                    scores, best, routes, ancestors, knows = _reference_ranking(dag, concept, known, depth,
                                                                                min_confidence)
                    assert {item.id: round(item.score, 9) for item in path.items} == {
                        n: round(s, 9) for n, s in scores.items()}
                    assert {item.id: item.routes for item in path.items} == routes
                    assert path.cut == ancestors - len(scores)
                    assert path.known == sorted(knows & nx.ancestors(dag, concept))
                    for item in path.items:
                        assert depth is None or len(item.chain) <= depth
                        assert item.chain[0].prerequisite == item.id and item.chain[-1].concept == concept
                        assert all(a.concept == b.prerequisite for a, b in itertools.pairwise(item.chain))
                        assert not knows & {e.prerequisite for e in item.chain}
                        strength = math.prod(e.confidence for e in item.chain) * HOP_DECAY ** (len(item.chain) - 1)
                        assert strength == pytest.approx(best[item.id])  # the chain shown is the strongest


def test_a_term_several_chains_lead_to_outranks_one_a_single_chain_reaches():
    dag = nx.DiGraph()
    edge = {"evidence": "", "reasons": ("x",), "curated": False, "relation": "is-a"}
    for a, b, confidence in [("basic", "left", 0.85), ("basic", "right", 0.85), ("left", "goal", 0.9),
                             ("right", "goal", 0.9), ("single", "left", 0.9)]:
        dag.add_edge(a, b, confidence=confidence, **edge)
    # One chain each: basic 0.85 * 0.9 * 0.8 = 0.612 < single 0.9 * 0.9 * 0.8 = 0.648; but
    # basic's two chains together make 1 - (1 - 0.612)^2 = 0.849, so it takes the one place
    # the two direct prerequisites leave under limit=3.
    path = learning_path(dag, "goal", limit=3)
    assert path.steps == ["basic", "left", "right"]
    basic = path.items[0]
    assert basic.score == pytest.approx(1 - (1 - 0.612) ** 2)
    assert basic.routes == 2
    assert path.cut == 1
    glossary = SimpleNamespace(concepts={n: SimpleNamespace(name=n.title(), pref_labels=lambda: {})
                                         for n in dag})
    assert path.to_dict(glossary)["path"][0]["reason"] == "for Left → Goal: x (and 1 other route)"
    assert [item.routes for item in learning_path(dag, "goal").items if item.id == "single"] == [1]


def test_learning_path_on_an_isolated_concept_is_empty():
    dag = nx.DiGraph()
    dag.add_node("solo")
    assert learning_path(dag, "solo").steps == []


def test_concept_view_lists_prerequisites_and_dependents(corpus):
    view = corpus.concept_view("Overfitting")
    assert "dropout" in {d["id"] for d in view["dependents"]}
    assert all(p["evidence"] is not None and p["curated"] is False for p in view["prerequisites"])


# -- curated prerequisites -------------------------------------------------------------------

CURATED = """\
## Loss Function

- A function that measures how far predictions are from the answers.

## Gradient Descent

- An optimizer that follows the gradient of the Loss Function downhill.

## Learning Rate

- The step size of Gradient Descent.

## Momentum

- A variant of Gradient Descent that keeps a running average of past steps.
- Prerequisites: Learning Rate

## Regularization

- A penalty added to the Loss Function to keep weights small.
"""


def test_the_authors_word_wins(tmp_path):
    (tmp_path / "g.md").write_text(CURATED, encoding="utf-8")
    inferred = _glossary(tmp_path).prerequisites
    assert inferred.has_edge("loss-function", "regularization")
    (tmp_path / "kg-prerequisites.yaml").write_text(
        "Regularization:\n  reject: [Loss Function]\nLoss Function:\n  confirm: [Regularization]\n", encoding="utf-8")
    glossary = _glossary(tmp_path)
    dag = glossary.prerequisites
    assert dag.edges["learning-rate", "momentum"]["curated"] is True  # the bullet
    assert dag.edges["learning-rate", "momentum"]["reasons"] == (CURATED_REASON,)
    # Confirmed against the inferred direction: the inferred edge gives way.
    assert dag.edges["regularization", "loss-function"]["curated"] is True
    assert not dag.has_edge("loss-function", "regularization")
    assert nx.is_directed_acyclic_graph(dag)
    item = next(s for s in glossary.learning_path("Momentum")["path"] if s["id"] == "learning-rate")
    assert item["curated"] and item["score"] == 1.0 and item["chain"][0]["curated"]
    view = glossary.concept_view("Momentum")
    assert {"id": "learning-rate", "curated": True}.items() <= next(
        p for p in view["prerequisites"] if p["id"] == "learning-rate").items()


def test_curated_edges_are_marked_in_the_export_and_survive_import(tmp_path):
    from rdflib.compare import isomorphic

    from ingest.skos import parse_skos
    from kg.rdf.skos import KGV

    (tmp_path / "g.md").write_text(CURATED, encoding="utf-8")
    glossary = _glossary(tmp_path)
    graph = glossary.to_rdf()
    momentum, rate = glossary.uri("momentum"), glossary.uri("learning-rate")
    stated = {(str(s), str(o)) for s, o in graph.subject_objects(KGV.prerequisite)}
    inferred = {(str(s), str(o)) for s, o in graph.subject_objects(KGV.inferredPrerequisite)}
    assert stated == {(glossary.uri(v), glossary.uri(u)) for u, v in glossary.prerequisites.edges}
    assert (momentum, rate) in stated and (momentum, rate) not in inferred  # curated: plain kgv:prerequisite
    assert inferred == stated - {(momentum, rate)}
    data, _ = glossary.export("turtle")
    again = parse_skos(data, "g.ttl", namespace=glossary.settings.namespace)
    reimported = Glossary(again.concepts, again.collections)
    assert reimported.prerequisites.edges["learning-rate", "momentum"]["curated"] is True
    assert isomorphic(graph, reimported.to_rdf())


def test_export_carries_prerequisites(fixtures):
    from kg.rdf.skos import KGV

    glossary = _glossary(fixtures / "glossary")
    graph = glossary.to_rdf()
    stated = {(str(s), str(o)) for s, o in graph.subject_objects(KGV.prerequisite)}
    expected = {(glossary.uri(v), glossary.uri(u)) for u, v in glossary.prerequisites.edges}
    assert stated == expected and stated


# -- command line --------------------------------------------------------------------------------


def test_cli_prereqs_and_eval(tmp_path, linked_corpus, eval_dir):
    runner = CliRunner()
    store = str(tmp_path / "store")
    assert runner.invoke(cli, ["ingest", str(linked_corpus), "--store", store]).exit_code == 0
    text = runner.invoke(cli, ["prereqs", "Dropout", "--store", store])
    assert text.exit_code == 0 and "Before Dropout, learn" in text.output and "[overfitting]" in text.output
    assert "for Dropout:" in text.output  # each item's reason
    data = json.loads(runner.invoke(cli, ["prereqs", "Dropout", "--known", "過学習", "--json",
                                          "--store", store]).output)
    assert "overfitting" not in [s["id"] for s in data["path"]]
    short = json.loads(runner.invoke(cli, ["prereqs", "BERT", "--limit", "1", "--min-confidence", "0.9", "--json",
                                           "--store", store]).output)
    assert all(s["direct"] and s["score"] >= 0.9 for s in short["path"]) and short["min_confidence"] == 0.9
    evaluation = runner.invoke(cli, ["eval-prereqs", str(eval_dir / "dev_prerequisites.tsv"), "--store", store])
    assert evaluation.exit_code == 0 and "correct" in evaluation.output
    assert "median learning-path length" in evaluation.output
    metrics = json.loads(runner.invoke(cli, ["eval-prereqs", str(EVAL / "design_prerequisites.tsv"), "--not-pairs",
                                             str(EVAL / "design_not_prerequisites.tsv"), "--json",
                                             "--store", store]).output)["metrics"]
    assert metrics["negatives"] >= 40 and 0 < metrics["precision"] <= 1

    # --model: the DAG another model infers from the store's concepts. The shipped model gives
    # the store's own answers; a model fitted without the held-out pairs gives the held-out
    # figures the README reports (those of kg.prereqs.training.evaluate_model).
    held_out = [str(EVAL / "heldout_prerequisites.tsv"), "--not-pairs", str(EVAL / "heldout_not_prerequisites.tsv")]

    def scored(*options: str) -> dict:
        result = runner.invoke(cli, ["eval-prereqs", *held_out, "--json", "--store", store, *options])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["metrics"]

    assert scored("--model", str(MODEL_PATH)) == scored()
    design = tmp_path / "design.json"
    trained = runner.invoke(cli, ["train-prereqs", "--recipe", str(EVAL / "recipe.json"), "--shared",
                                  str(linked_corpus.parents[2]), "--design-only", "--no-cv", "--output", str(design)])
    assert trained.exit_code == 0, trained.output
    from kg.prereqs.training import evaluate_model, load_pairs, prepare

    corpus = prepare([linked_corpus])[0]
    expected = evaluate_model(corpus, load_model(design), load_pairs([EVAL / "heldout_prerequisites.tsv"]),
                              load_pairs([EVAL / "heldout_not_prerequisites.tsv"])).metrics
    assert scored("--model", str(design)) == pytest.approx(expected)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**json.loads(design.read_text()), "features": ["uses_c"]}))
    refused = runner.invoke(cli, ["eval-prereqs", *held_out, "--store", store, "--model", str(other)])
    assert refused.exit_code != 0 and "kg train-prereqs" in refused.output


def test_train_prereqs_writes_a_model(tmp_path, fixtures):
    out = tmp_path / "model.json"
    result = CliRunner().invoke(cli, [
        "train-prereqs", "--corpus", str(fixtures / "english"), "--corpus", str(fixtures / "glossary"),
        "--pairs", str(EVAL / "english_design_prerequisites.tsv"),
        "--not-pairs", str(EVAL / "english_design_not_prerequisites.tsv"), "--output", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["weights"]) == set(FEATURES) and report["leave_one_file_out"]["pairs"] > 0
    model = load_model(out)
    assert isinstance(model, PrerequisiteModel) and model.meta["trained_on"]["corpora"]


def test_a_recipe_reads_the_shared_folder_relative_to_where_the_command_runs(tmp_path, monkeypatch, linked_corpus):
    # `kg train-prereqs --recipe eval/recipe.json --shared ../shared`, as the docs write it, from a checkout.
    from kg.prereqs.training import read_recipe

    shared = linked_corpus.parents[2]
    monkeypatch.chdir(shared.parent)
    corpora, positives, _ = read_recipe(EVAL / "recipe.json", shared=Path(shared.name))
    assert corpora[0] == linked_corpus.resolve() and corpora[0].is_dir()
    assert positives[0] == (shared / "eval" / "dev_prerequisites.tsv").resolve()


def test_a_term_named_only_in_a_worked_example_is_no_prerequisite(tmp_path):
    # 形態素解析's "例:" bullet holds the sentence 私は自然言語処理が好きです: text being
    # analysed, not a use of NLP. It had made morphological analysis a "basic" of NLP and of
    # every LLM term below it (read as a list of kinds).
    from ingest import ingest_paths
    from kg import Glossary

    (tmp_path / "nlp.md").write_text(
        "## 自然言語処理 | Natural Language Processing\n\n- 人間の言語を計算機で扱う分野。\n\n"
        "## 形態素解析 | Morphological Analysis\n\n- テキストを形態素に分割する処理。\n- 例:\n"
        "  - 私は自然言語処理が好きです\n\n"
        "## 大規模言語モデル | Large Language Model\n\n- 自然言語処理の深層学習モデル。\n", encoding="utf-8")
    glossary = Glossary.from_ingest(ingest_paths([tmp_path]))
    nlp, analysis = glossary.get("Natural Language Processing").id, glossary.get("Morphological Analysis").id
    assert not glossary.prerequisites.has_edge(analysis, nlp)
    assert analysis not in [item["id"] for item in glossary.learning_path("Large Language Model")["path"]]


def test_an_application_or_feature_list_is_no_list_of_kinds(tmp_path):
    # "応用分野:" under Deep Learning, a tool's "LoRA対応" bullet: the concept is used there or
    # supports it; neither item is one of its kinds, so the concept is not their prerequisite.
    from ingest import ingest_paths
    from kg import Glossary

    (tmp_path / "dl.md").write_text(
        "## 機械学習 | Machine Learning\n\n- データから規則を学ぶ手法。\n\n"
        "## 深層学習 | Deep Learning\n\n- 多層のニューラルネットワークを用いる機械学習の一分野。\n- 応用分野:\n"
        "  - 自然言語処理: 翻訳や要約。\n  - 画像分類: 物体の認識。\n\n"
        "## 自然言語処理 | Natural Language Processing\n\n- 人間の言語を計算機で扱う分野。\n\n"
        "## 画像分類 | Image Classification\n\n- 画像にラベルを付けるタスク。\n\n"
        "## LoRA | Low-Rank Adaptation\n\n- 重みの差分を低ランク行列で学習する微調整手法。\n\n"
        "## vLLM\n\n- LLMの推論サーバ。\n- 主な機能:\n  - LoRA対応\n", encoding="utf-8")
    glossary = Glossary.from_ingest(ingest_paths([tmp_path]))
    dag = glossary.prerequisites
    dl = glossary.get("Deep Learning").id
    for applied in ("Natural Language Processing", "Image Classification"):
        assert not dag.has_edge(dl, glossary.get(applied).id), applied
    assert not dag.has_edge(glossary.get("vLLM").id, glossary.get("LoRA").id)


def test_an_empty_model_variable_means_the_shipped_model(monkeypatch):
    from kg.prereqs.model import model_path

    monkeypatch.setenv("KG_PREREQUISITE_MODEL", "")
    assert model_path(Settings()) == MODEL_PATH
