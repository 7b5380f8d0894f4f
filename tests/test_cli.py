"""The ``kg`` CLI, in-process with CliRunner, plus one run of the installed console script."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from rdflib.namespace import RDF, SKOS

from api.cli import cli
from api.cli_util import EMPTY_STORE
from kg.store.versions import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KG = Path(sys.executable).parent / "kg"


@pytest.fixture
def run(settings):
    """Invoke ``kg ARGS... --store <tmp store>``; stdout and stderr stay apart."""
    runner = CliRunner()

    def invoke(*args: str, store: bool = True):
        extra = ["--store", str(settings.store)] if store else []
        return runner.invoke(cli, [*args, *extra], obj=settings, catch_exceptions=False)

    return invoke


@pytest.fixture
def ingested(run, settings):
    result = run("ingest", str(DATA))
    assert result.exit_code == 0, result.output
    return settings


def test_ingest_prints_version_and_counts(run, settings):
    result = run("ingest", str(DATA))
    assert result.exit_code == 0, result.output
    version = Store(settings.store).current_version()
    assert f"version {version}" in result.stdout
    assert "concepts" in result.stdout and "files" in result.stdout
    # Warnings name the file and line they were found at.
    assert "deep-learning.md:" in result.stderr


def test_reingest_says_unchanged(run, ingested):
    result = run("ingest", str(DATA))
    assert result.exit_code == 0
    assert "unchanged" in result.stdout
    forced = run("ingest", str(DATA), "--force")
    assert forced.exit_code == 0 and "unchanged" not in forced.stdout


def test_ingest_json(run):
    result = run("ingest", str(DATA), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["changed"] is True and data["concepts"] > 0 and data["exit_code"] == 0


def test_partial_ingest_exits_1_and_names_the_bad_file(run, settings, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIXTURES / "plain" / "glossary.md", folder / "good.md")
    (folder / "broken.md").write_bytes(b"## Term\x00\x01\x02\xff binary")
    result = run("ingest", str(folder))
    assert result.exit_code == 1, result.output
    assert "broken.md" in result.stderr
    assert Store(settings.store).load(settings).get("Router")  # the good file is served


def test_nothing_ingested_exits_2(run, settings, tmp_path):
    bad = tmp_path / "only.md"
    bad.write_bytes(b"\x00\x00\x00")
    result = run("ingest", str(bad))
    assert result.exit_code == 2
    assert "only.md" in result.stderr
    assert Store(settings.store).is_empty()


def test_show_term(run, ingested):
    result = run("show", "Deep Learning")
    assert result.exit_code == 0
    assert "深層学習" in result.stdout and "deep-learning" in result.stdout
    view = json.loads(run("show", "深層学習", "--json").stdout)
    assert view["id"] == "deep-learning"
    assert view["labels"]["en"]["pref"] == "Deep Learning"


def test_unknown_term_exits_1_with_suggestions(run, ingested):
    result = run("show", "Deep Lerning")
    assert result.exit_code == 1
    assert "did you mean" in result.stderr and "Deep Learning" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_lookup(run, ingested):
    result = run("lookup", "deep")
    assert result.exit_code == 0
    assert "Deep Learning\tdeep-learning" in result.stdout
    hits = json.loads(run("lookup", "深層", "--json").stdout)
    assert hits[0]["id"] == "deep-learning"
    assert run("lookup", "a", "--limit", "0").exit_code == 2  # a usage error


@pytest.mark.parametrize(("name", "rdflib_format"), [
    ("turtle", "turtle"), ("xml", "xml"), ("json-ld", "json-ld"), ("nt", "nt")])
def test_export_each_format_to_a_file(run, ingested, tmp_path, name, rdflib_format):
    out = tmp_path / f"export.{name}"
    result = run("export", "--format", name, "--output", str(out))
    assert result.exit_code == 0, result.output
    graph = rdflib.Graph().parse(out, format=rdflib_format)
    concepts = set(graph.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) == len(Store(ingested.store).load(ingested))


def test_export_to_stdout_and_bad_format(run, ingested):
    result = run("export")
    assert result.exit_code == 0
    graph = rdflib.Graph().parse(data=result.stdout_bytes, format="turtle")
    assert len(graph) > 0
    bad = run("export", "--format", "bogus")
    assert bad.exit_code == 2 and "bogus" in bad.stderr


def test_check(run, ingested):
    result = run("check")
    assert result.exit_code == 0
    assert "concepts" in result.stdout
    report = json.loads(run("check", "--json").stdout)
    assert report["summary"]["concepts"] == len(Store(ingested.store).load(ingested))


@pytest.mark.parametrize("args", [("show", "x"), ("lookup", "x"), ("export",), ("check",)])
def test_empty_store_says_what_to_do(run, args):
    result = run(*args)
    assert result.exit_code == 1
    assert EMPTY_STORE in result.stderr
    assert "Traceback" not in result.output


def test_export_to_a_file_from_an_empty_store_creates_nothing(run, tmp_path):
    out = tmp_path / "never.ttl"
    assert run("export", "--output", str(out)).exit_code == 1
    assert not out.exists()


def test_serve_fills_an_empty_store_then_runs_uvicorn(run, settings, monkeypatch):
    import uvicorn
    from fastapi import FastAPI

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    result = run("serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "ingested" in result.stderr
    assert not Store(settings.store).is_empty()
    app, kwargs = calls[0]
    assert isinstance(app, FastAPI)
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 8123)


def test_serve_with_a_corrupt_store_is_a_one_line_error(run, ingested, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    store = Store(ingested.store)
    (store.version_dir() / "concepts.json").write_text("garbage", encoding="utf-8")
    result = run("serve")
    assert result.exit_code == 1
    assert "corrupt" in result.stderr and "Traceback" not in result.output


def test_store_comes_from_settings_when_not_given(run, settings):
    # ``obj`` carries Settings (as KG_STORE would); no --store on the command line.
    assert run("ingest", str(DATA), store=False).exit_code == 0
    assert not Store(settings.store).is_empty()


def test_installed_console_script(tmp_path):
    assert KG.exists(), f"{KG} is missing: pip install -e ."
    # HOME and XDG_DATA_HOME point into tmp_path so nothing touches the user's store.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("KG_STORE", None)
    shown = subprocess.run([str(KG), "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 0
    for command in ("ingest", "serve", "show", "lookup", "export", "check"):
        assert command in shown.stdout
    store = tmp_path / "store"
    done = subprocess.run([str(KG), "ingest", str(DATA), "--store", str(store)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "version" in done.stdout
    assert Store(store).current_version() in done.stdout
    assert not (tmp_path / "xdg").exists()


def test_search_and_eval_commands(tmp_path, fixtures):
    runner = CliRunner()
    store = str(tmp_path / "store")
    assert runner.invoke(cli, ["ingest", str(fixtures / "glossary"), "--store", store]).exit_code == 0
    result = runner.invoke(cli, ["search", "勾配降下法", "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["results"][0]["id"] == "gradient-descent"
    text = runner.invoke(cli, ["search", "Gradient Descent", "--store", store, "--k", "2"])
    assert text.exit_code == 0 and "[gradient-descent]" in text.output.splitlines()[0]
    queries = tmp_path / "q.tsv"
    queries.write_text("query\tlabels\n勾配降下法\tGradient Descent\nMoE\tMixture of Experts\n", encoding="utf-8")
    evaluation = runner.invoke(cli, ["eval", str(queries), "--store", store, "--json"])
    assert evaluation.exit_code == 0, evaluation.output
    assert json.loads(evaluation.output)["metrics"]["mrr@10"] == 1.0
    plain = runner.invoke(cli, ["eval", str(queries), "--store", store])
    assert "MRR@10 1.000" in plain.output
    bad = runner.invoke(cli, ["search", "", "--store", store])
    assert bad.exit_code == 1 and "q must not be empty" in bad.output
