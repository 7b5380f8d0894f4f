"""Publishing to and serving from a real SPARQL 1.1 store: Oxigraph's server on loopback.

Each test starts its own ``oxigraph serve`` (the binary of the `oxigraph` package, a test
dependency) on a free port of 127.0.0.1 with a temporary directory, and stops it after.
Outside CI the tests are skipped when that binary is not installed; in CI they must run.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import rdflib
from click.testing import CliRunner
from fastapi.testclient import TestClient
from rdflib.compare import isomorphic

from api.app import create_app
from api.cli import cli
from api.live import free_port
from kg.errors import RemoteStoreError
from kg.glossary import Glossary
from kg.settings import Settings
from kg.store.replication import graph_name, pull, records_graph_name
from kg.store.sparql_store import Endpoints, SparqlStore
from kg.store.versions import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
QUERIES = ["過学習を防ぐには", "深層学習", "ニューラルネットワークの学習", "勾配",
           "how do I stop a model from overfitting?", "learning rate", "attention", "convolution for images"]


def _oxigraph_binary() -> str | None:
    beside = Path(sys.executable).with_name("oxigraph")  # the venv's, when pytest runs without activating it
    return str(beside) if beside.is_file() else shutil.which("oxigraph")


@pytest.fixture
def oxigraph(tmp_path: Path) -> Iterator[str]:
    """The base URL of a fresh Oxigraph server on 127.0.0.1 (stopped after the test)."""
    binary = _oxigraph_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the oxigraph server binary is missing: `pip install -e '.[test]'` installs it")
        pytest.skip("the oxigraph server binary is not installed (`pip install -e '.[test]'` installs it)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "oxigraph.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([binary, "serve", "--location", str(tmp_path / "oxigraph"), "--bind",
                               f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/query", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"oxigraph did not start: {(tmp_path / 'oxigraph.log').read_text(errors='replace')}")
            time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def kg(settings: Settings, *args: str):
    """``kg ARGS... --store STORE`` in-process, stdout and stderr apart."""
    return CliRunner().invoke(cli, [*args, "--store", str(settings.store)], obj=settings, catch_exceptions=False)


def count_concepts(remote: SparqlStore, graph: str) -> int:
    rows = remote.select(f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?c a <{SKOS_CONCEPT}> }} }}")
    return int(rows[0]["n"])


def same_answers(one: httpx.Client | TestClient, other: httpx.Client | TestClient, paths: list[str]) -> None:
    for path in paths:
        first, second = one.get(path), other.get(path)
        assert first.status_code == second.status_code, path
        assert first.json() == second.json(), path


def sample_paths(glossary: Glossary, every: bool) -> list[str]:
    """Concepts (all, or a sample), learning paths, related terms, paths, searches in both languages."""
    ids = sorted(glossary.concepts)
    sample = ids if every else ids[:: max(1, len(ids) // 25)]
    paths = ["/health", "/quality", "/concepts?prefix=&limit=1000"]
    paths += [f"/concepts/{quote(i)}" for i in ids]
    paths += [f"/concepts/{quote(i)}/prerequisites" for i in sample]
    paths += [f"/concepts/{quote(i)}/related" for i in sample]
    paths += [f"/path?source={quote(a)}&target={quote(b)}" for a, b in zip(sample, reversed(sample), strict=True)]
    paths += [f"/search?q={quote(q)}&mode={mode}" for q in QUERIES for mode in ("hybrid", "dense", "lexical")]
    return paths


def same_export(one, other) -> None:
    first = rdflib.Graph().parse(data=one.get("/export", params={"format": "nt"}).content, format="nt")
    second = rdflib.Graph().parse(data=other.get("/export", params={"format": "nt"}).content, format="nt")
    assert len(first) and isomorphic(first, second)


# -- the protocols -------------------------------------------------------------------------------


def test_graph_store_query_and_update_protocols(oxigraph):
    remote = SparqlStore.from_settings(oxigraph, Settings())
    remote.check()
    assert remote.get_graph("https://example.org/none") is None
    remote.put_graph("https://example.org/g#1", '<https://x.org/a> <https://x.org/p> "深層"@ja .\n'.encode())
    remote.put_graph(None, b'<https://x.org/d> <https://x.org/p> "default" .\n')
    graph = rdflib.Graph().parse(data=remote.get_graph("https://example.org/g#1"), format="nt")
    assert list(graph.objects()) == [rdflib.Literal("深層", lang="ja")]
    assert b'"default"' in remote.get_graph(None)
    remote.update('INSERT DATA { GRAPH <https://example.org/g#1> { <https://x.org/b> <https://x.org/p> "2" } }')
    assert remote.select("SELECT ?s WHERE { GRAPH <https://example.org/g#1> { ?s ?p ?o } } ORDER BY ?s") == [
        {"s": "https://x.org/a"}, {"s": "https://x.org/b"}]
    assert remote.ask("ASK { GRAPH <https://example.org/g#1> { <https://x.org/b> ?p ?o } }")
    # PUT replaces the whole graph.
    remote.put_graph("https://example.org/g#1", b'<https://x.org/c> <https://x.org/p> "3" .\n')
    assert [r["s"] for r in remote.select("SELECT ?s WHERE { GRAPH <https://example.org/g#1> { ?s ?p ?o } }")] == [
        "https://x.org/c"]
    assert remote.delete_graph("https://example.org/g#1") is True
    assert remote.delete_graph("https://example.org/g#1") is False
    with pytest.raises(RemoteStoreError) as bad:
        remote.select("SELEC nothing")
    assert bad.value.details["status"] == 400 and oxigraph + "/query" in bad.value.message


def test_endpoints_per_layout_and_overrides():
    assert Endpoints.from_url("http://h:3030/ds/", Settings(sparql_layout="fuseki")) == Endpoints(
        "http://h:3030/ds/sparql", "http://h:3030/ds/update", "http://h:3030/ds/data")
    graphdb = Endpoints.from_url("http://h:7200/repositories/kg", Settings(sparql_layout="graphdb"))
    assert graphdb.update.endswith("/repositories/kg/statements")
    assert graphdb.gsp.endswith("/repositories/kg/rdf-graphs/service")
    assert Endpoints.from_url("http://h:8890", Settings(sparql_layout="virtuoso")).gsp == "http://h:8890/sparql-graph-crud"
    virtuoso = Endpoints.from_url("http://h:8890", Settings(sparql_layout="virtuoso", sparql_user="dba"))
    assert virtuoso.gsp == "http://h:8890/sparql-graph-crud-auth"
    mixed = Endpoints.from_url("http://h:7878", Settings(sparql_gsp_url="http://other/gsp"))
    assert (mixed.query, mixed.gsp) == ("http://h:7878/query", "http://other/gsp")
    explicit = Settings(sparql_query_url="http://q", sparql_update_url="http://u", sparql_gsp_url="http://g")
    assert Endpoints.from_url(None, explicit) == Endpoints("http://q", "http://u", "http://g")
    assert records_graph_name(graph_name(Settings())) == "https://example.org/glossary/#kg-store"


def test_credentials_are_sent_when_the_store_asks():
    """Basic authentication against a stub that demands it (Oxigraph has none)."""
    expected = "Basic " + base64.b64encode(b"kg:secret").decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="sparql"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps({"head": {}, "boolean": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        SparqlStore.from_settings(url, Settings(sparql_user="kg", sparql_password="secret")).check()
        with pytest.raises(RemoteStoreError) as refused:
            SparqlStore.from_settings(url, Settings()).check()
        assert refused.value.details["status"] == 401 and "KG_SPARQL_USER" in refused.value.message
    finally:
        server.shutdown()
        server.server_close()


# -- errors: clear, exit code 3, nothing written locally --------------------------------------------


def test_unreachable_store_fails_before_anything_is_written(settings):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for args in (["ingest", str(DATA), "--to", url], ["serve", "--from", url], ["pull", url]):
        result = kg(settings, *args)
        assert result.exit_code == 3, (args, result.output)
        assert f"cannot reach the SPARQL store at {url}/query" in result.stderr, result.stderr
        assert Store(settings.store).is_empty(), args


def test_wrong_endpoints_fail_clearly(oxigraph, settings):
    # No query endpoint where the layout says: refused before ingesting.
    graphdb_style = settings.model_copy(update={"sparql_layout": "graphdb"})
    result = kg(graphdb_style, "ingest", str(DATA), "--to", oxigraph)
    assert result.exit_code == 3
    assert f"POST {oxigraph} failed: HTTP 404" in result.stderr and "KG_SPARQL_LAYOUT" in result.stderr
    assert Store(settings.store).is_empty()
    # Queries answered (Oxigraph also serves /sparql) but no Graph Store at /data: the local
    # version is complete, the store is told to be unwritable, and it holds no publication.
    fuseki_style = settings.model_copy(update={"sparql_layout": "fuseki"})
    result = kg(fuseki_style, "ingest", str(DATA), "--to", oxigraph)
    assert result.exit_code == 3
    assert f"PUT {oxigraph}/data?graph=https%3A%2F%2Fexample.org%2Fglossary%2F failed: HTTP 404" in result.stderr
    assert "is the store writable" in result.stderr
    assert "version " in result.stdout and not Store(settings.store).is_empty()
    assert not SparqlStore.from_settings(oxigraph, settings).select("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }")
    # A store without the graph: the message says how to publish one.
    replica = settings.model_copy(update={"store": settings.store.parent / "replica"})
    result = kg(replica, "pull", oxigraph)
    assert result.exit_code == 3 and "holds no graph <https://example.org/glossary/>" in result.stderr
    assert "kg ingest PATH --to" in result.stderr and Store(replica.store).is_empty()


# -- publish, then serve from the store: the same answers as the embedded default ------------------


@pytest.mark.parametrize("corpus", ["bundled", "linked"])
def test_replica_answers_equal_the_embedded_default(oxigraph, tmp_path, request, corpus):
    source = DATA if corpus == "bundled" else request.getfixturevalue("linked_corpus")
    publisher = Settings(store=tmp_path / "publisher", reload_interval=0)
    result = kg(publisher, "ingest", str(source), "--to", oxigraph, "--json")
    assert result.exit_code in (0, 1), result.output  # 1: a file of the corpus lost a term (named on stderr)
    report = json.loads(result.stdout)
    glossary = Glossary.open(publisher)
    assert report["published"] == {"url": oxigraph, "graph": "https://example.org/glossary/",
                                   "version": glossary.version, "concepts": len(glossary), "changed": True}

    remote = SparqlStore.from_settings(oxigraph, publisher)
    assert count_concepts(remote, "https://example.org/glossary/") == len(glossary)
    published = rdflib.Graph().parse(data=remote.get_graph("https://example.org/glossary/"), format="nt")
    assert isomorphic(published, glossary.rdf_graph)  # the store holds exactly what `kg export` gives

    replica = Settings(store=tmp_path / "replica", reload_interval=0)
    pulled = kg(replica, "pull", oxigraph)
    assert pulled.exit_code == 0, pulled.output
    assert f"pulled version {glossary.version}" in pulled.stderr
    assert "already current" in kg(replica, "pull", oxigraph).stderr

    paths = sample_paths(glossary, every=corpus == "bundled")
    with TestClient(create_app(publisher)) as embedded, TestClient(create_app(replica)) as served:
        assert served.get("/health").json()["store_version"] == glossary.version
        same_answers(embedded, served, paths)
        same_export(embedded, served)
        query = {"query": f"SELECT (COUNT(?c) AS ?n) WHERE {{ ?c a <{SKOS_CONCEPT}> }}"}
        assert embedded.get("/sparql", params=query).json() == served.get("/sparql", params=query).json()


def test_two_real_replicas_follow_a_new_publication(oxigraph, tmp_path):
    """Two `kg serve --from URL` processes answer alike, and both pick up a re-publish."""
    folder = tmp_path / "glossary"
    folder.mkdir()
    shutil.copy(DATA / "deep-learning.md", folder)
    publisher = Settings(store=tmp_path / "publisher", reload_interval=0)
    assert kg(publisher, "ingest", str(folder), "--to", oxigraph).exit_code == 0
    first = Store(publisher.store).current_version()

    servers, urls = [], []
    kg_script = Path(sys.executable).with_name("kg")
    try:
        for n in range(2):
            port = free_port()
            env = {**os.environ, "KG_STORE": str(tmp_path / f"replica{n}"), "KG_MODEL": "fake",
                   "KG_EMBEDDING_CACHE": str(tmp_path / "cache"),  # shared: the second replica encodes nothing
                   "KG_SPARQL_POLL_INTERVAL": "0.2", "KG_RELOAD_INTERVAL": "0.1"}
            servers.append(subprocess.Popen([str(kg_script), "serve", "--from", oxigraph, "--port", str(port)],
                                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls.append(f"http://127.0.0.1:{port}")
        clients = [httpx.Client(base_url=url, timeout=30) for url in urls]
        for client, server in zip(clients, servers, strict=True):
            _wait_for(lambda c=client: c.get("/health").json()["store_version"] == first, server)
        glossary = Glossary.open(publisher)
        paths = sample_paths(glossary, every=False)
        with TestClient(create_app(publisher)) as embedded:
            same_answers(clients[0], clients[1], paths)
            same_answers(embedded, clients[0], paths)

        (folder / "deep-learning.md").write_text(
            (DATA / "deep-learning.md").read_text(encoding="utf-8")
            + "\n## 後から足した用語 | Term Added Later\n\n- 最初の公開の後に足した用語。\n", encoding="utf-8")
        assert kg(publisher, "ingest", str(folder), "--to", oxigraph).exit_code == 0
        second = Store(publisher.store).current_version()
        assert second != first
        for client, server in zip(clients, servers, strict=True):
            _wait_for(lambda c=client: c.get("/health").json()["store_version"] == second, server)
            assert client.get("/concepts/Term%20Added%20Later").json()["labels"]["ja"]["pref"] == "後から足した用語"
        with TestClient(create_app(publisher)) as embedded:
            same_answers(embedded, clients[1], sample_paths(Glossary.open(publisher), every=False))
        for client in clients:
            client.close()
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)


def _wait_for(condition, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the replica exited"
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("the replica did not get there in time")


# -- what the store holds decides ------------------------------------------------------------------


def test_a_skos_graph_changed_outside_kg_is_refused(oxigraph, settings, tmp_path):
    publisher = Settings(store=tmp_path / "publisher")
    assert kg(publisher, "ingest", str(DATA), "--to", oxigraph).exit_code == 0
    remote = SparqlStore.from_settings(oxigraph, settings)
    remote.update('INSERT DATA { GRAPH <https://example.org/glossary/> { <https://example.org/glossary/dropout> '
                  '<http://www.w3.org/2004/02/skos/core#altLabel> "edited elsewhere"@en } }')
    with pytest.raises(RemoteStoreError, match="differs from the records of version"):
        pull(settings, remote, oxigraph, retries=0)
    assert Store(settings.store).is_empty()


def test_a_plain_skos_graph_is_read_with_the_skos_importer(oxigraph, settings):
    """A graph some other tool put in the store (no kg records beside it) is served as SKOS."""
    thesaurus = "https://example.org/thesaurus/"
    remote = SparqlStore.from_settings(oxigraph, settings)
    remote.put_graph(thesaurus, """
        @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
        @prefix t: <https://example.org/thesaurus/> .
        t:ml a skos:Concept ; skos:prefLabel "Machine Learning"@en, "機械学習"@ja ;
            skos:definition "Learning from data."@en .
        t:dl a skos:Concept ; skos:prefLabel "Deep Learning"@en ; skos:broader t:ml ; skos:related t:ml .
    """.encode(), content_type="text/turtle")
    reader = settings.model_copy(update={"sparql_graph": thesaurus})
    outcome = pull(reader, remote, oxigraph)
    assert outcome.changed and outcome.publication is None
    glossary = Glossary.open(outcome.settings)
    assert sorted(glossary.concepts) == ["dl", "ml"]
    assert glossary.get("機械学習").id == "ml" and glossary.concepts["dl"].broader == ["ml"]
    assert not pull(reader, remote, oxigraph).changed  # the same graph again: nothing written
