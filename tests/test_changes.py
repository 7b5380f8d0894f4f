"""The change feed: kg diff and GET /changes between store versions."""
from __future__ import annotations

import json

from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import cli
from kg import Settings
from kg.store.changes import store_changes
from kg.store.versions import Store, update_store

V1 = """## Alpha
- Alpha is built on Beta.

## Beta
- The base.

## Gamma | Gee
- A thing.

## Epsilon
- Going away.
"""
V2 = """## Alpha
- Alpha is a kind of Gamma now.

## Beta
- The base.

## Gamma | Gee | Gamma Prime
- A thing.

## Delta
- New, and uses Alpha.
"""


def _two_versions(tmp_path):
    settings = Settings(store=tmp_path / "store", semantic_index=False, reload_interval=0)
    source = tmp_path / "g.md"
    source.write_text(V1, encoding="utf-8")
    first = update_store([source], settings).version
    source.write_text(V2, encoding="utf-8")
    second = update_store([source], settings).version
    return settings, first, second


def test_diff_names_every_kind_of_change(tmp_path):
    settings, first, second = _two_versions(tmp_path)
    changes = store_changes(settings)  # previous -> current
    assert (changes.old_version, changes.new_version) == (first, second)
    data = changes.to_dict()
    assert [c["id"] for c in data["added"]] == ["delta"] and [c["id"] for c in data["removed"]] == ["epsilon"]
    assert data["relabelled"] == [{"id": "gamma", "name": "Gamma", "labels_added": ["Gamma Prime"],
                                   "labels_removed": []}]
    assert [c["id"] for c in data["redefined"]] == ["alpha"]
    assert {(e["source"], e["target"]) for e in data["links_added"]} == {("alpha", "gamma"), ("delta", "alpha")}
    assert {(e["source"], e["target"]) for e in data["links_removed"]} == {("alpha", "beta")}
    assert data["counts"]["added"] == 1 and "prerequisites_added" in data
    assert store_changes(settings, second, second).empty


def test_kg_diff_and_the_http_feed(tmp_path):
    settings, first, second = _two_versions(tmp_path)
    runner = CliRunner()
    text = runner.invoke(cli, ["diff", "--store", str(settings.store)])
    assert text.exit_code == 0 and "added (1):" in text.output and "Delta [delta]" in text.output
    as_json = json.loads(runner.invoke(cli, ["diff", first, second, "--json", "--store", str(settings.store)]).output)
    assert as_json["from"] == first and as_json["counts"]["removed"] == 1
    missing = runner.invoke(cli, ["diff", "20000101T000000000000Z-000000", "--store", str(settings.store)])
    assert missing.exit_code == 1 and first in missing.output  # says which versions it has
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        feed = client.get("/changes", params={"since": first}).json()
        assert feed["to"] == Store(settings.store).current_version() == second and feed["counts"]["relabelled"] == 1
        assert "Gamma Prime" in client.get("/changes", params={"since": first, "format": "text"}).text
        gone = client.get("/changes", params={"since": "20000101T000000000000Z-000000"})
        assert gone.status_code == 404 and gone.json()["error"]["versions"] == [first, second]
        assert client.get("/changes", params={"since": "../../etc"}).status_code == 422  # never a path
