"""A compact, array-backed view of the prerequisite DAG for the questions that touch many nodes.

A learning path only ranks the few ancestors whose chain is strong enough, but it also
reports how many it left out and which known concepts were its ancestors: that means
walking every ancestor, tens of thousands in a 100,000-concept glossary. NetworkX walks
them at a few microseconds a node in Python; here the prerequisites of every node are one
CSR array pair (``indptr``/``indices``) and a breadth-first walk is a few numpy operations
per level, whatever the level's width.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

import networkx as nx
import numpy as np


def concatenated_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``starts[i] .. starts[i] + counts[i] - 1`` for every i, one after the other, without a
    Python loop: the positions of several CSR rows at once."""
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))


class AncestorIndex:
    """The prerequisites of each node of ``dag`` as CSR arrays (node -> its prerequisites)."""

    def __init__(self, dag: nx.DiGraph) -> None:
        self.ids = list(dag.nodes)
        self.position = {node: i for i, node in enumerate(self.ids)}
        self.nodes = len(dag)
        counts = np.fromiter((len(dag._pred[node]) for node in self.ids), dtype=np.int64, count=len(self.ids))
        self.indptr = np.zeros(len(self.ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        position = self.position
        self.indices = np.fromiter((position[p] for node in self.ids for p in dag._pred[node]),
                                   dtype=np.int64, count=int(self.indptr[-1]))

    def reached(self, start: str, blocked: Iterable[str] = (), depth: int | None = None) -> np.ndarray:
        """A mask of the ancestors of ``start`` (itself excluded) reachable in at most ``depth``
        steps without entering a ``blocked`` node (blocked nodes are not in the mask)."""
        seen = np.zeros(len(self.ids), dtype=bool)
        for node in blocked:
            if node in self.position:
                seen[self.position[node]] = True
        stop = seen.copy()
        origin = self.position[start]
        seen[origin] = True
        frontier = np.array([origin], dtype=np.int64)
        stamp = np.empty(len(self.ids), dtype=np.int64)  # only positions written in this call are read
        level = 0
        while frontier.size and (depth is None or level < depth):
            starts = self.indptr[frontier]
            counts = self.indptr[frontier + 1] - starts
            total = int(counts.sum())
            if not total:
                break
            neighbours = self.indices[concatenated_ranges(starts, counts)]
            neighbours = neighbours[~seen[neighbours]]
            # Each new node once, without sorting: the last write of a position wins.
            order = np.arange(len(neighbours))
            stamp[neighbours] = order
            frontier = neighbours[stamp[neighbours] == order]
            seen[frontier] = True
            level += 1
        seen[origin] = False
        return seen & ~stop

    def count(self, start: str, blocked: Iterable[str] = (), depth: int | None = None) -> int:
        return int(self.reached(start, blocked, depth).sum())

    def ancestors_of_any(self, starts: Iterable[str]) -> set[str]:
        """Every ancestor of any of ``starts`` (those not in the DAG are ignored)."""
        mask = np.zeros(len(self.ids), dtype=bool)
        for start in starts:
            if start in self.position:
                mask |= self.reached(start)
        return {self.ids[i] for i in np.flatnonzero(mask).tolist()}

    def among_ancestors(self, start: str, nodes: Iterable[str]) -> list[str]:
        """Those of ``nodes`` that are ancestors of ``start``, sorted."""
        nodes = [n for n in nodes if n in self.position]
        if not nodes:
            return []
        mask = self.reached(start)
        return sorted(n for n in nodes if mask[self.position[n]])


_INDEXES: weakref.WeakKeyDictionary[nx.DiGraph, AncestorIndex] = weakref.WeakKeyDictionary()


def ancestor_index(dag: nx.DiGraph) -> AncestorIndex:
    """The index of ``dag``, built on first use and kept while the DAG lives. A DAG is not
    changed once built (curation re-infers it); a change of its node count is still noticed
    (counting edges would walk them all)."""
    index = _INDEXES.get(dag)
    if index is None or index.nodes != len(dag):
        index = _INDEXES[dag] = AncestorIndex(dag)
    return index
