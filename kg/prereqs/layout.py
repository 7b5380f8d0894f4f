"""A layered (Sugiyama-style) layout of a DAG: basics on top, each concept below what it needs.

Layers are longest-path depths from the sources, so every edge points downwards; the
order within a layer is improved by barycenter sweeps (each node moves towards the
mean position of its neighbours in the layer above, then below), which removes most
crossings on graphs of the size a page shows. Node boxes are sized from their labels.
Nothing here draws: ``api.graph_svg`` turns the result into SVG.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import networkx as nx

LAYER_GAP = 90  # vertical distance between layer tops
NODE_GAP = 24  # horizontal space between boxes
BOX_HEIGHT = 44
MARGIN = 20


@dataclass
class Box:
    x: float  # left
    y: float  # top
    width: float
    height: float = BOX_HEIGHT

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2


@dataclass
class Layout:
    boxes: dict[str, Box] = field(default_factory=dict)
    layers: list[list[str]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def text_width(text: str, size: float = 13.0) -> float:
    """Rough rendered width: wide (CJK) characters count a full em, others about half.

    >>> text_width("AB") < text_width("深層")
    True
    """
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.58 for c in text)


def layered_layout(graph: nx.DiGraph, lines: dict[str, list[str]] | None = None, sweeps: int = 6) -> Layout:
    """Positions for every node of the DAG ``graph``.

    Args:
        graph: a DAG (edges point from prerequisite to dependent).
        lines: the text lines of each node's box (for its width); default: the node id.
        sweeps: barycenter passes (down and up each count as one).
    """
    lines = lines or {}
    depth: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        depth[node] = max((depth[p] + 1 for p in graph.predecessors(node)), default=0)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in sorted(graph, key=lambda n: (graph.nodes[n].get("name", n).casefold(), n)):
        layers[depth[node]].append(node)
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        order = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for i in order:
            ref = {n: k for k, n in enumerate(layers[i - 1 if down else i + 1])}
            here = {n: k for k, n in enumerate(layers[i])}  # a node with no neighbour there stays put
            neighbours = graph.predecessors if down else graph.successors
            scale = len(layers[i]) / max(len(ref), 1)

            def barycenter(node: str, ref=ref, here=here, neighbours=neighbours, scale=scale) -> float:
                seen = [ref[m] for m in neighbours(node) if m in ref]
                return sum(seen) / len(seen) * scale if seen else here[node]

            layers[i].sort(key=barycenter)
    widths = {n: max(text_width(t) for t in (lines.get(n) or [n])) + 20 for n in graph}
    row_widths = [sum(widths[n] for n in layer) + NODE_GAP * max(len(layer) - 1, 0) for layer in layers]
    canvas = max(row_widths, default=0) + 2 * MARGIN
    layout = Layout(layers=layers, width=canvas, height=len(layers) * LAYER_GAP - (LAYER_GAP - BOX_HEIGHT) + 2 * MARGIN)
    for i, layer in enumerate(layers):
        x = (canvas - row_widths[i]) / 2
        for node in layer:
            layout.boxes[node] = Box(x, MARGIN + i * LAYER_GAP, widths[node])
            x += widths[node] + NODE_GAP
    return layout
