"""The core HTTP routes (``router``): health, search, concepts and their learning paths, the
change feed, the SKOS export and the quality report."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.answers import cached_answer, concept_answer, learning_path_answer, serve
from api.deps import GlossaryDep
from api.errors import ERROR_RESPONSES
from api.models import (
    MAX_FORMAT_CHARS,
    MAX_LANG_CHARS,
    MAX_TERM_CHARS,
    ConceptView,
    Health,
    LearningPathOut,
    LookupResult,
    SearchResult,
)
from kg.errors import StoreError
from kg.prereqs.learning import HOP_DECAY, PATH_LIMIT, PATH_MIN_CONFIDENCE
from kg.rdf.formats import EXPORT_FORMATS, negotiate, resolve_format
from kg.store.changes import store_changes

router = APIRouter()


@router.get(
    "/health",
    tags=["service"],
    response_model=Health,
    summary="Service status",
    description="Status, number of concepts, embedding model name and the store version served. "
    "`degraded` (still 200: the last good version is served) while the store's newest version cannot "
    "be loaded, with that version and why.",
)
async def health(request: Request) -> Response:
    # The probe every load balancer sends: answered on the event loop, without dependencies or
    # response-model validation (the body is built from plain values; `Health` documents it).
    state = getattr(request.app.state, "kg", None)
    if state is None:
        raise StoreError("no glossary is loaded yet; the service is starting")
    answer = {**state.glossary.health(), "refused_version": None, "refused_reason": None}
    if state.failed_version is not None:
        answer.update(status="degraded", refused_version=state.failed_version, refused_reason=state.failed_reason)
    return JSONResponse(answer)


@router.get(
    "/search",
    tags=["search"],
    response_model=SearchResult,
    responses=ERROR_RESPONSES,
    summary="Semantic search",
    description="Concepts ranked for `q`, in Japanese or English. A label (any case or width: "
    "`LSTM`, `llm`, `ＬＳＴＭ`) ranks its concept first. `hybrid` (default) adds meaning "
    "(embeddings) and shared words (BM25); `dense` and `lexical` use one of them. Each hit "
    "says what matched and in which language. A query of only punctuation gives no hits.",
)
def search(
    request: Request,
    glossary: GlossaryDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=1000,
            description="The query (1-1000 characters).",
            examples=["how do I stop a model from overfitting?", "学習率を徐々に下げる"],
        ),
    ],
    k: Annotated[int, Query(ge=1, le=100, description="How many hits (1-100).")] = 10,
    mode: Annotated[Literal["hybrid", "dense", "lexical"], Query(description="Ranking signals to use.")] = "hybrid",
    lang: Annotated[
        str | None,
        Query(
            max_length=MAX_LANG_CHARS,
            pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$",
            description="Only concepts with a label in this language (`ja`, `en`).",
        ),
    ] = None,
) -> Response:
    def answer() -> dict[str, Any]:
        return glossary.search_answer(q, k=k, mode=mode, lang=lang).to_dict()

    # A repeated query is answered from the serialized answer of the same store version.
    return cached_answer(request, glossary, ("search", q, k, mode, lang), answer,
                         cache=request.app.state.search_answers)


@router.get(
    "/concepts",
    tags=["concepts"],
    response_model=LookupResult,
    responses=ERROR_RESPONSES,
    summary="Label lookup and autocomplete",
    description="Concepts with a label starting with `prefix` (then containing it), one hit per "
    "concept, shortest label first. Case- and width-insensitive; Japanese works.",
)
def lookup(
    glossary: GlossaryDep,
    prefix: Annotated[
        str, Query(max_length=MAX_TERM_CHARS, description="Start of a label; empty lists every concept.",
                   examples=["deep", "深層"])
    ] = "",
    limit: Annotated[int, Query(ge=1, le=1000, description="Most hits to return (1-1000).")] = 20,
) -> dict[str, Any]:
    return {"prefix": prefix, "results": glossary.lookup(prefix, limit=limit)}


@router.get(
    "/concepts/{id}",
    tags=["concepts"],
    response_model=ConceptView,
    response_model_exclude_none=True,
    responses=ERROR_RESPONSES,
    summary="One concept",
    description="Labels by language, definitions with their sources, direct links in and out, "
    "collections. `{id}` may be the id or any label in any case (URL-encoded): "
    "`/concepts/Deep%20Learning`, `/concepts/%E6%B7%B1%E5%B1%A4%E5%AD%A6%E7%BF%92`. "
    "An unknown term is a 404 whose `suggestions` are close labels.",
)
async def concept(
    request: Request,
    glossary: GlossaryDep,
    ref: Annotated[
        str,
        Path(
            alias="id",
            max_length=MAX_TERM_CHARS,
            description="Concept id or any of its labels.",
            examples=["deep-learning", "Deep Learning", "深層学習"],
        ),
    ],
) -> Response:
    return await serve(request, glossary, concept_answer(glossary, ref))


@router.get(
    "/concepts/{id}/prerequisites",
    tags=["graph"],
    response_model=LearningPathOut,
    responses=ERROR_RESPONSES,
    summary="Learning path",
    description="What to learn before a concept, basics first: its direct prerequisites, then what "
    "strong is-a, part, derived-from and built-on chains lead to. Each is scored by its chains taken "
    "together (noisy-OR; a chain is the product of its edge "
    f"confidences, times {HOP_DECAY} per step beyond the first) and listed when it reaches "
    "`min_confidence`: direct prerequisites always, the others strongest first up to `limit` items. "
    "Field names much of the glossary builds on come apart, as `background`. Concepts in `known`, "
    "and what they need, drop out. Each item carries its score and its best chain, each edge with "
    "its relation, the words that show it and its evidence sentence; edges stated by the glossary's "
    "author are marked `curated`.",
)
async def prerequisites(
    request: Request,
    glossary: GlossaryDep,
    ref: Annotated[
        str, Path(alias="id", max_length=MAX_TERM_CHARS, description="Concept id or any of its labels.",
                  examples=["dropout", "BERT"])
    ],
    known: Annotated[
        str,
        Query(
            max_length=2000,
            description="Concepts you know, comma-separated ids or labels.",
            examples=["neural-network,overfitting"],
        ),
    ] = "",
    depth: Annotated[int | None, Query(ge=0, le=100, description="Prerequisite steps back (none: all).")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many items.")] = PATH_LIMIT,
    min_confidence: Annotated[
        float, Query(ge=0.0, le=1.0, description="Least strength of an item (its chains together).")
    ] = PATH_MIN_CONFIDENCE,
) -> dict[str, Any]:
    return await serve(request, glossary, learning_path_answer(glossary, ref, known, depth, limit, min_confidence))


@router.get(
    "/changes",
    tags=["service"],
    response_class=Response,
    responses={200: {"description": "The changes.", "content": {"application/json": {}, "text/plain": {}}},
               **ERROR_RESPONSES},
    summary="Change feed",
    description="What changed from store version `since` to the version served now: concepts added, "
    "removed, relabelled and redefined, links and prerequisite edges added and removed (ids and names). "
    "Without `since`, the change from the previous version. The store keeps its newest few versions; "
    "an older `since` is a 404 listing the versions it has. `format=text` gives a summary for people.",
)
def changes(
    glossary: GlossaryDep,
    since: Annotated[str | None, Query(max_length=64, pattern=r"^\d{8}T\d{12}Z-[0-9a-f]{6}$",
                                       description="A store version id (`/health` tells the current one).")] = None,
    format: Annotated[Literal["json", "text"], Query(description="`json` or `text`.")] = "json",
) -> Response:
    found = store_changes(glossary.settings, since, glossary.version)
    if format == "text":
        return Response(found.to_text() + "\n", media_type="text/plain; charset=utf-8")
    return Response(json.dumps(found.to_dict(), ensure_ascii=False), media_type="application/json")


@router.get(
    "/export",
    tags=["export"],
    response_class=Response,
    summary="The glossary as SKOS",
    responses={
        200: {"description": "The whole SKOS graph.", "content": {fmt.media_type: {} for fmt in EXPORT_FORMATS}},
        422: ERROR_RESPONSES[422],
    },
    description="The whole glossary as a SKOS graph. Choose the format with `format` "
    "(`turtle`, `xml`, `json-ld`, `nt`, or a media type) or, without it, with the "
    "`Accept` header; the default is Turtle.",
)
def export(
    glossary: GlossaryDep,
    fmt: Annotated[
        str | None, Query(alias="format", max_length=MAX_FORMAT_CHARS, description="turtle, xml, json-ld or nt.",
                          examples=["turtle"])
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    # An explicit format wins; an Accept header that names none of ours gets the default.
    chosen = resolve_format(fmt) if fmt else negotiate(accept) or resolve_format("turtle")
    data, media_type = glossary.export(chosen.name)
    suffix = chosen.suffixes[0] if chosen.suffixes else "." + chosen.name
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="glossary{suffix}"',
            "Vary": "Accept",
        },
    )


@router.get(
    "/quality",
    tags=["quality"],
    summary="SKOS quality report",
    description="Findings that make the glossary harder to use: missing labels or definitions, "
    "broken links, shared labels, cycles... with where each was found.",
)
def quality(glossary: GlossaryDep) -> dict[str, Any]:
    return glossary.quality().to_dict()
