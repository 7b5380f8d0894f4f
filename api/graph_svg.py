"""The prerequisite graph as an accessible SVG: layered, basics on top, nodes that are links.

Drawn on the server (``kg.prereqs.layout``), so a page shows its graph with no script and
no download; ``static/app.js`` only adds pan and zoom. Edges are shaded by
confidence, curated ones (stated by the author) drawn solid and thick, inferred ones
thinner; the centre concept is highlighted. Every node is a focusable link with a
``<title>``, and the picture has a text alternative (``aria-label`` plus the
description the page lists next to it).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import networkx as nx

from kg.prereqs.layout import BOX_HEIGHT, layered_layout


def _lines(data: dict) -> list[str]:
    name, ja = data.get("name", ""), data.get("label_ja", "")
    return [name, ja] if ja and ja != name else [name]


def render_svg(view: nx.DiGraph, title: str, link_prefix: str = "/concept/") -> str:
    """SVG markup of ``view`` (from ``Glossary.prerequisite_view``)."""
    lines = {n: _lines(d) for n, d in view.nodes(data=True)}
    layout = layered_layout(view, lines)
    width, height = max(layout.width, 200), max(layout.height, 80)
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" aria-labelledby="graph-title graph-desc" '
        f'data-nodes="{view.number_of_nodes()}" data-edges="{view.number_of_edges()}">',
        f'<title id="graph-title">{escape(title)}</title>',
        f'<desc id="graph-desc">{escape(_description(view))}</desc>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
        '<g class="viewport">',
    ]
    for u, v, data in view.edges(data=True):
        (x1, y1), (x2, y2) = layout.boxes[u].center, layout.boxes[v].center
        y1 += BOX_HEIGHT / 2
        y2 -= BOX_HEIGHT / 2
        bend = (y2 - y1) / 2
        confidence = float(data.get("confidence", 1.0))
        shade = int(190 - 150 * confidence)
        kind = "curated" if data.get("curated") else "inferred"
        label = f"{view.nodes[u]['name']} → {view.nodes[v]['name']}: {kind}, confidence {confidence:.2f}"
        parts.append(
            f'<path class="edge {kind}" d="M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} '
            f'{x2:.1f},{y2:.1f}" stroke="rgb({shade},{shade},{shade + 20})" data-source="{escape(u)}" '
            f'data-target="{escape(v)}" data-confidence="{confidence:.3f}" marker-end="url(#arrow)">'
            f"<title>{escape(label)}</title></path>"
        )
    for node, data in view.nodes(data=True):
        box = layout.boxes[node]
        css = "node center" if data.get("center") else "node"
        text = lines[node]
        parts.append(
            f'<a href="{link_prefix}{quote(node)}" class="{css}" data-id="{escape(node)}">'
            f"<title>{escape(' | '.join(text))}</title>"
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" rx="8"/>'
        )
        if len(text) == 1:
            parts.append(f'<text x="{box.center[0]:.1f}" y="{box.center[1] + 4.5:.1f}">{escape(text[0])}</text>')
        else:
            parts.append(f'<text x="{box.center[0]:.1f}" y="{box.y + 18:.1f}">{escape(text[0])}</text>'
                         f'<text class="ja" x="{box.center[0]:.1f}" y="{box.y + 35:.1f}">{escape(text[1])}</text>')
        parts.append("</a>")
    parts.append("</g></svg>")
    return "".join(parts)


def _description(view: nx.DiGraph) -> str:
    if not view.number_of_edges():
        return f"{view.number_of_nodes()} concepts and no prerequisite edge between them."
    names = {n: d["name"] for n, d in view.nodes(data=True)}
    edges = "; ".join(f"{names[u]} before {names[v]}" for u, v in list(view.edges)[:40])
    more = "" if view.number_of_edges() <= 40 else f"; and {view.number_of_edges() - 40} more"
    return f"{view.number_of_nodes()} concepts, {view.number_of_edges()} prerequisite edges: {edges}{more}."
