"""The HTTP benchmark runs against a real server and reports each endpoint beside /health."""
from __future__ import annotations

from benchmarks.http import bench_graph_http, format_latency
from kg import Settings
from kg.store.versions import update_store


def test_graph_http_benchmark_on_a_small_store(tmp_path, fixtures):
    settings = Settings(store=tmp_path / "store", model="fake", reload_interval=0)
    assert update_store([fixtures / "glossary"], settings).exit_code == 0
    rows = bench_graph_http(settings, rounds=5)
    assert rows[0]["name"].startswith("baseline") and rows[0]["ratio"] == 1.0
    assert {r["name"] for r in rows} >= {"GET /concepts/{id}/prerequisites", "GET /path", "GET /concepts/{id}/related"}
    assert all(r["p50_ms"] > 0 and r["p99_ms"] >= r["p50_ms"] for r in rows)
    assert "x base" in format_latency(rows)
