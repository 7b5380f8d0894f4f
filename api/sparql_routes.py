"""``GET/POST /sparql``: the read-only SPARQL 1.1 Protocol endpoint over the served glossary (``router``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import GlossaryDep
from api.errors import ERROR_RESPONSES
from api.models import ErrorBody
from kg.errors import BadParameterError, QueryRefusedError
from kg.rdf.sparql import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT, MAX_QUERY_CHARS, RESULT_TYPES
from kg.rdf.sparql_workers import DEFAULT_MEMORY_MB

_DESCRIPTION = (
    "Read-only SPARQL 1.1 over the glossary's SKOS graph (the SPARQL 1.1 Protocol, so `rdflib`'s "
    "`SPARQLStore` and other clients can use it). SELECT and ASK answer as SPARQL JSON (default), XML, "
    "CSV or TSV; CONSTRUCT and DESCRIBE as Turtle (default), RDF/XML, JSON-LD or N-Triples; choose with "
    f"`Accept` (q-values honoured) or `format`. Updates, `SERVICE` and `FROM` are refused (403 "
    "`query_refused`). Each query runs in a worker process of its own that is killed when its time is up: by "
    f"default {DEFAULT_TIMEOUT:g} s, {DEFAULT_MEMORY_MB} MiB, {DEFAULT_MAX_ROWS} rows and "
    f"{DEFAULT_MAX_BYTES >> 20} MiB of answer (`KG_SPARQL_*` settings); past any of them, or when every worker "
    "stays busy for that long, the answer is a 503 `query_limit` naming the `limit`. POST takes "
    "`application/x-www-form-urlencoded` (`query=`) or `application/sparql-query`."
)
_CONTENT = {media_type: {} for media_type in (*RESULT_TYPES, "text/turtle", "application/rdf+xml",
                                              "application/ld+json", "application/n-triples")}
_BODY_LIMIT = MAX_QUERY_CHARS * 4 + 1024  # bytes: the longest query, percent-encoded
#: The body is read by hand (two media types), so the schema says what it may be.
_POST_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["query"], "additionalProperties": False,
            "properties": {"query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS,
                                     "description": "The SPARQL query."}}}},
        "application/sparql-query": {"schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS}},
    },
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Query results.", "content": _CONTENT},
    400: {"description": "Not a SPARQL query (`bad_query`, JSON); a request line the HTTP parser cannot "
                         "read is refused by the server itself, as text.",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}},
                      "text/plain": {}}},
    403: {"model": ErrorBody, "description": "An update, SERVICE or FROM (`query_refused`)."},
    503: {"model": ErrorBody, "description": "Over the time, memory, row or size limit, or every worker busy "
                                             "(`query_limit`, with `limit`: time, memory, rows, size, running)."},
    **ERROR_RESPONSES,
}

router = APIRouter()


@router.get("/sparql", tags=["export"], summary="SPARQL query (read-only)", description=_DESCRIPTION,
            response_class=Response, responses=_RESPONSES)
async def sparql_get(
    glossary: GlossaryDep,
    query: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="The SPARQL query.",
                                examples=["SELECT ?c ?l WHERE { ?c <http://www.w3.org/2004/02/skos/core#"
                                          "prefLabel> ?l } LIMIT 5"])],
    format: Annotated[str | None, Query(max_length=60, description="Overrides `Accept`: json, xml, csv, "
                                                                  "tsv, turtle, xml, json-ld, nt.")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    return await _answer(glossary, query, accept, format)


@router.post("/sparql", tags=["export"], summary="SPARQL query (read-only), by POST", description=_DESCRIPTION,
             response_class=Response, responses=_RESPONSES, openapi_extra={"requestBody": _POST_BODY})
async def sparql_post(
    request: Request,
    glossary: GlossaryDep,
    format: Annotated[str | None, Query(max_length=60, description="Overrides `Accept`.")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    content_type: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    body = await _read_body(request)
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/sparql-update":
        raise QueryRefusedError("this endpoint is read-only: SPARQL updates are refused", parameter="update")
    if kind == "application/sparql-query":
        query = body.decode("utf-8", errors="replace")
    elif kind in ("application/x-www-form-urlencoded", ""):
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        if "update" in form:
            raise QueryRefusedError("this endpoint is read-only: SPARQL updates are refused",
                                    parameter="update")
        if len(form.get("query", [])) != 1:
            raise BadParameterError("give exactly one `query`", parameter="query")
        query = form["query"][0]
    else:
        raise BadParameterError(f"unsupported content type {kind!r}: use application/x-www-form-urlencoded "
                                "or application/sparql-query", parameter="content-type")
    return await _answer(glossary, query, accept, format)


async def _read_body(request: Request) -> bytes:
    size = int(request.headers.get("content-length") or 0)
    if size > _BODY_LIMIT:
        raise BadParameterError(f"request body over {_BODY_LIMIT} bytes", parameter="body", limit=_BODY_LIMIT)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _BODY_LIMIT:
            raise BadParameterError(f"request body over {_BODY_LIMIT} bytes", parameter="body", limit=_BODY_LIMIT)
    return body


async def _answer(glossary, query: str, accept: str | None, fmt: str | None) -> Response:
    answer = await run_in_threadpool(glossary.sparql, query, accept, fmt)
    return Response(answer.data, media_type=answer.media_type)
