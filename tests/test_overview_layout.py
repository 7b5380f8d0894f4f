"""The explorer's layout (kg.prereqs.overview_layout) and GET /graph/layout: every concept placed,
clusters that never overlap, the same positions every time, and the answer the explorer draws."""

from __future__ import annotations

import itertools
import math
import random

import networkx as nx
import pytest

from api.models import GraphLayout
from ingest import ingest_paths
from kg import Glossary, Settings
from kg.prereqs.overview_layout import (
    CLUSTER_GAP,
    FORCE_MAX,
    NODE_SPACING,
    first_collection,
    overview_elements,
    overview_layout,
    pack_discs,
)


@pytest.fixture(scope="module")
def linked(linked_corpus) -> Glossary:
    return Glossary.from_ingest(ingest_paths([linked_corpus]), Settings(semantic_index=False))


def clustered_graph(sizes: list[int], edges_per_node: int = 2, seed: int = 3) -> tuple[nx.DiGraph, dict[str, str]]:
    """A random DAG whose nodes fall into groups of ``sizes``; most edges stay inside a group."""
    rng = random.Random(seed)
    graph = nx.DiGraph()
    group_of: dict[str, str] = {}
    names = []
    for g, size in enumerate(sizes):
        for k in range(size):
            name = f"g{g}-n{k}"
            graph.add_node(name)
            group_of[name] = f"group-{g}"
            names.append(name)
    for i, name in enumerate(names):
        for _ in range(edges_per_node):
            j = rng.randrange(len(names))
            if j < i:  # an edge from an earlier node keeps the graph acyclic
                graph.add_edge(names[j], name)
    return graph, group_of


def assert_no_cluster_overlaps(layout) -> None:
    for a, b in itertools.combinations(layout.clusters, 2):
        apart = math.hypot(a.x - b.x, a.y - b.y)
        assert apart >= a.radius + b.radius + CLUSTER_GAP - 1e-6, (a.id, b.id, apart)


def test_every_node_is_placed_inside_its_cluster_and_no_two_clusters_overlap():
    # One cluster large enough for the spiral, several for the force layout, singletons.
    graph, group_of = clustered_graph([FORCE_MAX + 40, 30, 12, 12, 5, 2, 1, 1])
    layout = overview_layout(graph, group_of.__getitem__)
    assert set(layout.positions) == set(graph)
    assert sorted(len(c.members) for c in layout.clusters) == sorted([FORCE_MAX + 40, 30, 12, 12, 5, 2, 1, 1])
    assert [len(c.members) for c in layout.clusters] == sorted((len(c.members) for c in layout.clusters), reverse=True)
    for cluster in layout.clusters:
        for node in cluster.members:
            assert group_of[node] == cluster.id
            x, y = layout.positions[node]
            assert math.hypot(x - cluster.x, y - cluster.y) <= cluster.radius + 1  # rounding to 0.1
    assert_no_cluster_overlaps(layout)
    # Concepts of a cluster do not sit on top of each other (labels need room).
    for cluster in layout.clusters:
        points = [layout.positions[n] for n in cluster.members]
        closest = min((math.dist(p, q) for p, q in itertools.combinations(points, 2)), default=NODE_SPACING)
        assert closest >= NODE_SPACING * 0.4, (cluster.id, closest)


def test_the_layout_is_deterministic_and_a_cluster_keeps_its_shape():
    graph, group_of = clustered_graph([20, 20, 7, 3])
    first = overview_layout(graph, group_of.__getitem__)
    assert overview_layout(graph, group_of.__getitem__) == first
    assert overview_layout(graph.copy(), dict(group_of).__getitem__) == first  # not the objects' identity
    assert overview_layout(graph, group_of.__getitem__, seed=1) != first

    def shape(layout, group):  # positions relative to the cluster's centre
        cluster = next(c for c in layout.clusters if c.id == group)
        return {n: (layout.positions[n][0] - cluster.x, layout.positions[n][1] - cluster.y) for n in cluster.members}

    # Another cluster joining moves clusters around, but does not reshape them.
    bigger = graph.copy()
    bigger.add_nodes_from(["extra-1", "extra-2"])
    bigger.add_edge("extra-1", "extra-2")
    groups = {**group_of, "extra-1": "extra", "extra-2": "extra"}
    again = overview_layout(bigger, groups.__getitem__)
    for name, point in shape(first, "group-2").items():
        assert math.dist(point, shape(again, "group-2")[name]) < 0.2


@pytest.mark.parametrize("seed", range(5))
def test_packed_discs_never_overlap(seed):
    rng = random.Random(seed)
    radii = sorted((rng.choice([5, 10, 40, 200]) * rng.random() + 1 for _ in range(300)), reverse=True)
    centres = pack_discs(radii)
    assert len(centres) == len(radii) and centres[0] == (0.0, 0.0)
    for (i, a), (j, b) in itertools.combinations(enumerate(centres), 2):
        assert math.dist(a, b) >= radii[i] + radii[j] - 1e-6, (i, j)


def test_ten_thousand_concepts_in_a_thousand_files_all_get_a_place():
    """The synthetic 10,000-concept glossary's shape: ~11 concepts a file, one hub-heavy file.
    (Its speed is measured by `python -m benchmarks explorer`, not asserted here.)"""
    graph, group_of = clustered_graph([11] * 900 + [100], edges_per_node=3)
    layout = overview_layout(graph, group_of.__getitem__)
    assert len(layout.positions) == graph.number_of_nodes() == 10_000
    assert len(layout.clusters) == 901
    points = sorted(layout.positions.values())
    assert len(set(points)) == len(points)  # no two concepts at the same place


def test_the_linked_glossary_answer_has_positions_collections_and_relations(linked):
    view = linked.prerequisite_view(None, None)
    labels = {c.id: c.label for c in linked.collections.values()}
    answer = overview_elements(view, labels)
    GraphLayout.model_validate(answer)  # the documented shape
    nodes, edges = answer["elements"]["nodes"], answer["elements"]["edges"]
    assert len(nodes) == 218 and len(edges) == view.number_of_edges()
    for node in nodes:
        data = node["data"]
        assert data["collection"] == first_collection(view.nodes[data["id"]])
        assert data["collection_label"] == labels.get(data["collection"], data["collection"])
        assert data["degree"] == view.degree(data["id"])
        assert set(node["position"]) == {"x", "y"}
    assert {e["data"]["relation"] for e in edges} <= {r["relation"] for r in answer["relations"]} | {"stated"}
    assert sum(r["edges"] for r in answer["relations"]) + answer["curated_edges"] == len(edges)
    assert sum(c["size"] for c in answer["clusters"]) == 218
    assert overview_elements(view, labels) == answer  # deterministic


def test_graph_layout_route(client_for, tmp_path, linked_corpus):
    from kg.store.versions import update_store

    settings = Settings(store=tmp_path / "store", model="fake", reload_interval=0)
    assert update_store([linked_corpus], settings).version
    http = client_for(settings)
    whole = http.get("/graph/layout")
    assert whole.status_code == 200 and whole.headers["content-type"] == "application/json"
    body = GraphLayout.model_validate(whole.json())
    assert len(body.elements.nodes) == 218 and body.center is None
    around = http.get("/graph/layout", params={"center": "過学習", "depth": 1}).json()
    assert around["center"] == "overfitting"
    assert {n["data"]["id"] for n in around["elements"]["nodes"] if n["data"]["center"]} == {"overfitting"}
    assert http.get("/graph/layout").content == whole.content  # the cached answer, byte for byte
    assert http.get("/graph/layout", params={"center": "Overfiting"}).status_code == 404
    bad = http.get("/graph/layout", params={"collection": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["parameter"] == "collection"
