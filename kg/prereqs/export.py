"""The prerequisite graph for other tools: GraphML, DOT and Cytoscape.js JSON, whole or around a concept.

``prerequisite_view`` cuts the part to show (the web pages draw the same part);
``export_graph`` writes it. Nodes carry their name, prefLabels and collections;
edges their confidence, whether the author stated them (``curated``), the relation
the text states (``kg.prereqs.relations``), the evidence sentence and the reasons.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import networkx as nx

from kg.errors import BadParameterError, NotFoundError

if TYPE_CHECKING:
    from kg.glossary import Glossary

Direction = Literal["path", "prerequisites", "dependents", "both"]
MAX_DEPTH = 20


def prerequisite_view(glossary: Glossary, center: str | None = None, depth: int | None = 2,
                      direction: Direction = "both", collection: str | None = None) -> nx.DiGraph:
    """The prerequisite DAG, whole or around ``center``, as a graph ready to draw or export.

    Args:
        glossary: the glossary.
        center: an id or label; None for the whole glossary.
        depth: steps from ``center`` (None: any); ignored without a center.
        direction: around a center, ``path``: its learning path and direct dependents (``depth``
            unused); or follow ``prerequisites`` (what it needs), ``dependents`` (what needs it)
            or ``both`` for ``depth`` steps.
        collection: keep only members of this collection (id or label).

    Raises:
        NotFoundError: ``center`` names no concept.
        BadParameterError: a bad depth, direction or collection (``parameter`` says which).
    """
    if depth is not None and not 0 <= depth <= MAX_DEPTH:
        raise BadParameterError(f"depth must be between 0 and {MAX_DEPTH}", parameter="depth")
    if direction not in ("path", "prerequisites", "dependents", "both"):
        raise BadParameterError("direction must be path, prerequisites, dependents or both", parameter="direction")
    dag = glossary.prerequisites
    nodes = set(dag)
    center_id = None
    if center is not None:
        try:
            center_id = glossary.get(center).id
        except NotFoundError as error:
            raise NotFoundError(f"center: {error.message}", parameter="center", **error.details) from None
        nodes = {center_id}
        if direction == "path":
            nodes |= {step["id"] for step in glossary.learning_path(center_id)["path"]} | set(dag.successors(center_id))
        for follow, wanted in ((dag.predecessors, ("prerequisites", "both")), (dag.successors, ("dependents", "both"))):
            if direction in wanted:
                nodes |= _within(follow, center_id, depth)
    if collection:
        collection_id = _collection_id(glossary, collection)
        nodes = {n for n in nodes if collection_id in glossary.concepts[n].collections or n == center_id}
    view = nx.DiGraph(center=center_id or "")
    for node in sorted(nodes):
        concept = glossary.concepts[node]
        pref = concept.pref_labels()
        view.add_node(node, name=concept.name, label_ja=pref.get("ja", ""), label_en=pref.get("en", ""),
                      collections=" ".join(concept.collections), center=node == center_id)
    for u, v, data in dag.subgraph(nodes).edges(data=True):
        view.add_edge(u, v, confidence=round(float(data["confidence"]), 3), curated=bool(data.get("curated")),
                      relation=data.get("relation") or "", evidence=data.get("evidence") or "",
                      reasons="; ".join(data.get("reasons") or ()))
    return view


def _within(follow: Callable, start: str, depth: int | None) -> set[str]:
    seen, frontier, step = set(), [start], 0
    while frontier and (depth is None or step < depth):
        frontier = [n for node in frontier for n in follow(node) if n not in seen and n != start]
        seen.update(frontier)
        step += 1
    return seen


def _collection_id(glossary: Glossary, ref: str) -> str:
    if ref in glossary.collections:
        return ref
    for collection in glossary.collections.values():
        if collection.label == ref:
            return collection.id
    raise BadParameterError(f"no collection with id or label {ref!r}", parameter="collection",
                            choices=sorted(glossary.collections)[:50])


# -- writers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphFormat:
    name: str
    media_type: str
    suffix: str
    write: Callable[[nx.DiGraph], bytes]


def _graphml(view: nx.DiGraph) -> bytes:
    buffer = io.BytesIO()
    nx.write_graphml(view, buffer, encoding="utf-8", prettyprint=True, named_key_ids=True)
    return buffer.getvalue()


def _dot_quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot(view: nx.DiGraph) -> bytes:
    """Graphviz DOT, laid out top-down (basics on top); curated edges bold, the rest
    shaded by confidence."""
    lines = ["digraph prerequisites {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", '
             'fillcolor="#f5f7fa", fontname="Noto Sans CJK JP"];']
    for node, data in view.nodes(data=True):
        label = data["name"] if not data["label_ja"] or data["label_ja"] == data["name"] else \
            f"{data['name']}\n{data['label_ja']}"
        extra = ', fillcolor="#ffe08a", penwidth=2' if data["center"] else ""
        lines.append(f"  {_dot_quote(node)} [label={_dot_quote(label)}{extra}];")
    for u, v, data in view.edges(data=True):
        grey = int(200 - 170 * data["confidence"])
        style = "bold" if data["curated"] else "solid"
        lines.append(f"  {_dot_quote(u)} -> {_dot_quote(v)} [color=\"#{grey:02x}{grey:02x}{grey:02x}\", "
                     f"style={style}, tooltip={_dot_quote(data['reasons'])}];")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _cytoscape(view: nx.DiGraph) -> bytes:
    """Cytoscape.js elements JSON (``cy.add(data.elements)``)."""
    data = nx.cytoscape_data(view)
    data["data"] = dict(data["data"])  # graph attributes as an object, as Cytoscape.js expects
    for edge in data["elements"]["edges"]:  # stable ids, so a client can diff two answers
        edge["data"]["id"] = f"{edge['data']['source']}->{edge['data']['target']}"
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


GRAPH_FORMATS: dict[str, GraphFormat] = {
    f.name: f
    for f in (
        GraphFormat("graphml", "application/graphml+xml", ".graphml", _graphml),
        GraphFormat("dot", "text/vnd.graphviz", ".dot", _dot),
        GraphFormat("cytoscape", "application/json", ".json", _cytoscape),
    )
}


def graph_format(name: str) -> GraphFormat:
    """The graph format called ``name`` (case-insensitive).

    >>> graph_format("GraphML").media_type
    'application/graphml+xml'
    """
    found = GRAPH_FORMATS.get(name.strip().lower())
    if found is None:
        raise BadParameterError(f"unknown graph format {name!r}; use one of {', '.join(GRAPH_FORMATS)}",
                                parameter="format", choices=list(GRAPH_FORMATS))
    return found


def export_graph(view: nx.DiGraph, fmt: str) -> tuple[bytes, str]:
    """``(data, media_type)`` of ``view`` in format ``fmt`` (graphml, dot or cytoscape)."""
    chosen = graph_format(fmt)
    return chosen.write(view), chosen.media_type
