"""Positions for the graph explorer of /overview: one cluster per collection, clusters that never overlap.

Every concept joins the cluster of its first collection (the file it is defined in). Inside a
cluster, a small one gets a force layout: Fruchterman-Reingold, the algorithm of networkx's
``spring_layout``, run for every small cluster at once in numpy, because one ``spring_layout``
call per cluster costs about 1.7 ms even for ten nodes, and a 10,000-concept glossary has some
900 files. A large cluster gets a sunflower (phyllotaxis) spiral, hubs in the middle, in O(n).
Clusters are then packed in rings around the largest, each ring outside the last, in O(clusters).

Positions are in drawing units: at zoom 1 one unit is one CSS pixel, and neighbouring
concepts sit about ``NODE_SPACING`` apart. The same graph always gives the same positions.
Nothing here draws: ``api.graph_routes`` serves the positions, ``static/explorer.js`` draws them.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

#: Distance between neighbouring concepts, in CSS pixels at zoom 1: room for a label under each.
NODE_SPACING = 110.0
#: Space kept between two clusters (labels stick out of a cluster's disc).
CLUSTER_GAP = 140.0
#: Clusters of up to this many concepts get the force layout; larger ones the spiral.
FORCE_MAX = 64
FORCE_ITERATIONS = 50
#: Two concepts of a force-laid cluster end at least about this share of ``NODE_SPACING`` apart.
MIN_GAP_SHARE = 0.7
#: A label is wider than tall: side by side, two concepts need this many times the room they
#: need one above the other (the label sits under its node).
LABEL_ASPECT = 2.0
#: The cluster of concepts that are in no collection.
NO_COLLECTION = ""

_GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))


@dataclass(frozen=True)
class Cluster:
    """One collection's concepts, drawn as a disc centred on ``(x, y)``."""

    id: str
    members: tuple[str, ...]
    x: float
    y: float
    radius: float


@dataclass(frozen=True)
class OverviewLayout:
    positions: dict[str, tuple[float, float]]
    clusters: list[Cluster]  # largest first, the first in the middle


def overview_layout(graph: nx.Graph, group_of: Callable[[str], str], seed: int = 0) -> OverviewLayout:
    """Positions for every node of ``graph``, grouped into clusters by ``group_of(node)``.

    Args:
        graph: the graph to draw (its edges pull the nodes of a small cluster together).
        group_of: the cluster id of a node.
        seed: varies the force layouts' starting points; the same seed gives the same layout.
    """
    degree = dict(graph.degree)
    groups = _groups(graph, group_of, degree)
    shapes = _cluster_shapes(graph, groups, seed)
    radii = [max(float(np.linalg.norm(shape, axis=1).max()), NODE_SPACING / 2) for shape in shapes]
    centres = pack_discs([radius + CLUSTER_GAP / 2 for radius in radii])
    positions: dict[str, tuple[float, float]] = {}
    clusters = []
    for (group, members), shape, radius, (cx, cy) in zip(groups, shapes, radii, centres, strict=True):
        for node, (x, y) in zip(members, shape, strict=True):
            positions[node] = (round(cx + float(x), 1), round(cy + float(y), 1))
        clusters.append(Cluster(group, tuple(members), round(cx, 1), round(cy, 1), round(radius, 1)))
    return OverviewLayout(positions, clusters)


def _groups(graph: nx.Graph, group_of: Callable[[str], str], degree: Mapping[str, int]) -> list[tuple[str, list[str]]]:
    """``(cluster id, members)``, largest cluster first; members hubs first (the spiral puts
    its first members in the middle). Ties broken by id, so the order never depends on dict order."""
    members: dict[str, list[str]] = {}
    for node in graph:
        members.setdefault(group_of(node), []).append(node)
    for nodes in members.values():
        nodes.sort(key=lambda n: (-degree[n], n))
    return sorted(members.items(), key=lambda item: (-len(item[1]), item[0]))


def _disc_radius(count: int) -> float:
    """Radius of a disc holding ``count`` concepts ``NODE_SPACING`` apart (each takes a
    spacing-wide square)."""
    return NODE_SPACING * math.sqrt(count / math.pi)


def _cluster_shapes(graph: nx.Graph, groups: Sequence[tuple[str, list[str]]], seed: int) -> list[np.ndarray]:
    """Each cluster's positions around 0 in drawing units, in the order of its members."""
    shapes: list[np.ndarray | None] = [None] * len(groups)
    small = [i for i, (_, members) in enumerate(groups) if len(members) <= FORCE_MAX]
    for i, shape in zip(small, _force_shapes(graph, [groups[i] for i in small], seed), strict=True):
        shapes[i] = shape
    for i, (_, members) in enumerate(groups):
        if shapes[i] is None:
            # Stretched sideways, as labels are (the same area as the round spiral).
            stretch = np.array([math.sqrt(LABEL_ASPECT), 1 / math.sqrt(LABEL_ASPECT)])
            shapes[i] = sunflower(len(members)) * _disc_radius(len(members)) * stretch
    return shapes  # type: ignore[return-value]


def sunflower(count: int) -> np.ndarray:
    """``count`` points spread evenly over the unit disc, the first in the middle (phyllotaxis).

    >>> sunflower(3).shape, bool(abs(sunflower(100)).max() <= 1)
    ((3, 2), True)
    """
    k = np.arange(count)
    radius = np.sqrt((k + 0.5) / max(count, 1))
    angle = k * _GOLDEN_ANGLE
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


# -- force layout of the small clusters, all at once ---------------------------------------------------


def _force_shapes(graph: nx.Graph, groups: Sequence[tuple[str, list[str]]], seed: int) -> list[np.ndarray]:
    """Fruchterman-Reingold positions of each group, in drawing units. Groups of the same size
    run as one batch of numpy arrays (at most ``FORCE_MAX`` batches, whatever the glossary's size)."""
    shapes: list[np.ndarray] = [np.zeros((len(members), 2)) for _, members in groups]
    batches: dict[int, list[int]] = {}
    for i, (_, members) in enumerate(groups):
        if len(members) > 1:
            batches.setdefault(len(members), []).append(i)
    for size, indices in sorted(batches.items()):
        adjacency = np.stack([_adjacency(graph, groups[i][1]) for i in indices])
        # Seeded by the cluster's id: a cluster keeps its shape when other clusters change.
        start = np.stack(
            [np.random.default_rng([seed, zlib.crc32(groups[i][0].encode())]).random((size, 2)) for i in indices]
        )
        # Separated in a space squeezed sideways, so that neighbours side by side end further apart.
        squeeze = np.array([1 / LABEL_ASPECT, 1.0])
        laid = separate(_spaced(fruchterman_reingold(adjacency, start)) * squeeze, NODE_SPACING * MIN_GAP_SHARE)
        laid /= squeeze
        for i, shape in zip(indices, laid, strict=True):
            shapes[i] = shape
    return shapes


def _adjacency(graph: nx.Graph, members: Sequence[str]) -> np.ndarray:
    """Symmetric 0/1 adjacency of ``members`` (direction does not matter for the layout)."""
    index = {node: k for k, node in enumerate(members)}
    matrix = np.zeros((len(members), len(members)))
    for k, node in enumerate(members):
        for other in graph.adj[node]:  # a digraph's successors: each edge is met from one end
            j = index.get(other)
            if j is not None:
                matrix[k, j] = matrix[j, k] = 1
    return matrix


def fruchterman_reingold(adjacency: np.ndarray, start: np.ndarray, iterations: int = FORCE_ITERATIONS) -> np.ndarray:
    """A batch of force layouts of graphs of the same size: networkx's dense Fruchterman-Reingold
    (``spring_layout``), one per row.

    Args:
        adjacency: ``(batch, n, n)``, symmetric.
        start: ``(batch, n, 2)`` starting positions in the unit square.
    """
    positions = start.copy()
    optimal = math.sqrt(1.0 / adjacency.shape[1])  # the ideal distance between nodes
    temperature = 0.1  # the largest step, cooling linearly to 0 (networkx's schedule)
    cooling = temperature / (iterations + 1)
    for _ in range(iterations):
        delta = positions[:, :, None, :] - positions[:, None, :, :]
        distance = np.maximum(np.sqrt(np.einsum("bijd,bijd->bij", delta, delta)), 0.01)
        force = optimal**2 / distance**2 - adjacency * distance / optimal
        displacement = np.einsum("bijd,bij->bid", delta, force)
        length = np.maximum(np.sqrt(np.einsum("bid,bid->bi", displacement, displacement)), 0.01)
        positions += displacement * (temperature / length)[..., None]
        temperature -= cooling
    return positions


def _pairwise(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(delta, distance)`` between every two points of each layout of a batch ``(batch, n, 2)``;
    a point's distance to itself is infinite."""
    delta = points[:, :, None, :] - points[:, None, :, :]
    distance = np.sqrt(np.einsum("bijd,bijd->bij", delta, delta))
    distance[:, np.arange(points.shape[1]), np.arange(points.shape[1])] = np.inf
    return delta, distance


def _spaced(points: np.ndarray) -> np.ndarray:
    """Each layout of the batch centred on 0 and scaled so that most concepts are at least
    ``NODE_SPACING`` from their nearest neighbour (a force layout packs a hub's neighbours closer
    than the rest; ``separate`` then moves the few still too close)."""
    centred = points - points.mean(axis=1, keepdims=True)
    nearest = np.percentile(_pairwise(centred)[1].min(axis=2), 20, axis=1)
    scale = np.where(nearest > 0, NODE_SPACING / np.maximum(nearest, 1e-9), 1.0)
    return centred * scale[:, None, None]


def separate(points: np.ndarray, gap: float, rounds: int = 8) -> np.ndarray:
    """A batch of layouts with every two points pushed apart until about ``gap`` apart (each
    takes half the push), so that no two concepts, nor their labels, sit on top of each other."""
    points = points.copy()
    for _ in range(rounds):
        delta, distance = _pairwise(points)
        short = np.maximum(gap - distance, 0.0)
        if not short.any():
            break
        push = np.where(short > 0, short / (2 * np.maximum(distance, 1e-6)), 0.0)
        points += np.einsum("bijd,bij->bid", delta, push)
    return points


# -- packing the clusters ---------------------------------------------------------------------------


def pack_discs(radii: Sequence[float]) -> list[tuple[float, float]]:
    """Centres for discs of ``radii`` (largest first) such that no two overlap: the first in the
    middle, the others in rings around it, each ring outside the last, the discs of a ring
    spread evenly round it. O(len(radii)).

    >>> pack_discs([2, 1])
    [(0.0, 0.0), (3.0, 0.0)]
    """
    if not radii:
        return []
    centres = [(0.0, 0.0)]
    inner = radii[0]  # everything placed lies within this distance of the middle
    first = 1
    while first < len(radii):
        ring = inner + radii[first]  # the ring's centre line: its widest disc just touches the inside
        angles, end = _ring_angles(radii, first, ring)
        centres.extend((ring * math.cos(angle), ring * math.sin(angle)) for angle in angles)
        inner = ring + radii[first]
        first = end
    return [(round(x, 6) + 0.0, round(y, 6) + 0.0) for x, y in centres]


def _ring_angles(radii: Sequence[float], first: int, ring: float) -> tuple[list[float], int]:
    """Angles on a ring of radius ``ring`` for discs ``radii[first:end]``: as many as fit, each
    neighbour pair a chord apart at least the sum of their radii, the slack shared out evenly."""
    angles = [0.0]
    end = first + 1
    while end < len(radii):
        step = _chord_angle(ring, radii[end - 1] + radii[end])
        closing = _chord_angle(ring, radii[end] + radii[first])  # from the new last back to the first
        if angles[-1] + step + closing > 2 * math.pi:
            break
        angles.append(angles[-1] + step)
        end += 1
    closing = _chord_angle(ring, radii[end - 1] + radii[first]) if end - first > 1 else 0.0
    slack = (2 * math.pi - angles[-1] - closing) / (end - first)
    return [angle + n * slack for n, angle in enumerate(angles)], end


def _chord_angle(ring: float, chord: float) -> float:
    """The angle between two points on a circle of radius ``ring`` that are ``chord`` apart."""
    return 2 * math.asin(min(1.0, chord / (2 * ring)))


# -- the explorer's elements --------------------------------------------------------------------------


def first_collection(data: Mapping[str, Any]) -> str:
    """The cluster of a node of ``prerequisite_view``: its first collection (its file's)."""
    collections = str(data.get("collections") or "").split()
    return collections[0] if collections else NO_COLLECTION


def overview_elements(view: nx.DiGraph, collection_labels: Mapping[str, str], seed: int = 0) -> dict[str, Any]:
    """The explorer's answer for ``view`` (from ``prerequisite_view``): Cytoscape.js elements with
    positions, and the clusters, collections and relations to draw the legend and filters.

    Nodes carry id, name, prefLabels, collection (id and label), degree and whether they are the
    centre; edges confidence, curated (stated by the author) and relation.
    """
    cluster_of = {node: first_collection(data) for node, data in view.nodes(data=True)}
    layout = overview_layout(view, cluster_of.__getitem__, seed)
    degree = dict(view.degree)
    nodes = []
    for node, data in view.nodes(data=True):
        x, y = layout.positions[node]
        collection = cluster_of[node]
        nodes.append(
            {
                "data": {
                    "id": node,
                    "name": data["name"],
                    "label_ja": data["label_ja"],
                    "label_en": data["label_en"],
                    "collection": collection,
                    "collection_label": collection_labels.get(collection, collection),
                    "degree": degree[node],
                    "center": bool(data["center"]),
                },
                "position": {"x": x, "y": y},
            }
        )
    edges = [
        {
            "data": {
                "source": u,
                "target": v,
                "confidence": data["confidence"],
                "curated": data["curated"],
                "relation": data.get("relation", ""),
            }
        }
        for u, v, data in view.edges(data=True)
    ]
    relations = Counter(e["data"]["relation"] for e in edges if not e["data"]["curated"])
    return {
        "center": view.graph.get("center") or None,
        "clusters": [
            {
                "id": c.id,
                "label": collection_labels.get(c.id, c.id),
                "size": len(c.members),
                "x": c.x,
                "y": c.y,
                "radius": c.radius,
            }
            for c in layout.clusters
        ],
        "relations": [{"relation": name, "edges": count} for name, count in sorted(relations.items())],
        "curated_edges": sum(1 for e in edges if e["data"]["curated"]),
        "elements": {"nodes": nodes, "edges": edges},
    }
