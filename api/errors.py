"""Every error the API answers with, mapped to HTTP in one place and one body shape."""

from __future__ import annotations

import logging
from typing import Any

import pydantic_core
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.models import ErrorBody
from kg.errors import KGError

log = logging.getLogger(__name__)

#: Codes for errors raised by the web framework itself (unknown route, wrong method...).
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    431: "headers_too_large",
}


#: ``responses=`` entries for routes, so the OpenAPI docs show the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown concept (with close label suggestions)."},
    422: {"model": ErrorBody, "description": "A parameter that cannot be used as given."},
    431: {"model": ErrorBody, "description": "Request line and headers over `KG_MAX_HEADER_BYTES` (64 KiB): "
                                             "send a long SPARQL query by POST."},
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> Response:
    """The canonical error body ``{"error": {"code", "message", ...details}}``. Serialized by
    pydantic-core, a tenth of the cost of FastAPI's encoder (a 404 for a pair with no chain is
    a third of random ``/path`` requests); what it cannot write as JSON is written as text."""
    body = {"error": {"code": code, "message": message, **details}}
    return Response(pydantic_core.to_json(body, fallback=str), status_code=status, headers=headers,
                    media_type="application/json")


async def _kg_error(request: Request, exc: KGError) -> Response:
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    body = exc.to_dict()
    return error_response(exc.status, body.pop("code"), body.pop("message"), **body)


def _parameter(loc: tuple[Any, ...]) -> str:
    """``("query", "limit")`` -> ``limit``; nested body locations are joined with dots."""
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    # Only loc/msg/type: pydantic's ``ctx`` may hold exception objects that are not JSON.
    problems = [
        {
            "parameter": _parameter(tuple(e.get("loc", ()))),
            "location": (e.get("loc") or ["?"])[0],
            "message": e.get("msg", "invalid value"),
            "type": e.get("type"),
        }
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"parameter": "", "message": "invalid request"}
    message = f"{first['parameter']}: {first['message']}" if first["parameter"] else first["message"]
    return error_response(422, "bad_parameter", message, parameter=first["parameter"], errors=problems)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"no endpoint {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return error_response(exc.status_code, code, message, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path: Starlette's 405 names only the first
    route's (``GET`` for ``/sparql``, which also takes ``POST``)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")  # the guard answers HEAD on every GET route
    return sorted(methods)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log, never to the client.
    log.exception("%s %s failed", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""
    app.add_exception_handler(KGError, _kg_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
