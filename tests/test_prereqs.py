"""Prerequisites: direction from evidence, a DAG, focused learning paths, known concepts, quality."""
from __future__ import annotations

import json
import time
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from api.cli import cli
from ingest import ingest_paths
from kg import Glossary, Settings
from kg.errors import BadParameterError, NotFoundError
from kg.evaluate import evaluate_prerequisites, read_pairs
from kg.prereqs import learning_path

PROBE = Path(__file__).resolve().parent / "fixtures" / "eval" / "probe_prerequisites.tsv"
GRAPH_ONLY = Settings(semantic_index=False)


def _glossary(path: Path) -> Glossary:
    return Glossary.from_ingest(ingest_paths([path]), GRAPH_ONLY)


@pytest.fixture(scope="module")
def corpus(linked_corpus) -> Glossary:
    return _glossary(linked_corpus)


def _evaluate(glossary: Glossary, pairs: Path):
    def resolve(label):
        found = glossary.candidates(label)
        return found[0].id if found else None

    return evaluate_prerequisites(read_pairs(pairs), lambda cid: [s["id"] for s in glossary.learning_path(cid)["path"]],
                                  resolve).metrics


def test_dev_pairs_and_focused_paths(corpus, eval_dir):
    metrics = _evaluate(corpus, eval_dir / "dev_prerequisites.tsv")
    assert metrics["pairs"] == 11
    assert metrics["correct"] >= 10 / 11 and metrics["reversed"] == 0, metrics
    assert metrics["median_path_length"] <= 12, metrics


def test_probe_pairs_never_reversed(corpus):
    """Our own pairs, written before the model: some have no evidence in the glossary at all
    (unconnected is the honest answer there), none may come out backwards."""
    metrics = _evaluate(corpus, PROBE)
    assert metrics["correct"] >= 0.7 and metrics["reversed"] <= 0.05, metrics
    assert metrics["median_path_length"] <= 12, metrics


def test_the_raw_form_gives_the_same_answers(raw_corpus, eval_dir):
    metrics = _evaluate(_glossary(raw_corpus), eval_dir / "dev_prerequisites.tsv")
    assert metrics["correct"] >= 10 / 11 and metrics["median_path_length"] <= 12, metrics


def test_the_graph_is_a_dag_with_evidence(corpus):
    dag = corpus.prerequisites
    assert nx.is_directed_acyclic_graph(dag)
    assert dag.number_of_edges() > 100
    for _u, _v, data in dag.edges(data=True):
        assert 0.5 < data["confidence"] <= 1
        assert data["reasons"]
    edge = dag.edges["overfitting", "dropout"]
    assert "過学習" in edge["evidence"]


def test_known_concepts_and_what_only_they_need_drop_out(corpus):
    full = [s["id"] for s in corpus.learning_path("Dropout")["path"]]
    assert "overfitting" in full
    without = corpus.learning_path("Dropout", known=["過学習"])
    ids = [s["id"] for s in without["path"]]
    assert "overfitting" not in ids and [k["id"] for k in without["known"]] == ["overfitting"]
    only_for_overfitting = set(nx.ancestors(corpus.prerequisites, "overfitting")) - {
        a for p in corpus.prerequisites.predecessors("dropout") if p != "overfitting"
        for a in nx.ancestors(corpus.prerequisites, p) | {p}}
    assert not only_for_overfitting & set(ids)


def test_depth_limits_and_order_is_basics_first(corpus):
    direct = corpus.learning_path("BERT", depth=1)
    assert {s["id"] for s in direct["path"]} == set(corpus.prerequisites.predecessors("bert"))
    path = [s["id"] for s in corpus.learning_path("BERT")["path"]]
    position = {cid: n for n, cid in enumerate(path)}
    for u, v in corpus.prerequisites.subgraph(path).edges:
        assert position[u] < position[v]  # every prerequisite comes before what needs it
    with pytest.raises(BadParameterError):
        corpus.learning_path("BERT", depth=-1)


def test_edges_say_why(corpus):
    edges = corpus.learning_path("F1 Score")["edges"]
    precision = next(e for e in edges if e["prerequisite"] == "precision" and e["concept"] == "f1-score")
    assert "調和平均" in precision["evidence"] and "named as its base" in precision["reasons"]


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


def test_learning_path_on_an_isolated_concept_is_empty():
    dag = nx.DiGraph()
    dag.add_node("solo")
    assert learning_path(dag, "solo").steps == []


def test_concept_view_lists_prerequisites_and_dependents(corpus):
    view = corpus.concept_view("Overfitting")
    assert "dropout" in {d["id"] for d in view["dependents"]}
    assert all(p["evidence"] is not None for p in view["prerequisites"])


def test_export_carries_prerequisites(fixtures):
    from kg.rdf import KGV

    glossary = _glossary(fixtures / "glossary")
    graph = glossary.to_rdf()
    stated = {(str(s), str(o)) for s, o in graph.subject_objects(KGV.prerequisite)}
    expected = {(glossary.uri(v), glossary.uri(u)) for u, v in glossary.prerequisites.edges}
    assert stated == expected and stated


def test_cli_prereqs_and_eval(tmp_path, linked_corpus, eval_dir):
    runner = CliRunner()
    store = str(tmp_path / "store")
    assert runner.invoke(cli, ["ingest", str(linked_corpus), "--store", store]).exit_code == 0
    text = runner.invoke(cli, ["prereqs", "Dropout", "--store", store])
    assert text.exit_code == 0 and "Before Dropout, learn:" in text.output and "[overfitting]" in text.output
    data = json.loads(runner.invoke(cli, ["prereqs", "Dropout", "--known", "過学習", "--json", "--store", store]).output)
    assert "overfitting" not in [s["id"] for s in data["path"]]
    evaluation = runner.invoke(cli, ["eval-prereqs", str(eval_dir / "dev_prerequisites.tsv"), "--store", store])
    assert evaluation.exit_code == 0 and "correct" in evaluation.output and "median learning-path length" in evaluation.output
    metrics = json.loads(runner.invoke(cli, ["eval-prereqs", str(eval_dir / "dev_prerequisites.tsv"), "--json",
                                             "--store", store]).output)["metrics"]
    assert metrics["correct"] >= 10 / 11
