"""A short load run on a real `kg serve` with a new store version swapped in half-way: no request
may fail (the full 30-second figures come from `python -m benchmarks load`, see the README)."""
from __future__ import annotations

from benchmarks.load import bench_load, format_load
from kg import Settings
from kg.store.versions import Store, update_store


def test_a_reload_under_load_drops_no_request(tmp_path, fixtures):
    settings = Settings(store=tmp_path / "store", model="fake")
    first = update_store([fixtures / "glossary"], settings).version
    rows = bench_load(settings, seconds=4, connections=8, workers=1, only=["graph"], reload=True)
    print(format_load(rows))
    (row,) = rows
    assert row["requests"] > 100 and row["errors"] == 0, row
    assert row["reloaded_to"] == Store(settings.store).current_version() != first
