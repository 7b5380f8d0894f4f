"""Read-only SPARQL 1.1: query kinds, result formats, refusals and limits, over HTTP and from a real
SPARQL client (rdflib's SPARQLStore) against a real server."""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import SKOS
from rdflib.plugins.stores.sparqlstore import SPARQLStore

from kg import Glossary, Settings
from kg.errors import QueryError, QueryLimitError, QueryRefusedError
from kg.store.versions import update_store

LABELS = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
          "SELECT ?c ?l WHERE { ?c skos:prefLabel ?l } ORDER BY ?c ?l")


@pytest.fixture(scope="module")
def settings(tmp_path_factory, fixtures) -> Settings:
    settings = Settings(store=tmp_path_factory.mktemp("sparql") / "store", semantic_index=False, reload_interval=0)
    assert update_store([fixtures / "glossary"], settings).version
    return settings


@pytest.fixture(scope="module")
def glossary(settings) -> Glossary:
    return Glossary.open(settings)


@pytest.fixture(scope="module")
def client(client_for, settings):
    return client_for(settings)


def test_select_agrees_with_rdflib_on_the_same_graph(glossary):
    expected = [(str(c), str(l)) for c, l in glossary.to_rdf().query(LABELS)]
    body = json.loads(glossary.sparql(LABELS).data)
    got = [(b["c"]["value"], b["l"]["value"]) for b in body["results"]["bindings"]]
    assert got == expected and len(got) > 5
    assert body["head"]["vars"] == ["c", "l"]


def test_a_large_version_has_its_graph_built_apart_with_the_same_answers(settings, monkeypatch):
    """Past SNAPSHOT_APART_MIN concepts the SPARQL graph is built by a process of its own (it held
    the server's GIL for a minute at 100,000 concepts); the answers are the same."""
    import kg.glossary

    in_process = Glossary.open(settings)
    expected = json.loads(in_process.sparql(LABELS).data)
    monkeypatch.setattr(kg.glossary, "SNAPSHOT_APART_MIN", 1)
    apart = Glossary.open(settings)
    assert "rdf_graph" not in apart.__dict__
    assert json.loads(apart.sparql(LABELS).data) == expected
    assert "rdf_graph" not in apart.__dict__  # this process never built the graph


def test_every_result_format(client):
    for accept, check in (
        ("application/sparql-results+json", lambda r: json.loads(r.content)["results"]["bindings"]),
        ("application/sparql-results+xml", lambda r: ET.fromstring(r.content).findall(
            ".//{http://www.w3.org/2005/sparql-results#}result")),
        ("text/csv", lambda r: list(csv.reader(io.StringIO(r.text)))[1:]),
        ("text/tab-separated-values", lambda r: r.text.strip().split("\n")[1:]),
    ):
        response = client.get("/sparql", params={"query": LABELS}, headers={"Accept": accept})
        assert response.status_code == 200 and response.headers["content-type"].startswith(accept), accept
        assert len(check(response)) > 5, accept
    ask = client.get("/sparql", params={"query": "ASK { ?s a <http://www.w3.org/2004/02/skos/core#Concept> }"})
    assert ask.json() == {"head": {}, "boolean": True}
    construct = client.get("/sparql", params={"query": "CONSTRUCT { ?c a ?t } WHERE { ?c a ?t }"},
                           headers={"Accept": "application/n-triples"})
    assert construct.headers["content-type"].startswith("application/n-triples")
    assert len(Graph().parse(data=construct.text, format="nt")) > 5
    one = "DESCRIBE ?c WHERE { ?c a <http://www.w3.org/2004/02/skos/core#Concept> } LIMIT 1"
    describe = client.get("/sparql", params={"query": one, "format": "turtle"})
    assert describe.status_code == 200 and len(Graph().parse(data=describe.text, format="turtle")) > 0


def test_post_forms(client):
    form = client.post("/sparql", data={"query": LABELS}, headers={"Accept": "text/csv"})
    direct = client.post("/sparql", content=LABELS.encode(), headers={"Content-Type": "application/sparql-query",
                                                                      "Accept": "text/csv"})
    assert form.status_code == direct.status_code == 200 and form.text == direct.text


def test_refusals_and_errors_keep_the_error_shape(client):
    cases = [
        (client.get("/sparql", params={"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}), 403, "query_refused"),
        (client.post("/sparql", data={"update": "DELETE WHERE { ?s ?p ?o }"}), 403, "query_refused"),
        (client.post("/sparql", content=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"}), 403,
         "query_refused"),
        (client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"}),
         403, "query_refused"),
        (client.get("/sparql", params={"query": "SELECT * FROM <http://127.0.0.1:9/x.ttl> WHERE { ?s ?p ?o }"}), 403,
         "query_refused"),
        (client.get("/sparql", params={"query": "SELEC ?x"}), 400, "bad_query"),
        (client.get("/sparql", params={"query": LABELS, "format": "png"}), 422, "bad_parameter"),
        (client.post("/sparql", content=b"x" * 200_000, headers={"Content-Type": "application/sparql-query"}), 422,
         "bad_parameter"),
    ]
    for response, status, code in cases:
        assert response.status_code == status and response.json()["error"]["code"] == code, response.text
        assert "Traceback" not in response.text


def test_limits(glossary):
    with pytest.raises(QueryLimitError) as raised:
        glossary.sparql("SELECT * WHERE { ?s ?p ?o }", max_rows=10)
    assert raised.value.details["limit"] == "rows"
    with pytest.raises(QueryLimitError) as raised:  # a cartesian product that would run for hours
        glossary.sparql("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", timeout=0.5, max_rows=10**12)
    assert raised.value.details["limit"] == "time"
    for bad, error in (("", QueryError), ("x" * 30_000, QueryError), ("DROP ALL", QueryRefusedError)):
        with pytest.raises(error):
            glossary.sparql(bad)


def test_a_real_sparql_client_reads_the_endpoint(serve, settings, glossary):
    url = serve(settings)
    remote = Graph(store=SPARQLStore(url + "/sparql", returnFormat="json"))
    got = sorted((str(c), str(l)) for c, l in remote.query(LABELS))
    assert got == sorted((str(c), str(l)) for c, l in glossary.to_rdf().query(LABELS))
    concept = next(iter(glossary.concepts))
    assert (URIRef(glossary.uri(concept)), SKOS.prefLabel, None) in remote
    xml_store = Graph(store=SPARQLStore(url + "/sparql", returnFormat="xml"))
    assert len(list(xml_store.query(LABELS))) == len(got)


def test_accept_q_values_choose_the_results_format(client):
    # Before, the first listed type the endpoint knew won, whatever its weight.
    for accept, expected in (("text/csv;q=0.2, application/sparql-results+xml", "application/sparql-results+xml"),
                             ("application/sparql-results+json;q=0, text/tab-separated-values;q=0.5",
                              "text/tab-separated-values"),
                             ("text/*", "text/csv"),
                             ("application/json", "application/sparql-results+json")):
        response = client.get("/sparql", params={"query": LABELS}, headers={"Accept": accept})
        assert response.status_code == 200 and response.headers["content-type"].startswith(expected), accept
