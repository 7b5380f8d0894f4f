"""Benchmarks that print our figures beside a baseline measured in the same run.

Absolute times on shared machines are noise; the ratio to a baseline run
side by side is what to compare between commits.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median and best wall time of ``repeat`` calls (after one warm-up call)."""
    value = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), value


def bench_ingest(paths: list[Path], repeat: int = 5) -> list[dict[str, Any]]:
    """Time the ingest of ``paths`` (parse, merge, links, NetworkX and RDF graph; no embeddings).

    Baseline: markdown-it-py tokenising the same files and nothing else, the floor
    any Markdown ingest pays.

    Returns:
        One row per measurement: name, median and best seconds, ratio to baseline, note.
    """
    from ingest import ingest_paths
    from ingest.markdown import make_parser
    from ingest.reader import discover
    from kg import Glossary

    files, _ = discover(paths)
    texts = [item.path.read_text(encoding="utf-8", errors="replace") for item in files if item.kind == "markdown"]
    parser = make_parser()

    def baseline() -> int:
        return sum(len(parser.parse(text)) for text in texts)

    def ingest_only():
        return ingest_paths(paths)

    def full():
        glossary = Glossary.from_ingest(ingest_paths(paths))
        _ = glossary.graph
        return glossary, len(glossary.to_rdf())

    base_median, base_best, _ = _timed(baseline, repeat)
    rows = [{"name": "baseline: markdown-it tokenize only", "median_s": base_median, "best_s": base_best,
             "ratio": 1.0, "note": f"{len(texts)} files"}]
    median, best, result = _timed(ingest_only, repeat)
    rows.append({"name": "ingest (parse, merge, links, mentions)", "median_s": median, "best_s": best,
                 "ratio": median / base_median, "note": f"{len(result.concepts)} concepts"})
    median, best, (glossary, triples) = _timed(full, repeat)
    rows.append({"name": "ingest + NetworkX + RDF graph", "median_s": median, "best_s": best,
                 "ratio": median / base_median,
                 "note": f"{glossary.graph.number_of_edges()} edges, {triples} triples"})
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["name"]) for r in rows)
    lines = [f"{'measurement':<{width}}  {'median':>9}  {'best':>9}  {'x base':>7}  note"]
    for r in rows:
        lines.append(f"{r['name']:<{width}}  {r['median_s'] * 1000:>7.1f}ms  {r['best_s'] * 1000:>7.1f}ms  "
                     f"{r['ratio']:>7.2f}  {r['note']}")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m kg.bench PATH...
    import sys

    targets = [Path(p) for p in sys.argv[1:]] or [Path(__file__).resolve().parent.parent / "data"]
    print(format_rows(bench_ingest(targets)))
