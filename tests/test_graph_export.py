"""The prerequisite graph for other tools: GraphML, DOT, Cytoscape.js JSON, over the API and `kg export`."""
from __future__ import annotations

import io
import json
import re

import networkx as nx
import pytest
from click.testing import CliRunner

from api.cli import cli
from ingest import ingest_paths
from kg import Glossary, Settings
from kg.errors import BadParameterError, NotFoundError
from kg.prereqs.export import export_graph

GRAPH_ONLY = Settings(semantic_index=False)


@pytest.fixture(scope="module")
def corpus(linked_corpus) -> Glossary:
    return Glossary.from_ingest(ingest_paths([linked_corpus]), GRAPH_ONLY)


def test_view_around_a_concept_follows_direction_and_depth(corpus):
    dag = corpus.prerequisites
    both = corpus.prerequisite_view("Dropout", depth=1)
    assert set(both) == {"dropout", *dag.predecessors("dropout"), *dag.successors("dropout")}
    assert both.graph["center"] == "dropout" and both.nodes["dropout"]["center"]
    needs = corpus.prerequisite_view("Dropout", depth=1, direction="prerequisites")
    assert set(needs) == {"dropout", *dag.predecessors("dropout")}
    deep = corpus.prerequisite_view("Dropout", depth=None, direction="prerequisites")
    assert set(deep) == {"dropout", *nx.ancestors(dag, "dropout")}
    whole = corpus.prerequisite_view()
    assert whole.number_of_nodes() == len(corpus) and whole.number_of_edges() == dag.number_of_edges()
    for u, v, data in both.edges(data=True):
        assert dag.has_edge(u, v) and 0 < data["confidence"] <= 1 and data["reasons"]


def test_collection_filter_and_bad_parameters(corpus):
    collection = next(c for c in corpus.collections.values() if "--" not in c.id)
    view = corpus.prerequisite_view(collection=collection.label)
    assert view and all(collection.id in corpus.concepts[n].collections for n in view)
    with pytest.raises(BadParameterError) as raised:
        corpus.prerequisite_view(collection="no such collection")
    assert raised.value.details["parameter"] == "collection"
    for bad in ({"depth": 99}, {"direction": "sideways"}):
        with pytest.raises(BadParameterError):
            corpus.prerequisite_view("Dropout", **bad)
    with pytest.raises(NotFoundError):
        corpus.prerequisite_view("Dropuot")


def test_formats_round_trip(corpus):
    view = corpus.prerequisite_view("BERT", depth=2)
    graphml, media_type = export_graph(view, "graphml")
    assert media_type == "application/graphml+xml"
    back = nx.read_graphml(io.BytesIO(graphml))
    assert set(back.nodes) == set(view.nodes) and set(back.edges) == set(view.edges)
    u, v = next(iter(view.edges))
    assert back.edges[u, v]["confidence"] == view.edges[u, v]["confidence"]
    assert back.nodes["bert"]["label_en"] == "BERT"

    cytoscape = json.loads(export_graph(view, "cytoscape")[0])
    again = nx.cytoscape_graph(cytoscape)
    assert set(again.nodes) == set(view.nodes) and set(again.edges) == set(view.edges)
    assert cytoscape["data"]["center"] == "bert"

    dot = export_graph(view, "dot")[0].decode("utf-8")
    assert dot.startswith("digraph prerequisites {") and dot.rstrip().endswith("}")
    edges = set(re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', dot, re.MULTILINE))
    assert edges == set(view.edges)
    with pytest.raises(BadParameterError):
        export_graph(view, "png")


def test_dot_escapes_quotes_and_marks_curated(tmp_path):
    (tmp_path / "g.md").write_text('## Base\n\n- The base.\n\n## Top "quoted"\n\n- Uses it.\n- 前提: Base\n',
                                   encoding="utf-8")
    glossary = Glossary.from_ingest(ingest_paths([tmp_path]), GRAPH_ONLY)
    dot = export_graph(glossary.prerequisite_view(), "dot")[0].decode("utf-8")
    assert '\\"quoted\\"' in dot and "style=bold" in dot


def test_graph_route_and_cli(tmp_path, linked_corpus):
    from fastapi.testclient import TestClient

    from api.app import create_app

    runner = CliRunner()
    store = tmp_path / "store"
    assert runner.invoke(cli, ["ingest", str(linked_corpus), "--store", str(store)]).exit_code == 0
    with TestClient(create_app(Settings(store=store))) as client:
        response = client.get("/graph", params={"format": "graphml", "center": "Dropout", "depth": 1})
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/graphml")
        assert "dropout" in set(nx.read_graphml(io.BytesIO(response.content)))
        whole = client.get("/graph").json()
        assert len(whole["elements"]["nodes"]) == 218
        for params, parameter in (({"format": "png"}, "format"), ({"depth": 50}, "depth"),
                                  ({"direction": "up"}, "direction"), ({"collection": "nope"}, "collection")):
            body = client.get("/graph", params=params).json()
            assert body["error"]["parameter"] == parameter, body
        assert client.get("/graph", params={"center": "Dropuot"}).status_code == 404
    out = tmp_path / "g.dot"
    result = runner.invoke(cli, ["export", "--format", "dot", "--center", "BERT", "--direction", "prerequisites",
                                 "--output", str(out), "--store", str(store)])
    assert result.exit_code == 0 and out.read_text(encoding="utf-8").startswith("digraph")
