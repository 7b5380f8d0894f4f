"""Every route answers every kind of error with the same body: {"error": {"code", "message", ...}}."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from kg.errors import NotFoundError
from kg.settings import Settings

DATA = Path(__file__).resolve().parent.parent / "data"
UNKNOWN = "no-such-concept-zzz"
# Values no parameter of the API accepts: not a number, not a format, out of any range.
BAD_VALUES = ("not-a-valid-value", "-1", "100000000000", "", "x" * 1001)
# Required parameters get a good value while another parameter is tested.
GOOD_PARAMS = {"/search": {"q": "deep learning"}, "/path": {"source": "deep-learning", "target": "neural-network"},
               "/sparql": {"query": "ASK { ?s ?p ?o }"}}
# A SPARQL query that is no SPARQL is the protocol's 400 (or 403 when it is an update).
PROTOCOL_ERRORS = {"query": {(400, "bad_query"), (403, "query_refused")}}
# Parameters that name a concept: an unknown one is a 404 not_found, not a 422.
CONCEPT_PARAMS = {"source", "target", "center"}


def assert_error_shape(response, context: str) -> dict:
    assert response.status_code >= 400, context
    assert response.headers["content-type"].startswith("application/json"), context
    body = response.json()
    assert list(body) == ["error"], f"{context}: {body}"
    error = body["error"]
    assert isinstance(error, dict), context
    assert isinstance(error.get("code"), str) and error["code"], f"{context}: {body}"
    assert isinstance(error.get("message"), str) and error["message"], f"{context}: {body}"
    assert "Traceback" not in response.text, context
    return error


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> FastAPI:
    return create_app(Settings(store=tmp_path_factory.mktemp("shape") / "store", default_glossary=DATA,
                               reload_interval=0))


@pytest.fixture(scope="module")
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The routes the OpenAPI document lists."""
    return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]


def fill(route: APIRoute, value: str) -> str:
    path = route.path_format
    for param in route.dependant.path_params:
        path = path.replace("{" + (param.alias or param.name) + "}", value)
    return path


def test_the_app_has_the_v1_routes(app):
    paths = {route.path for route in api_routes(app)}
    assert {"/health", "/concepts", "/concepts/{id}", "/export", "/quality"} <= paths


def test_every_route_documents_itself(app):
    for route in api_routes(app):
        assert route.summary and route.description and route.tags, route.path
    assert app.openapi()["paths"]  # the schema builds


def test_every_route_keeps_the_error_shape(app, client):
    for route in api_routes(app):
        good_path = fill(route, "deep-learning")

        # Wrong method.
        error = assert_error_shape(client.request("DELETE", good_path, params=GOOD_PARAMS.get(route.path)),
                                   f"DELETE {good_path}")
        assert error["code"] == "method_not_allowed"

        # Unknown id.
        if route.dependant.path_params:
            path = fill(route, UNKNOWN)
            error = assert_error_shape(client.get(path), f"GET {path}")
            assert error["code"] == "not_found"
            assert "suggestions" in error

        # Bad parameters: each query parameter in turn; at least one value must be refused.
        for param in route.dependant.query_params:
            name = param.alias or param.name
            refused = 0
            for value in BAD_VALUES:
                response = client.get(good_path, params={**GOOD_PARAMS.get(route.path, {}), name: value})
                if response.status_code >= 400:
                    error = assert_error_shape(response, f"GET {good_path}?{name}={value}")
                    if name in CONCEPT_PARAMS and response.status_code == 404:
                        assert (error["code"], error["parameter"]) == ("not_found", name)
                        assert "suggestions" in error
                    elif (response.status_code, error["code"]) in PROTOCOL_ERRORS.get(name, ()):
                        assert error["parameter"] == name
                    else:
                        assert response.status_code == 422
                        assert (error["code"], error["parameter"]) == ("bad_parameter", name)
                    refused += 1
            # Free text (a lookup prefix) accepts anything; every other parameter must validate.
            assert refused or name == "prefix", f"{route.path}: no bad value of {name!r} was refused"


def test_unknown_route_keeps_the_error_shape(client):
    error = assert_error_shape(client.get("/no/such/route"), "unknown route")
    assert error["code"] == "not_found"


def test_unexpected_errors_keep_the_shape_and_hide_the_traceback(tmp_path):
    app = create_app(Settings(store=tmp_path / "store", default_glossary=DATA, reload_interval=0))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    @app.get("/kg-error")
    def kg_error() -> None:
        raise NotFoundError("no such thing", term="thing", suggestions=[{"id": "a", "label": "A"}])

    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/boom")
        error = assert_error_shape(response, "/boom")
        assert response.status_code == 500 and error["code"] == "internal_error"
        assert "secret internal detail" not in response.text

        error = assert_error_shape(http.get("/kg-error"), "/kg-error")
        assert error == {"code": "not_found", "message": "no such thing", "term": "thing",
                         "suggestions": [{"id": "a", "label": "A"}]}
