"""Explained paths: the shortest chain of links between two concepts, with the sentence behind each step.

Links are followed in either direction (a chain "A uses B, C uses B" connects A
and C), but each step says which way the link really goes and quotes the
sentence of the definition that makes it. Among chains of the same length the
one through stronger links (more references) is preferred.
"""

from __future__ import annotations

import functools
import itertools
import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from kg.errors import BadParameterError, NoPathError, NotFoundError
from kg.text import plain_text

if TYPE_CHECKING:
    from kg.glossary import Glossary
    from kg.model import Concept

MAX_ALTERNATIVES = 5
DEFAULT_MAX_LENGTH = 12  # steps; the diameter of the largest linked group of the real corpus is 9
MAX_LENGTH = 50
#: Alternatives are at most this many steps longer than the shortest chain ("next-shortest").
ALTERNATIVE_SLACK = 1
#: Up to this many concepts, the cheapest chain between every two of them is worked out once per
#: graph (scipy's Dijkstra, in C, from every concept: a predecessor matrix of 4 bytes a pair, 4 MB
#: at this size) and a path without alternatives is only read off it; a larger graph searches each
#: pair on request.
ALL_PAIRS_MAX_CONCEPTS = 1000


@dataclass
class PathStep:
    """One step of a chain: from ``source`` to ``target`` over one link.

    ``direction`` is ``uses`` when ``source``'s definition uses ``target`` and
    ``used_by`` when it is the other way round; ``mutual`` when both definitions
    use each other. ``evidence`` is the first sentence holding the link reported.
    """

    source: str
    source_name: str
    target: str
    target_name: str
    direction: str
    mutual: bool
    kinds: list[str]
    count: int
    evidence: str | None

    @property
    def explanation(self) -> str:
        user, used = (
            (self.source_name, self.target_name) if self.direction == "uses" else (self.target_name, self.source_name)
        )
        if self.kinds == ["broader"]:
            text = f"{user} is narrower than {used}"
        else:
            text = f"{user}'s definition uses {used}"
        return text + (" (and the other way round)" if self.mutual else "")

    def to_dict(self) -> dict[str, Any]:
        return dict(self._dict)

    @functools.cached_property
    def _dict(self) -> dict[str, Any]:
        # A step is shared by every chain through its link (see ``_steps``): its fields are laid
        # out once, and the answers' dicts hold this one, not to be changed.
        return {
            "source": {"id": self.source, "name": self.source_name},
            "target": {"id": self.target, "name": self.target_name},
            "direction": self.direction,
            "mutual": self.mutual,
            "explanation": self.explanation,
            "kinds": self.kinds,
            "count": self.count,
            "evidence": self.evidence,
        }


@dataclass
class PathAnswer:
    """The shortest chain from ``source`` to ``target`` and, when asked, alternatives
    (each a list of steps, shortest first). A concept and itself: zero steps."""

    source: str
    source_name: str
    target: str
    target_name: str
    steps: list[PathStep]
    alternatives: list[list[PathStep]] = field(default_factory=list)

    @property
    def length(self) -> int:
        return len(self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": {"id": self.source, "name": self.source_name},
            "target": {"id": self.target, "name": self.target_name},
            "length": self.length,
            "concepts": _chain(self.source, self.source_name, self.steps),
            "steps": [step._dict for step in self.steps],
            "alternatives": [
                {
                    "length": len(steps),
                    "concepts": _chain(self.source, self.source_name, steps),
                    "steps": [step._dict for step in steps],
                }
                for steps in self.alternatives
            ],
        }

    def to_text(self) -> str:
        """For the terminal: the chain on one line, then each step with its sentence."""
        if not self.steps:
            return f"{self.source_name} ({self.source}) and {self.target_name} ({self.target}) are the same concept"
        lines = _steps_text(self.source_name, self.steps)
        for n, steps in enumerate(self.alternatives, 1):
            lines.append("")
            lines.append(f"Alternative {n}:")
            lines.extend("  " + line for line in _steps_text(self.source_name, steps))
        return "\n".join(lines)


def _chain(source: str, source_name: str, steps: list[PathStep]) -> list[dict[str, str]]:
    return [{"id": source, "name": source_name}] + [{"id": s.target, "name": s.target_name} for s in steps]


def _steps_text(source_name: str, steps: list[PathStep]) -> list[str]:
    plural = "step" if len(steps) == 1 else "steps"
    lines = [" -> ".join([source_name] + [s.target_name for s in steps]) + f"  ({len(steps)} {plural})"]
    for n, step in enumerate(steps, 1):
        kinds = ", ".join(step.kinds)
        lines.append(f"  {n}. {step.explanation}  [{kinds}]")
        if step.evidence:
            lines.append(f"     \u201c{' '.join(step.evidence.split())}\u201d")
    return lines


def explain_path(
    glossary: Glossary,
    source: str,
    target: str,
    alternatives: int = 0,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> PathAnswer:
    """The shortest chain of links between two concepts, each step explained.

    Args:
        glossary: the glossary to look in.
        source, target: ids or any labels of the two concepts.
        alternatives: how many further distinct chains to give (0-5): the next
            shortest simple chains, at most one step longer than the shortest.
        max_length: longest chain given, in steps (1-50).

    Returns:
        The answer; zero steps when both name the same concept.

    Raises:
        NotFoundError: ``source`` or ``target`` names no concept (``parameter`` says
            which; ``suggestions`` holds close labels).
        NoPathError: no chain of links connects them, or none within ``max_length``.
        BadParameterError: ``alternatives`` or ``max_length`` out of range.
    """
    if not 0 <= alternatives <= MAX_ALTERNATIVES:
        raise BadParameterError(f"alternatives must be between 0 and {MAX_ALTERNATIVES}", parameter="alternatives")
    if not 1 <= max_length <= MAX_LENGTH:
        raise BadParameterError(f"max_length must be between 1 and {MAX_LENGTH}", parameter="max_length")
    start = _resolve(glossary, source, "source")
    end = _resolve(glossary, target, "target")
    answer = PathAnswer(start.id, start.name, end.id, end.name, [])
    if start.id == end.id:
        return answer

    graph = link_graph(glossary.graph)
    component, component_sizes = graph.graph["component"], graph.graph["component_sizes"]
    if component[start.id] != component[end.id]:
        sizes = (component_sizes[component[start.id]], component_sizes[component[end.id]])
        raise NoPathError(
            f"{start.name} and {end.name} are not connected through the glossary's links "
            f"(the linked groups they belong to hold {sizes[0]} and {sizes[1]} concepts)",
            source=start.id,
            target=end.id,
            source_component=sizes[0],
            target_component=sizes[1],
        )
    cheapest = _cheapest_chain(graph, start.id, end.id)
    # The cheapest chain is a shortest one (see ``link_graph``): its steps are the hops.
    hops = len(cheapest) - 1
    if hops > max_length:
        raise NoPathError(
            f"the shortest chain between {start.name} and {end.name} has {hops} steps, more than "
            f"max_length={max_length}",
            source=start.id,
            target=end.id,
            length=hops,
            max_length=max_length,
        )
    answer.steps = _steps(glossary, cheapest)
    if alternatives == 0:
        return answer
    # Yen's algorithm, lazily: simple paths in order of cost, so it ends on cyclic and
    # self-linked graphs, and at most 2 + alternatives paths are ever computed. Its first may be
    # another chain of the very same cost; the one answered above stays first either way.
    longest = min(max_length, hops + ALTERNATIVE_SLACK)
    others = (chain for chain in nx.shortest_simple_paths(graph, start.id, end.id, weight="cost")
              if chain != cheapest)
    for chain in itertools.islice(others, alternatives):
        if len(chain) - 1 > longest:
            break  # costs grow with length: every later chain is longer still
        answer.alternatives.append(_steps(glossary, chain))
    return answer


def _cheapest_chain(graph: nx.Graph, start: str, end: str) -> list[str]:
    """The cheapest chain from ``start`` to ``end`` (in one linked group): read off the
    predecessor matrix when the graph has one, else a bidirectional Dijkstra search."""
    predecessors = graph.graph["predecessors"]
    if predecessors is None:
        return nx.bidirectional_dijkstra(graph, start, end, weight="cost")[1]
    index, nodes = graph.graph["index"], graph.graph["nodes"]
    source, chain = index[start], [index[end]]
    while chain[-1] != source:
        chain.append(predecessors[source, chain[-1]])
    return [nodes[i] for i in reversed(chain)]


def _resolve(glossary: Glossary, ref: str, parameter: str) -> Concept:
    try:
        return glossary.get(ref)
    except NotFoundError as error:
        raise NotFoundError(f"{parameter}: {error.message}", parameter=parameter, **error.details) from None


def _steps(glossary: Glossary, path: list[str]) -> list[PathStep]:
    made: dict[tuple[str, str], PathStep] = link_graph(glossary.graph).graph["steps"]
    steps = []
    for a, b in itertools.pairwise(path):
        step = made.get((a, b))
        if step is None:  # one link's step (its sentence made plain) is the same in every chain
            step = made[a, b] = _step(glossary, a, b)
        steps.append(step)
    return steps


def _step(glossary: Glossary, a: str, b: str) -> PathStep:
    directed = glossary.graph
    forward, backward = directed.get_edge_data(a, b), directed.get_edge_data(b, a)
    data = forward if forward is not None else backward
    sentences = data.get("sentences") or []
    return PathStep(
        source=a,
        source_name=glossary.concepts[a].name,
        target=b,
        target_name=glossary.concepts[b].name,
        direction="uses" if forward is not None else "used_by",
        mutual=forward is not None and backward is not None,
        kinds=sorted(data.get("kinds") or ()),
        count=int(data.get("count") or 1),
        evidence=plain_text(sentences[0]) if sentences else None,
    )


_LINK_GRAPHS: weakref.WeakKeyDictionary[nx.DiGraph, nx.Graph] = weakref.WeakKeyDictionary()
_LINK_GRAPHS_LOCK = threading.Lock()


def link_graph(directed: nx.DiGraph) -> nx.Graph:
    """The link graph without directions, built once per graph (``api.answers.warm`` builds it
    as soon as a version is served, ahead of the first ``/path``).

    ``graph.graph`` holds the linked group of each concept (``component``, ``component_sizes``),
    the steps made so far (``steps``) and, up to ``ALL_PAIRS_MAX_CONCEPTS`` concepts, the
    predecessor matrix of the cheapest chains (``predecessors``, ``index``, ``nodes``).

    Edge ``cost`` is 1 plus a tie-breaker below ``1 / nodes`` that is smaller for
    stronger links (references both ways added up). A simple path has fewer edges
    than there are nodes, so the tie-breakers of a whole path add up to less than
    one step: the cheapest path is always a shortest one, and among the shortest
    the one through the strongest links.
    """
    with _LINK_GRAPHS_LOCK:
        graph = _LINK_GRAPHS.get(directed)
        if graph is not None:
            return graph
        graph = nx.Graph()
        graph.add_nodes_from(directed)
        for a, b, data in directed.edges(data=True):
            if a == b:
                continue  # a self-link explains nothing and is no step
            strength = int(data.get("count") or 1)
            if graph.has_edge(a, b):
                graph[a][b]["strength"] += strength
            else:
                graph.add_edge(a, b, strength=strength)
        nodes = max(2, graph.number_of_nodes())
        for _a, _b, data in graph.edges(data=True):
            data["cost"] = 1.0 + 1.0 / ((1 + data["strength"]) * nodes)
        # Which linked group each concept is in, so that two concepts with no chain between
        # them are told so at once, not after a search of the whole group.
        component: dict[str, int] = {}
        sizes: list[int] = []
        for members in nx.connected_components(graph):
            component.update(dict.fromkeys(members, len(sizes)))
            sizes.append(len(members))
        graph.graph.update(component=component, component_sizes=sizes, steps={},
                           predecessors=None, index=None, nodes=None)
        if graph.number_of_nodes() <= ALL_PAIRS_MAX_CONCEPTS:
            nodes_list = list(graph)
            index = {node: i for i, node in enumerate(nodes_list)}
            rows, cols, costs = [], [], []
            for a, b, cost in graph.edges(data="cost"):
                rows += (index[a], index[b])
                cols += (index[b], index[a])
                costs += (cost, cost)
            matrix = csr_array((costs, (rows, cols)), shape=(len(nodes_list), len(nodes_list)))
            _, predecessors = dijkstra(matrix, directed=True, return_predecessors=True)
            # A memoryview gives Python ints, read faster than numpy's scalars.
            graph.graph.update(predecessors=memoryview(predecessors.astype(np.int32)), index=index, nodes=nodes_list)
        _LINK_GRAPHS[directed] = graph
        return graph
