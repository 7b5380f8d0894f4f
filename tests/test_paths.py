"""Explained paths (kg.prereqs.explained), `kg path`, and the /path and /concepts/{id}/related routes."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import networkx as nx
import pytest
from click.testing import CliRunner

from ingest import ingest_paths
from kg import Glossary
from kg.errors import BadParameterError, NoPathError, NotFoundError
from kg.model import Concept, Label, Link
from kg.prereqs import explained
from kg.prereqs.explained import MAX_ALTERNATIVES, PathAnswer, _cheapest_chain, explain_path, link_graph
from kg.settings import Settings
from kg.text import plain_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def small() -> Glossary:
    return Glossary.from_ingest(ingest_paths([FIXTURES / "glossary"]), Settings(semantic_index=False))


def assert_valid_chain(glossary: Glossary, answer: PathAnswer, steps) -> None:
    """Consecutive steps over real links, the reported direction true, no concept twice."""
    graph = glossary.graph
    nodes = [answer.source] + [step.target for step in steps]
    assert nodes[-1] == answer.target
    assert len(set(nodes)) == len(nodes), "a simple chain"
    for previous, step in zip(nodes, steps, strict=False):
        assert step.source == previous
        if step.direction == "uses":
            assert graph.has_edge(step.source, step.target)
            user, used = step.source, step.target
        else:
            assert step.direction == "used_by"
            assert graph.has_edge(step.target, step.source) and not graph.has_edge(step.source, step.target)
            user, used = step.target, step.source
        assert step.mutual == (graph.has_edge(step.source, step.target) and graph.has_edge(step.target, step.source))
        data = graph[user][used]
        assert step.kinds == sorted(data["kinds"]) and step.count == data["count"]
        assert step.evidence == (plain_text(data["sentences"][0]) if data["sentences"] else None)
        assert glossary.concepts[user].name in step.explanation


# -- the small committed glossary ------------------------------------------------------------


def test_a_chain_reports_each_links_real_direction(small):
    answer = explain_path(small, "Gradient Descent", "Cross Entropy")
    assert [s.target for s in answer.steps] == ["loss-function", "cross-entropy"]
    first, second = answer.steps
    assert first.direction == "uses" and first.mutual
    assert first.evidence == "損失関数の勾配に沿ってパラメータを更新する。"
    assert second.direction == "used_by" and not second.mutual
    assert second.explanation == "Cross Entropy's definition uses Loss Function"
    assert second.evidence == "分類で使う損失関数。" and second.kinds == ["mention"]
    assert_valid_chain(small, answer, answer.steps)


def test_labels_in_either_language(small):
    answer = explain_path(small, "深層学習", "ニューラルネットワーク")
    assert (answer.source, answer.target, answer.length) == ("deep-learning", "neural-network", 1)
    assert answer.steps[0].mutual


def test_same_concept_is_zero_steps(small):
    answer = explain_path(small, "Deep Learning", "深層学習")
    assert answer.length == 0 and answer.steps == [] and answer.alternatives == []
    assert "same concept" in answer.to_text()
    assert answer.to_dict()["concepts"] == [{"id": "deep-learning", "name": "Deep Learning"}]


def test_unconnected_concepts_are_no_path(small):
    with pytest.raises(NoPathError) as caught:
        explain_path(small, "Deep Learning", "Normalization")
    error = caught.value
    assert (error.status, error.code) == (404, "no_path")
    assert "Deep Learning and Normalization are not connected through the glossary's links" in error.message
    assert error.details["source_component"] == 3  # deep learning, neural network, machine learning
    assert error.details["target_component"] == 1


@pytest.mark.parametrize("parameter", ["source", "target"])
def test_unknown_terms_say_which_parameter(small, parameter):
    terms = {"source": "Deep Learning", "target": "Neural Network", parameter: "Neural Netwrk"}
    with pytest.raises(NotFoundError) as caught:
        explain_path(small, terms["source"], terms["target"])
    error = caught.value
    assert error.status == 404 and error.details["parameter"] == parameter
    assert error.details["term"] == "Neural Netwrk"
    assert "neural-network" in [s["id"] for s in error.details["suggestions"]]
    assert error.message.startswith(f"{parameter}: ")


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"alternatives": -1}, "alternatives"),
        ({"alternatives": MAX_ALTERNATIVES + 1}, "alternatives"),
        ({"max_length": 0}, "max_length"),
        ({"max_length": 51}, "max_length"),
    ],
)
def test_bad_parameters(small, kwargs, parameter):
    with pytest.raises(BadParameterError) as caught:
        explain_path(small, "Deep Learning", "Neural Network", **kwargs)
    assert caught.value.details["parameter"] == parameter


def test_a_chain_longer_than_max_length_is_no_path(small):
    with pytest.raises(NoPathError) as caught:
        explain_path(small, "Gradient Descent", "Cross Entropy", max_length=1)
    assert caught.value.details["length"] == 2
    assert "more than max_length=1" in caught.value.message


def test_stronger_links_win_among_equally_short_chains():
    def concept(cid: str, *links: Link) -> Concept:
        return Concept(cid, [Label(cid.title(), "en")], links=list(links))

    glossary = Glossary(
        [
            concept(
                "start",
                Link("weak", sentence="Start uses Weak."),
                Link("strong", sentence="Start uses Strong."),
                Link("strong"),
                Link("strong"),
            ),
            concept("weak", Link("end", sentence="Weak uses End.")),
            concept("strong", Link("end", sentence="Strong uses End."), Link("end")),
            concept("end"),
        ],
        settings=Settings(semantic_index=False),
    )
    answer = explain_path(glossary, "start", "end", alternatives=1)
    assert [s.target for s in answer.steps] == ["strong", "end"]
    assert [[s.target for s in alt] for alt in answer.alternatives] == [["weak", "end"]]


def test_text_and_json(small):
    answer = explain_path(small, "Gradient Descent", "Cross Entropy")
    text = answer.to_text()
    assert text.splitlines()[0] == "Gradient Descent -> Loss Function -> Cross Entropy  (2 steps)"
    assert "Cross Entropy's definition uses Loss Function" in text and "分類で使う損失関数。" in text
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert data["length"] == 2 and [c["id"] for c in data["concepts"]] == [
        "gradient-descent",
        "loss-function",
        "cross-entropy",
    ]
    assert data["steps"][1]["direction"] == "used_by"
    assert data["alternatives"] == []


# -- cycles and dense graphs ------------------------------------------------------------------------


def test_cyclic_self_linked_glossary_answers_quickly(tmp_path):
    names = [f"Term{chr(ord('A') + n)}" for n in range(12)]
    lines = ["# Cycle", ""]
    for name in names:
        # Every term uses every other (a complete graph: billions of simple paths) and itself.
        others = ", ".join(other for other in names if other != name)
        lines += [f"## {name}", "", f"- {name} is defined by {name} itself and {others}.", ""]
    lines += ["## Island", "", "- Alone.", ""]
    (tmp_path / "cycle.md").write_text("\n".join(lines), encoding="utf-8")
    glossary = Glossary.from_ingest(ingest_paths([tmp_path]), Settings(semantic_index=False))
    assert glossary.graph.number_of_edges() == 12 * 11

    started = time.monotonic()
    answer = explain_path(glossary, "TermA", "TermB", alternatives=MAX_ALTERNATIVES)
    assert answer.length == 1 and answer.steps[0].mutual
    assert len(answer.alternatives) == MAX_ALTERNATIVES
    chains = [tuple(s.target for s in alt) for alt in answer.alternatives]
    assert len(set(chains)) == len(chains)
    for alt in answer.alternatives:
        assert len(alt) == 2  # next-shortest: one step longer at most
        assert_valid_chain(glossary, answer, alt)
    with pytest.raises(NoPathError):
        explain_path(glossary, "TermA", "Island", alternatives=MAX_ALTERNATIVES)
    assert explain_path(glossary, "TermC", "TermC", alternatives=MAX_ALTERNATIVES).length == 0
    assert time.monotonic() - started < 5


# -- the real linked corpus ----------------------------------------------------------------------


def test_deep_learning_to_bert(linked_glossary):
    answer = explain_path(linked_glossary, "Deep Learning", "BERT", alternatives=3)
    assert answer.length == 1 and answer.steps[0].evidence
    assert_valid_chain(linked_glossary, answer, answer.steps)
    assert answer.alternatives
    for alt in answer.alternatives:
        assert 1 < len(alt) <= 2
        assert_valid_chain(linked_glossary, answer, alt)


def test_longer_chains_are_shortest_and_explained(linked_glossary):
    undirected = linked_glossary.graph.to_undirected()
    pairs = [("bert", "early-stopping"), ("dropout", "tokenizer"), ("large-language-model", "overfitting")]
    pairs = [(a, b) for a, b in pairs if a in linked_glossary.concepts and b in linked_glossary.concepts]
    assert pairs
    for a, b in pairs:
        answer = explain_path(linked_glossary, a, b, alternatives=2)
        assert answer.length == nx.shortest_path_length(undirected, a, b)
        assert all(step.evidence for step in answer.steps)
        for steps in [answer.steps, *answer.alternatives]:
            assert_valid_chain(linked_glossary, answer, steps)
        chains = [tuple(s.target for s in steps) for steps in [answer.steps, *answer.alternatives]]
        assert len(set(chains)) == len(chains)


def test_every_pair_in_a_sample_answers_or_says_no_path(linked_glossary):
    ids = sorted(linked_glossary.concepts)[::9]
    undirected = linked_glossary.graph.to_undirected()
    for a, b in itertools.combinations(ids, 2):
        if nx.has_path(undirected, a, b):
            assert explain_path(linked_glossary, a, b).length == nx.shortest_path_length(undirected, a, b)
        else:
            with pytest.raises(NoPathError):
                explain_path(linked_glossary, a, b)



def _chain_cost(undirected: nx.Graph, chain: list[str]) -> float:
    return sum(undirected[a][b]["cost"] for a, b in itertools.pairwise(chain))


def test_the_chain_read_off_every_pair_is_a_cheapest_one(linked_glossary):
    """The predecessor matrix worked out once per graph gives, for every two linked concepts, a
    real chain of the least cost networkx's Dijkstra finds: so the fewest steps and, among
    those, the strongest links."""
    undirected = link_graph(linked_glossary.graph)
    assert undirected.graph["predecessors"] is not None  # the linked corpus is small enough
    checked = 0
    for source in undirected:
        costs = nx.single_source_dijkstra_path_length(undirected, source, weight="cost")
        for target, cost in costs.items():
            chain = _cheapest_chain(undirected, source, target)
            assert chain[0] == source and chain[-1] == target and len(set(chain)) == len(chain)
            assert all(undirected.has_edge(a, b) for a, b in itertools.pairwise(chain))
            assert _chain_cost(undirected, chain) == pytest.approx(cost, abs=1e-12)
            checked += 1
    assert checked > 10_000


def test_a_large_graph_searches_each_pair_with_the_same_answers(linked_glossary, monkeypatch):
    monkeypatch.setattr(explained, "ALL_PAIRS_MAX_CONCEPTS", 10)
    copy = linked_glossary.graph.copy()  # a graph of its own, so its undirected form is built anew
    searched, read_off = link_graph(copy), link_graph(linked_glossary.graph)
    assert searched.graph["predecessors"] is None
    ids = sorted(read_off)[::7]
    for a, b in itertools.product(ids, ids):
        if read_off.graph["component"][a] == read_off.graph["component"][b]:
            assert _chain_cost(searched, _cheapest_chain(searched, a, b)) == pytest.approx(
                _chain_cost(read_off, _cheapest_chain(read_off, a, b)), abs=1e-12)


def test_alternatives_keep_the_default_chain_first(linked_glossary):
    ids = sorted(linked_glossary.concepts)[::11]
    undirected = link_graph(linked_glossary.graph)
    for a, b in itertools.permutations(ids, 2):
        if a == b or undirected.graph["component"][a] != undirected.graph["component"][b]:
            continue
        plain, more = explain_path(linked_glossary, a, b), explain_path(linked_glossary, a, b, alternatives=2)
        assert more.steps == plain.steps
        chains = [tuple(s.target for s in steps) for steps in [more.steps, *more.alternatives]]
        assert len(set(chains)) == len(chains)

# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def kg_cli():
    """The ``kg`` command group (graph commands included)."""
    from api.cli import cli

    return cli


def test_cli_path(kg_cli, tmp_path):
    settings = Settings(store=tmp_path / "store", semantic_index=False)
    runner = CliRunner()
    store = ["--store", str(settings.store)]
    assert runner.invoke(kg_cli, ["ingest", str(FIXTURES / "glossary"), *store], obj=settings).exit_code in (0, 1)

    result = runner.invoke(kg_cli, ["path", "Gradient Descent", "Cross Entropy", *store], obj=settings)
    assert result.exit_code == 0, result.output
    assert "Gradient Descent -> Loss Function -> Cross Entropy" in result.stdout
    assert "分類で使う損失関数。" in result.stdout

    result = runner.invoke(
        kg_cli, ["path", "深層学習", "機械学習", "--alternatives", "2", "--json", *store], obj=settings
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["length"] == 1 and data["steps"][0]["mutual"] is True
    assert data["alternatives"] == []  # Neural Network links only to Deep Learning: no other chain

    result = runner.invoke(kg_cli, ["path", "Deep Learning", "Normalization", *store], obj=settings)
    assert result.exit_code == 1 and "not connected" in result.stderr

    result = runner.invoke(kg_cli, ["path", "Deep Lerning", "Normalization", *store], obj=settings)
    assert result.exit_code == 1 and "source:" in result.stderr and "did you mean" in result.stderr

    result = runner.invoke(kg_cli, ["path", "Deep Learning", "BERT", "--alternatives", "6", *store], obj=settings)
    assert result.exit_code == 2


# -- HTTP (a real uvicorn server) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(client_for, tmp_path_factory) -> httpx.Client:
    from api.app import create_app

    settings = Settings(
        store=tmp_path_factory.mktemp("graph-api") / "store", default_glossary=FIXTURES / "glossary", reload_interval=0
    )
    # The OpenAPI paths, not app.routes: FastAPI keeps an included router as one opaque route.
    if not {"/path", "/concepts/{id}/related"} <= set(create_app(settings).openapi()["paths"]):
        pytest.skip("api.app.create_app does not add the api.graph_routes routes yet")
    return client_for(settings)


def error_of(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_http_related(client):
    body = client.get("/concepts/deep-learning/related").json()
    assert body["id"] == "deep-learning"
    results = {item["id"]: item for item in body["results"]}
    assert {"neural-network", "machine-learning"} <= set(results)
    assert len(results) == len(body["results"])
    reasons = {reason["kind"]: reason for reason in results["neural-network"]["reasons"]}
    assert reasons["links_to"]["evidence"] == "多層のニューラルネットワークを用いる機械学習の一分野。"
    assert any(r["kind"] == "similar_meaning" and "cosine" in r for item in body["results"] for r in item["reasons"])

    japanese = client.get(f"/concepts/{quote('深層学習')}/related", params={"k": 1}).json()
    assert japanese["id"] == "deep-learning" and len(japanese["results"]) == 1


def test_http_related_errors(client):
    error = error_of(client.get("/concepts/Deep%20Lerning/related"), 404, "not_found")
    assert "deep-learning" in [s["id"] for s in error["suggestions"]]
    for k in ("0", "101", "x"):
        error = error_of(client.get("/concepts/deep-learning/related", params={"k": k}), 422, "bad_parameter")
        assert error["parameter"] == "k"


def test_http_path(client):
    body = client.get("/path", params={"source": "Gradient Descent", "target": "交差エントロピー"}).json()
    assert body["length"] == 2
    assert [c["id"] for c in body["concepts"]] == ["gradient-descent", "loss-function", "cross-entropy"]
    assert body["steps"][1]["direction"] == "used_by" and body["steps"][1]["evidence"] == "分類で使う損失関数。"

    body = client.get(
        "/path", params={"source": "deep-learning", "target": "machine-learning", "alternatives": 5}
    ).json()
    assert body["length"] == 1 and body["alternatives"] == []  # there is no other chain

    assert client.get("/path", params={"source": "deep-learning", "target": "Deep Learning"}).json()["length"] == 0


def test_http_path_answers_are_their_response_model(client):
    """/path serializes its answers without validating each one: every pair of the glossary is
    answered with exactly the bytes its response model would give."""
    from api.models import PathResult

    ids = [hit["id"] for hit in client.get("/concepts", params={"limit": 1000}).json()["results"]]
    answered = 0
    for source, target in itertools.product(ids, ids):
        response = client.get("/path", params={"source": source, "target": target})
        if response.status_code == 404:
            assert response.json()["error"]["code"] == "no_path"
            continue
        assert response.status_code == 200
        assert response.content == PathResult.model_validate_json(response.content).model_dump_json().encode()
        answered += 1
    assert answered > len(ids)


def test_http_path_errors(client):
    error = error_of(client.get("/path", params={"source": "deep-learning", "target": "normalization"}), 404, "no_path")
    assert "not connected" in error["message"] and error["target_component"] == 1

    error = error_of(
        client.get("/path", params={"source": "deep-learning", "target": "Neural Netwrk"}), 404, "not_found"
    )
    assert error["parameter"] == "target" and error["suggestions"]

    error = error_of(
        client.get("/path", params={"source": "deep-learning", "target": "bert", "alternatives": 6}),
        422,
        "bad_parameter",
    )
    assert error["parameter"] == "alternatives"
    error = error_of(client.get("/path", params={"source": "deep-learning"}), 422, "bad_parameter")
    assert error["parameter"] == "target"


def test_http_docs_describe_the_graph_routes(client):
    spec = client.get("/openapi.json").json()
    for path in ("/path", "/concepts/{id}/related"):
        operation = spec["paths"][path]["get"]
        assert operation["tags"] == ["graph"] and operation["summary"] and operation["description"]
        assert "404" in operation["responses"] and "422" in operation["responses"]
