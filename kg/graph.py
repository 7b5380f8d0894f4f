"""The NetworkX view of the concept graph: who links to whom, with the evidence."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from kg.model import Concept

#: Evidence sentences kept per edge, the first distinct ones (``count`` counts every link).
#: Later layers show the first three and read all of them for prerequisite cues; a
#: definition that names one term thousands of times would otherwise make each of its
#: links scan a list as long as their number.
MAX_EDGE_SENTENCES = 32


def link_graph(concepts: Iterable[Concept]) -> nx.DiGraph:
    """Directed graph: an edge A -> B when A's definition links to or mentions B,
    or A is narrower than B (``kind="broader"``).

    Node attributes: ``name``. Edge attributes: ``kinds`` (set of link kinds),
    ``count`` (how many times), ``sentences`` (evidence, in order, no repeats, at most
    ``MAX_EDGE_SENTENCES``).
    """
    graph = nx.DiGraph()
    concepts = list(concepts)
    for concept in concepts:
        graph.add_node(concept.id, name=concept.name)
    for concept in concepts:
        for link in concept.links:
            if link.target == concept.id or link.target not in graph:
                continue
            data = graph.get_edge_data(concept.id, link.target)
            if data is None:
                graph.add_edge(
                    concept.id,
                    link.target,
                    kinds={link.kind},
                    count=1,
                    sentences=[link.sentence] if link.sentence else [],
                )
            else:
                data["kinds"].add(link.kind)
                data["count"] += 1
                sentences = data["sentences"]
                if link.sentence and len(sentences) < MAX_EDGE_SENTENCES and link.sentence not in sentences:
                    sentences.append(link.sentence)
        for parent in concept.broader:
            if parent in graph and parent != concept.id:
                if graph.has_edge(concept.id, parent):
                    graph[concept.id][parent]["kinds"].add("broader")
                else:
                    graph.add_edge(concept.id, parent, kinds={"broader"}, count=1, sentences=[])
    return graph
