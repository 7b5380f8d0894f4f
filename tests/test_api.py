"""The HTTP API over a real uvicorn server on 127.0.0.1: lookups, export, quality, errors, hot reload."""
from __future__ import annotations

import gc
import os
import shutil
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import rdflib
from rdflib.namespace import RDF, SKOS

from api.app import create_app, open_state
from ingest import ingest_paths
from kg.settings import Settings
from kg.store.versions import Store, update_store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RELOAD = 0.1  # seconds between store checks in these tests


@pytest.fixture(scope="module")
def expected() -> int:
    """How many concepts the bundled glossary has (computed, so the data may change)."""
    return len(ingest_paths([DATA]).concepts)


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory) -> Settings:
    """An empty store: the server's startup ingests the bundled data/ folder."""
    return Settings(store=tmp_path_factory.mktemp("api") / "store", default_glossary=DATA, reload_interval=0)


@pytest.fixture(scope="module")
def client(client_for, live_settings) -> httpx.Client:
    return client_for(live_settings)


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


# -- reading -------------------------------------------------------------------------------


def test_health_reports_the_ingested_bundled_glossary(client, live_settings, expected):
    settings = live_settings
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["concepts"] == expected
    assert body["store_version"] == Store(settings.store).current_version()
    assert "model" in body


def test_lookup_by_prefix(client):
    hits = client.get("/concepts", params={"prefix": "deep"}).json()["results"]
    assert "deep-learning" in [h["id"] for h in hits]
    assert all({"id", "label", "lang", "name"} <= set(h) for h in hits)
    japanese = client.get("/concepts", params={"prefix": "深層"}).json()["results"]
    assert [h["id"] for h in japanese][:1] == ["deep-learning"]


def test_lookup_limit(client):
    assert len(client.get("/concepts", params={"prefix": "", "limit": 3}).json()["results"]) == 3
    assert len(client.get("/concepts", params={"limit": 1000}).json()["results"]) >= 3


def test_concept_by_english_label(client):
    response = client.get("/concepts/Deep%20Learning")
    assert response.status_code == 200
    view = response.json()
    assert view["id"] == "deep-learning"
    assert view["labels"]["ja"]["pref"] == "深層学習"
    assert view["definitions"] and view["definitions"][0]["source"]["file"] == "deep-learning.md"
    assert "neural-network" in [link["id"] for link in view["links_out"]]


def test_concept_by_url_encoded_japanese_label(client):
    response = client.get("/concepts/" + quote("深層学習"))
    assert response.status_code == 200
    assert response.json()["id"] == "deep-learning"


@pytest.mark.parametrize("ref", ["deep%20LEARNING", "DEEP-LEARNING", "deep-learning"])
def test_concept_lookup_is_case_insensitive(client, ref):
    assert client.get(f"/concepts/{ref}").json()["id"] == "deep-learning"


def test_a_heading_as_written_names_its_concept(client):
    assert client.get("/concepts/" + quote("深層学習 | Deep Learning")).json()["id"] == "deep-learning"
    assert client.get("/concepts/" + quote("Deep Learning (深層学習)")).json()["id"] == "deep-learning"
    # Labels of two different concepts name neither.
    assert_error(client.get("/concepts/" + quote("Deep Learning | Neural Network")), 404, "not_found")


def test_unknown_concept_is_404_with_suggestions(client):
    error = assert_error(client.get("/concepts/Deep%20Lerning"), 404, "not_found")
    assert "Deep Learning" in [s["label"] for s in error["suggestions"]]


@pytest.mark.parametrize(("name", "rdflib_format", "media_type", "suffix"), [
    ("turtle", "turtle", "text/turtle", ".ttl"),
    ("xml", "xml", "application/rdf+xml", ".rdf"),
    ("json-ld", "json-ld", "application/ld+json", ".jsonld"),
    ("nt", "nt", "application/n-triples", ".nt"),
])
def test_export_each_format_parses(client, expected, name, rdflib_format, media_type, suffix):
    response = client.get("/export", params={"format": name})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert f'filename="glossary{suffix}"' in response.headers["content-disposition"]
    graph = rdflib.Graph().parse(data=response.content, format=rdflib_format)
    assert len(set(graph.subjects(RDF.type, SKOS.Concept))) == expected


@pytest.mark.parametrize(("accept", "media_type"), [
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/ld+json", "application/ld+json"),
    ("application/n-triples", "application/n-triples"),
    ("text/turtle;q=0.2, application/n-triples;q=0.9", "application/n-triples"),
    ("*/*", "text/turtle"),
    ("text/html", "text/turtle"),  # nothing we offer: the default
])
def test_export_negotiates_the_accept_header(client, accept, media_type):
    response = client.get("/export", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert "accept" in response.headers.get("vary", "").lower()


def test_export_format_parameter_wins_over_accept(client):
    response = client.get("/export", params={"format": "nt"}, headers={"Accept": "application/rdf+xml"})
    assert response.headers["content-type"].startswith("application/n-triples")


def test_quality_report(client, expected):
    response = client.get("/quality")
    assert response.status_code == 200
    report = response.json()
    assert report["summary"]["concepts"] == expected
    assert isinstance(report["checks"], list) and report["checks"]


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/concepts", {"limit": 0}, "limit"),
    ("/concepts", {"limit": 100000}, "limit"),
    ("/concepts", {"limit": "many"}, "limit"),
    ("/export", {"format": "bogus"}, "format"),
])
def test_bad_parameters_are_422(client, path, params, parameter):
    error = assert_error(client.get(path, params=params), 422, "bad_parameter")
    assert error["parameter"] == parameter


def test_unknown_route_and_wrong_method(client):
    assert_error(client.get("/no/such/endpoint"), 404, "not_found")
    assert_error(client.post("/health"), 405, "method_not_allowed")


def _string_schemas(schema: dict) -> Iterator[dict]:
    if schema.get("type") == "string":
        yield schema
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _string_schemas(sub)


def test_every_string_parameter_has_a_max_length(tmp_path):
    """What a client may send is bounded in the schema too (no parameter takes a megabyte of text)."""
    document = create_app(Settings(store=tmp_path / "store")).openapi()
    checked, unbounded = 0, []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for schema in _string_schemas(parameter["schema"]):
                    checked += 1
                    if "maxLength" not in schema and "enum" not in schema and "const" not in schema:
                        unbounded.append(f"{method.upper()} {path} {parameter['in']}:{parameter['name']}")
    assert checked >= 15 and not unbounded, unbounded


def test_an_overlong_id_or_prefix_is_422(client):
    long = "x" * 1001
    for path, params, parameter in (("/concepts/" + long, {}, "id"), ("/concepts", {"prefix": long}, "prefix"),
                                    ("/concepts/" + long + "/related", {}, "id")):
        assert assert_error(client.get(path, params=params), 422, "bad_parameter")["parameter"] == parameter


# -- hot reload ----------------------------------------------------------------------------


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(RELOAD / 2)
    return False


def publish_corrupt_version(store: Path, scratch: Path) -> str:
    """A new version whose concepts.json is broken, made current atomically.

    Built in a scratch store and corrupted before ``CURRENT`` names it, so the server
    can never see it intact (the layout is the one ``kg.store.versions.Store`` documents).
    """
    outcome = update_store([FIXTURES / "plain"], Settings(store=scratch))
    target = store / "versions" / outcome.version
    shutil.copytree(scratch / "versions" / outcome.version, target)
    (target / "concepts.json").write_text('[{"id": "truncat', encoding="utf-8")
    pointer = store / "CURRENT.test-tmp"
    pointer.write_text(outcome.version + "\n", encoding="utf-8")
    os.replace(pointer, store / "CURRENT")
    return outcome.version


def test_hot_reload_swaps_in_new_versions_and_survives_a_corrupt_one(serve, tmp_path, expected, caplog):
    settings = Settings(store=tmp_path / "store", default_glossary=DATA, reload_interval=RELOAD)
    plain = len(ingest_paths([FIXTURES / "plain"]).concepts)
    assert plain != expected  # otherwise the swap could not be seen in the counts
    url = serve(settings)
    with httpx.Client(base_url=url, timeout=30) as http:
        def health() -> dict:
            return http.get("/health").json()

        first = health()
        assert first["concepts"] == expected

        # A new version written while the server runs is served after the reload interval.
        second = update_store([FIXTURES / "plain"], settings, force=True).version
        assert wait_for(lambda: health()["store_version"] == second), health()
        assert health()["concepts"] == plain
        assert http.get("/concepts/Router").status_code == 200

        # A corrupt version is refused: the last good one stays served, and /health says so (still a 200:
        # a load balancer keeps sending traffic to the version that works).
        caplog.clear()
        bad = publish_corrupt_version(settings.store, tmp_path / "scratch")
        assert wait_for(lambda: bad in caplog.text), "the server never tried the corrupt version"
        time.sleep(RELOAD * 3)
        response = http.get("/health")
        now = response.json()
        assert response.status_code == 200
        assert (now["status"], now["store_version"], now["concepts"]) == ("degraded", second, plain)
        assert now["refused_version"] == bad and "corrupt" in now["refused_reason"]
        assert str(settings.store) not in now["refused_reason"]  # no server paths to the public
        assert http.get("/concepts/Router").status_code == 200

        # And the next good version is picked up again.
        third = update_store([DATA], settings, force=True).version
        assert wait_for(lambda: health()["store_version"] == third), health()
        now = health()
        assert (now["status"], now["concepts"], now["refused_version"]) == ("ok", expected, None)


def test_a_served_version_is_frozen_and_freed_once_replaced(tmp_path):
    """The store being served is kept out of full garbage collections (gc.freeze), and a
    replaced version is still collected: freezing must not leak one store per reload."""
    settings = Settings(store=tmp_path / "store", default_glossary=DATA, reload_interval=0)
    try:
        state = open_state(settings)
        assert gc.get_freeze_count() > 0
        old = weakref.ref(state.glossary)
        assert update_store([FIXTURES / "plain"], settings, force=True).exit_code == 0
        assert state.refresh()
        assert old() is None
        assert gc.get_freeze_count() > 0 and state.glossary.get("Router")
    finally:
        gc.unfreeze()


# -- the whole linked corpus -----------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_client(client_for, tmp_path_factory, linked_corpus) -> httpx.Client:
    settings = Settings(store=tmp_path_factory.mktemp("corpus") / "store", reload_interval=0)
    assert update_store([linked_corpus], settings).exit_code == 0
    return client_for(settings)


def test_corpus_deep_learning_carries_japanese_label_and_both_sources(corpus_client):
    body = corpus_client.get("/concepts/Deep%20Learning").json()
    assert body["labels"]["ja"]["pref"] == "深層学習"
    assert {s["file"] for s in body["sources"]} == {"ai/deep-learning.md", "dl-overview.md"}
    assert {d["source"]["file"] for d in body["definitions"]} == {"ai/deep-learning.md", "dl-overview.md"}


def test_corpus_seikika_is_two_concepts_and_reported(corpus_client):
    first = corpus_client.get("/concepts/正規化").json()
    assert len(first["same_label_as"]) == 1
    names = {first["name"], first["same_label_as"][0]["name"]}
    assert names == {"Regularization", "Normalization"}
    checks = {c["check"]: c for c in corpus_client.get("/quality").json()["checks"]}
    conflicts = checks["label_conflict"]["findings"]
    assert any("正規化" in f["message"] and {c["id"] for c in f["concepts"]} == {"regularization", "normalization"}
               for f in conflicts)


# -- search -----------------------------------------------------------------------------------


def test_search_ranks_a_label_first_and_explains_hits(client):
    body = client.get("/search", params={"q": "ＤＥＥＰ ＬＥＡＲＮＩＮＧ"}).json()
    assert body["mode"] == "hybrid"
    first = body["results"][0]
    assert first["id"] == "deep-learning" and first["matched"]["by"] == "label"
    assert first["labels"]["ja"] == "深層学習" and first["snippet"] and first["source"]["file"]
    japanese = client.get("/search", params={"q": "多層のニューラルネットワーク", "mode": "lexical", "lang": "ja"})
    assert japanese.status_code == 200 and japanese.json()["results"]
    assert all("ja" in hit["labels"] for hit in japanese.json()["results"])


@pytest.mark.parametrize("params", [
    {"q": ""}, {"q": "x" * 10_000}, {"q": "deep", "k": 0}, {"q": "deep", "k": 100_000},
    {"q": "deep", "mode": "fuzzy"}, {"q": "deep", "lang": "!!"}, {},
])
def test_bad_search_parameters_are_422_naming_the_parameter(client, params):
    error = assert_error(client.get("/search", params=params), 422, "bad_parameter")
    assert error["parameter"] in {"q", "k", "mode", "lang"}


@pytest.mark.parametrize("q", ["?!…。", "\x01\x02", "deep\x00learning", "　"])
def test_odd_queries_are_empty_or_422_never_500(client, q):
    response = client.get("/search", params={"q": q})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert isinstance(response.json()["results"], list)


# -- prerequisites ----------------------------------------------------------------------------


def test_corpus_learning_path_over_http(corpus_client):
    body = corpus_client.get("/concepts/Dropout/prerequisites").json()
    assert body["concept"]["id"] == "dropout"
    ids = [step["id"] for step in body["path"]]
    assert "overfitting" in ids
    assert any(e["prerequisite"] == "overfitting" and e["evidence"] for e in body["edges"])
    known = corpus_client.get("/concepts/Dropout/prerequisites", params={"known": "過学習,neural-network"}).json()
    assert "overfitting" not in [s["id"] for s in known["path"]]
    shallow = corpus_client.get("/concepts/Dropout/prerequisites", params={"depth": 1}).json()
    assert len(shallow["path"]) <= len(ids)
    view = corpus_client.get("/concepts/Dropout").json()
    assert "overfitting" in [p["id"] for p in view["prerequisites"]]
    for step in body["path"]:  # each item with its score and the chain that puts it there
        assert step["reason"] and step["chain"] and 0 < step["score"] <= 1 and step["curated"] is False
    focused = corpus_client.get("/concepts/BERT/prerequisites", params={"limit": 2, "min_confidence": 0.8}).json()
    assert focused["limit"] == 2 and all(s["score"] >= 0.8 for s in focused["path"])


def test_corpus_learning_path_errors(corpus_client):
    error = assert_error(corpus_client.get("/concepts/Dropuot/prerequisites"), 404, "not_found")
    assert error["suggestions"][0]["id"] == "dropout"
    error = assert_error(corpus_client.get("/concepts/Dropout/prerequisites", params={"known": "zzzz"}), 422,
                         "bad_parameter")
    assert error["parameter"] == "known"
    assert_error(corpus_client.get("/concepts/Dropout/prerequisites", params={"depth": -1}), 422, "bad_parameter")
    for bad in ({"limit": 0}, {"limit": 1000}, {"min_confidence": 2}, {"min_confidence": "x"}):
        error = assert_error(corpus_client.get("/concepts/Dropout/prerequisites", params=bad), 422, "bad_parameter")
        assert error["parameter"] == next(iter(bad))


# -- memory ---------------------------------------------------------------------------------------


def test_the_lru_cache_keeps_to_its_byte_budget():
    from kg.cache import ENTRY_OVERHEAD, LRUCache

    cache = LRUCache(1000, max_bytes=10 * (1000 + ENTRY_OVERHEAD))
    for n in range(100):
        assert cache.get(n, lambda n=n: bytes([n % 256]) * 1000) == bytes([n % 256]) * 1000
    assert len(cache) == 10 and cache.bytes <= 10 * (1000 + ENTRY_OVERHEAD)
    assert cache.get(99, lambda: b"recomputed") != b"recomputed"  # the newest stayed
    assert cache.get(0, lambda: b"recomputed") == b"recomputed"  # the oldest went
    assert cache.get("huge", lambda: b"x" * 10**6) == b"x" * 10**6 and "huge" not in cache._data  # never kept
    sized = LRUCache(1000, max_bytes=1000, sizer=lambda value: 400)  # the user's own measure
    for n in range(5):
        sized.get(n, lambda n=n: n)
    assert len(sized) == 1


def test_the_served_answers_keep_to_the_byte_budgets_of_the_settings(tmp_path):
    from fastapi.testclient import TestClient

    settings = Settings(store=tmp_path / "store", default_glossary=DATA, reload_interval=0,
                        answer_cache_bytes=20_000, search_cache_bytes=30_000)
    app = create_app(settings)
    with TestClient(app) as http:
        ids = [hit["id"] for hit in http.get("/concepts", params={"limit": 1000}).json()["results"]]
        for concept in ids:
            assert http.get(f"/concepts/{concept}").status_code == 200
            assert http.get(f"/concepts/{concept}/related").status_code == 200
            assert http.get("/search", params={"q": f"{concept} what is it"}).status_code == 200
    answers, searches = app.state.answers, app.state.search_answers
    assert 0 < answers.bytes <= 20_000 and len(answers) < len(ids), (answers.bytes, len(answers))
    assert 0 < searches.bytes <= 30_000 and len(searches) < len(ids), (searches.bytes, len(searches))


def test_default_answers_are_worked_out_ahead_and_equal_those_computed_on_request(tmp_path):
    from fastapi.testclient import TestClient

    settings = Settings(store=tmp_path / "store", default_glossary=DATA, reload_interval=0)
    warmed = create_app(settings)
    cold = create_app(settings.model_copy(update={"warm_answers": False}))
    with TestClient(warmed) as warm_http, TestClient(cold) as cold_http:
        ids = [hit["id"] for hit in cold_http.get("/concepts", params={"limit": 1000}).json()["results"]]
        deadline = time.monotonic() + 60
        while len(warmed.state.answers) < 3 * len(ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(warmed.state.answers) == 3 * len(ids)  # a concept, its learning path, its related terms
        assert len(cold.state.answers) == 0
        for concept in ids:
            for path in (f"/concepts/{concept}", f"/concepts/{concept}/prerequisites", f"/concepts/{concept}/related"):
                assert warm_http.get(path).content == cold_http.get(path).content, path
        # other parameters and unknown terms are still computed on request
        assert warm_http.get(f"/concepts/{ids[0]}/related", params={"k": 3}).json()["results"] == \
            cold_http.get(f"/concepts/{ids[0]}/related", params={"k": 3}).json()["results"]
        assert warm_http.get("/concepts/no-such-term/prerequisites").status_code == 404


def test_warming_goes_best_linked_first_and_stops_at_its_budget_or_a_new_version():
    from api.answers import concept_answer, warm
    from kg import Glossary
    from kg.cache import LRUCache

    glossary = Glossary.from_ingest(ingest_paths([DATA]), Settings(model="fake"))
    cache = LRUCache(1000)
    assert warm(cache, glossary, lambda: True, max_entries=3, max_bytes=10**9) == 3
    best_linked = max(glossary.concepts, key=lambda cid: (glossary.graph.degree(cid), [-ord(c) for c in cid]))
    key = (id(glossary), glossary.version, *concept_answer(glossary, best_linked).key)
    assert cache.peek(key) is not None
    assert warm(LRUCache(1000), glossary, lambda: False, max_entries=1000, max_bytes=10**9) == 0
    small = LRUCache(1000, max_bytes=10**7)  # bytes are counted where there is a byte bound
    warm(small, glossary, lambda: True, max_entries=1000, max_bytes=20_000)
    assert 20_000 <= small.bytes < 20_000 + 64_000  # stops at the first answer past the budget


@pytest.mark.parametrize("inline_max", [0, 10_000])
def test_answers_are_the_same_worked_out_on_the_event_loop_or_in_the_thread_pool(tmp_path, monkeypatch, inline_max):
    from fastapi.testclient import TestClient

    import api.answers

    monkeypatch.setattr(api.answers, "INLINE_MAX_CONCEPTS", inline_max)
    settings = Settings(store=tmp_path / "store", default_glossary=DATA, reload_interval=0, warm_answers=False)
    with TestClient(create_app(settings)) as http:
        ids = [hit["id"] for hit in http.get("/concepts", params={"limit": 1000}).json()["results"]]
        first = http.get("/path", params={"source": ids[0], "target": ids[-1]})
        assert first.status_code in (200, 404)
        assert http.get("/path", params={"source": ids[0], "target": ids[-1]}).content == first.content
        learning = http.get(f"/concepts/{ids[1]}/prerequisites")
        assert learning.status_code == 200 and learning.json()["concept"]["id"] == ids[1]
        assert_error(http.get("/concepts/no-such-term/related"), 404, "not_found")
