"""The played reviewer (benchmarks.review): answers act as the author's corrections do."""
from __future__ import annotations

import networkx as nx

from benchmarks.review import _answered, format_table


def test_answers_act_as_curation():
    dag = nx.DiGraph()
    for a, b in (("b", "a"), ("c", "a")):
        dag.add_edge(a, b, confidence=0.6, evidence="", reasons=("x",), curated=False, relation="uses", words="")
    after = _answered(dag, [("a", "b", True), ("c", "a", False), ("d", "a", True)])
    assert after.has_edge("a", "b") and after.edges["a", "b"]["curated"] and not after.has_edge("b", "a")
    assert not after.has_edge("c", "a") and after.edges["d", "a"]["relation"] == "stated"
    assert dag.has_edge("b", "a")  # the DAG given is left as it was


def test_the_table_says_each_checkpoint():
    row = {"answers": 10, "yes": 4, "wrong_listed": 0.1, "genuine_listed": 0.5, "clean_paths": 0.9,
           "median_length": 2, "unjudged": 3}
    table = format_table({"questions": 99, "answerable": 12, "checkpoints": [row]})
    assert "| 10 | 4 | 10.0% | 50.0% | 90.0% | 2 | 3 |" in table and "12 of them" in table
