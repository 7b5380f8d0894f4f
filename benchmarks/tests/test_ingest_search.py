"""The search and HTTP benchmarks on the small fixture glossary with the hashing encoder:
every figure is a positive time beside a baseline from the same run."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api.app import create_app
from benchmarks.__main__ import bench
from benchmarks.ingest_search import (
    DEFAULT_QUERIES,
    bench_http,
    bench_search,
    caches_bypassed,
    format_search_rows,
    load_queries,
)
from kg.settings import Settings

QUERIES = ["勾配降下法", "Deep Learning", "many layers of neural networks", "過学習を防ぐ"]


@pytest.fixture(scope="module")
def search_rows(fixtures):
    return bench_search([fixtures / "glossary"], QUERIES, Settings(model="fake"), repeat=1)


def test_search_benchmark_rows_sit_beside_their_baselines(search_rows):
    encode = [r for r in search_rows if r["group"] == "encode"]
    assert encode[0]["name"].startswith("baseline") and encode[0]["ratio"] == 1.0
    assert all(r["median_s"] > 0 and r["concepts_per_s"] > 0 and r["ratio"] > 0 for r in encode)
    latency = [r for r in search_rows if r["group"] != "encode"]
    assert {r["group"] for r in latency} == {"with encoder", "without encoder (vector given)",
                                            "repeated query (LRU hit)"}
    assert sum(1 for r in latency if r["name"].startswith("baseline") and r["ratio"] == 1.0) == 2
    assert all(0 < r["p50_ms"] <= r["p99_ms"] and r["ratio"] > 0 and r["samples"] == len(QUERIES)
               for r in latency)
    text = format_search_rows(search_rows)
    assert "concepts/s" in text and "util.semantic_search" in text and "p99" in text


def test_caches_are_bypassed_then_put_back(fixtures):
    from ingest import ingest_paths
    from kg.glossary import Glossary

    glossary = Glossary.from_ingest(ingest_paths([fixtures / "glossary"]), Settings(model="fake"))
    engine = glossary.engine
    answers, vectors = engine._answers, engine.semantic._queries
    with caches_bypassed(engine):
        glossary.search("Deep Learning")
        assert len(answers) == 0 and len(vectors) == 0
    assert engine._answers is answers and engine.semantic._queries is vectors
    glossary.search("Deep Learning")
    assert len(answers) == 1 and len(vectors) == 1


def test_http_benchmark_times_a_real_server(fixtures):
    rows = bench_http([fixtures / "glossary"], QUERIES[:2], Settings(model="fake"), create_app, repeat=1)
    latency = [r for r in rows if r["group"] != "startup"]
    assert all(r["p50_ms"] > 0 and r["ratio"] > 0 for r in latency)
    assert [r["ratio"] for r in latency if r["name"].startswith("in-process")] == [1.0, 1.0]
    assert any("target" in r["note"] for r in latency)
    startup = [r for r in rows if r["group"] == "startup"]
    assert len(startup) == 3 and all(r["seconds"] > 0 for r in startup)
    assert "GET /search" in format_search_rows(rows)


def test_queries_come_from_tsv_files_or_the_defaults(tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("query\tlabels\n勾配降下法\tGradient Descent\n勾配降下法\tSGD\nMoE\tMixture of Experts\n",
                    encoding="utf-8")
    assert load_queries([path]) == ["勾配降下法", "MoE"]
    assert load_queries([]) == list(DEFAULT_QUERIES)


def test_cli_bench_search_json_and_ingest_by_default(fixtures, tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("query\tlabels\nDeep Learning\tDeep Learning\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(bench, ["search", str(fixtures / "glossary"), "--queries", str(queries),
                                 "--repeat", "1", "--json", "--model", "fake"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["group"] == "encode" and all(r["ratio"] > 0 for r in rows)
    # `python -m benchmarks PATHS` (no target) is the ingest benchmark
    plain = runner.invoke(bench, [str(fixtures / "glossary"), "--repeat", "1", "--json"])
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.output)[0]["name"].startswith("baseline: markdown-it")


def test_bench_prints_ingest_beside_its_baseline(fixtures):
    result = CliRunner().invoke(bench, [str(fixtures / "glossary"), "--repeat", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["name"].startswith("baseline") and rows[0]["ratio"] == 1.0
    assert all(r["median_s"] > 0 and r["ratio"] > 0 for r in rows)
    assert "concepts" in rows[1]["note"]
