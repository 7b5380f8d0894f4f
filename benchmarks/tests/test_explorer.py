"""The explorer benchmark builds its synthetic store and reports every measure for each store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.pages import bench_graph_explorer, format_explorer, synthetic_store
from kg import Settings
from kg.store.versions import update_store


def test_explorer_benchmark_on_two_small_stores(tmp_path, fixtures):
    if not Path("/usr/bin/chromium").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing: .ci/run installs it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    small = Settings(store=tmp_path / "small" / "store", model="fake", reload_interval=0)
    assert update_store([fixtures / "glossary"], small).version
    synthetic = synthetic_store(60, tmp_path / "synthetic")
    assert synthetic_store(60, tmp_path / "synthetic") == synthetic  # built once, then reused
    rows = bench_graph_explorer([("fixtures", small), ("synthetic 60", synthetic)], loads=1, frames=10)
    names = {row["name"] for row in rows}
    assert {
        "/overview: navigation to first frame",
        "pan by mouse drag, default zoom",
        "'Whole graph' button to drawn",
    } <= names
    assert {row["store"] for row in rows} == {"fixtures", "synthetic 60"}
    assert all(0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"] for row in rows)
    assert "navigation to first frame" in format_explorer(rows)
