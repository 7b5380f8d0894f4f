"""The HTTP API (v1): an app factory serving one Glossary, swapped when the store gets a new version."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.answers import cached_answer
from api.deps import GlossaryDep, get_glossary  # noqa: F401  (get_glossary: for dependency overrides)
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.graph_routes import add_routes as add_graph_routes
from api.guard import add_admin_routes, install_guards
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
from api.pages import add_pages
from api.sparql_routes import add_sparql_routes
from kg.cache import LRUCache
from kg.errors import KGError, StoreError
from kg.formats import EXPORT_FORMATS, negotiate, resolve_format
from kg.glossary import Glossary
from kg.heap import settle
from kg.prereqs import HOP_DECAY, PATH_LIMIT, PATH_MIN_CONFIDENCE
from kg.settings import Settings
from kg.store import Store, UpdateOutcome, update_store

log = logging.getLogger(__name__)

DESCRIPTION = """
A knowledge graph over Markdown technical glossaries: look concepts up by any
label (Japanese or English), see their definitions and links, export the whole
glossary as SKOS, and read its quality report.

Every error has the same JSON shape: `{"error": {"code": ..., "message": ..., ...}}`;
an unknown concept is a 404 with close label `suggestions`, a bad parameter a 422
naming the `parameter`.
"""

TAGS = [
    {"name": "service", "description": "Is the service up, and which store version does it serve."},
    {"name": "search", "description": "Find concepts by meaning or label, in Japanese or English."},
    {"name": "concepts", "description": "Look concepts up by id or label."},
    {"name": "graph", "description": "Prerequisites, learning paths, explained paths and related terms."},
    {"name": "export", "description": "The glossary as standard SKOS (Turtle, RDF/XML, JSON-LD, N-Triples)."},
    {"name": "quality", "description": "The SKOS quality report."},
]


class ServiceState:
    """The glossary being served and what is needed to replace it (lives on ``app.state.kg``).

    Swapping is one attribute assignment, so a request sees either the old or the new
    glossary, never a mix.
    """

    def __init__(self, settings: Settings, store: Store, glossary: Glossary, version: str | None) -> None:
        self.settings = settings
        self.store = store
        self.glossary = glossary
        self.version = version
        self.failed_version: str | None = None  # the newest version that could not be loaded
        self.failed_reason: str | None = None  # why, for /health (the log has the traceback)

    def refresh(self) -> bool:
        """Load the store's current version if it is new; keep the old one if it fails.

        Returns:
            True when a new glossary was swapped in.
        """
        version = self.store.current_version()
        if version == self.version:  # e.g. the store was rolled back to what is served
            self.failed_version = self.failed_reason = None
        if version is None or version in (self.version, self.failed_version):
            return False
        try:
            glossary = self.store.load(self.settings)
            glossary.warm_up()  # before the swap: requests never wait for the new index to load
        except Exception as error:  # a corrupt version may fail in any way; the last good one stays served
            log.exception("store version %s cannot be loaded; still serving %s", version, self.version)
            self.failed_version = version
            # Our own errors are written for people (the store's place on disk left out); anything else
            # is only named: its text may hold anything, and the log has it.
            self.failed_reason = (error.message.replace(str(self.store.root), "STORE") if isinstance(error, KGError)
                                  else f"{type(error).__name__} while loading it; the server log has the details")
            return False
        self.glossary = glossary
        self.version = glossary.version or version
        self.failed_version = self.failed_reason = None
        settle()  # the old version's objects are collected, the new one's frozen
        log.info("now serving store version %s (%d concepts)", self.version, len(glossary))
        return True


def ensure_store(settings: Settings, progress: Callable[[int, int, str], None] | None = None) -> UpdateOutcome | None:
    """Ingest ``settings.default_glossary`` when the store is empty, so a new user gets a
    working service with one command.

    Returns:
        The ``UpdateOutcome`` of that ingest, or None when the store already had a version.

    Raises:
        StoreError: the bundled glossary gave nothing to serve.
    """
    if not Store(settings.store).is_empty():
        return None
    log.info("store %s is empty: ingesting %s", settings.store, settings.default_glossary)
    outcome = update_store([settings.default_glossary], settings, progress=progress)
    if outcome.exit_code == 2:
        raise StoreError(
            f"nothing could be ingested from {settings.default_glossary}; run `kg ingest PATH` with your glossary",
            store=str(settings.store),
        )
    return outcome


def open_state(settings: Settings) -> ServiceState:
    """Prepare the store (see ``ensure_store``) and load its current version."""
    ensure_store(settings)
    store = Store(settings.store)
    glossary = store.load(settings)
    glossary.warm_up()
    settle()  # no full garbage collection walks the store's objects during a request
    version = glossary.version or store.current_version()
    log.info("serving store version %s (%d concepts)", version, len(glossary))
    return ServiceState(settings, store, glossary, version)


def _reload_on_sighup(state: ServiceState) -> None:
    """``kill -HUP`` loads the store's current version (only where the loop may take signals:
    the main thread of ``kg serve``)."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, state.refresh))
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread (tests, embedding)
        pass


async def _watch(state: ServiceState, interval: float) -> None:
    """Poll the store's current version (a cheap read) and swap in new versions."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(state.refresh)
        except Exception:  # e.g. the version pointer caught mid-write: try again next time
            log.exception("checking the store for a new version failed")


def create_app(settings: Settings | None = None, state: ServiceState | None = None) -> FastAPI:
    """The FastAPI application over the store named by ``settings.store``.

    On startup an empty store is filled from ``settings.default_glossary``; while
    serving, the store is checked every ``settings.reload_interval`` seconds (0
    disables it) and a new version replaces the served glossary.

    Args:
        settings: defaults to ``Settings()`` (the environment).
        state: an already opened ``open_state(settings)``; ``kg serve`` opens it
            first so that a broken store is a one-line error, not a failed startup.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.kg = state or await run_in_threadpool(open_state, settings)
        _reload_on_sighup(app.state.kg)
        watcher = None
        if settings.reload_interval > 0:
            watcher = asyncio.create_task(_watch(app.state.kg, settings.reload_interval))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher

    app = FastAPI(
        title="Glossary knowledge graph",
        version="1",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served by api.pages from /static: no CDN
        redoc_url=None,
    )
    # Serialized answers (bytes; graphs: bytes and a media type), bounded in entries and in bytes.
    app.state.search_answers = LRUCache(1024, max_bytes=settings.search_cache_bytes)  # recent queries
    app.state.answers = LRUCache(8192, max_bytes=settings.answer_cache_bytes)  # api.answers, /graph
    install_error_handlers(app)
    install_guards(app, settings)
    add_admin_routes(app, settings)
    _add_routes(app)
    add_graph_routes(app)
    add_sparql_routes(app)
    add_pages(app)
    return app


def _add_routes(app: FastAPI) -> None:
    media_types = [fmt.media_type for fmt in EXPORT_FORMATS]

    @app.get(
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

    @app.get(
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
            hits = glossary.search(q, k=k, mode=mode, lang=lang)
            return {"query": q, "mode": mode, "results": [hit.to_dict() for hit in hits]}

        # A repeated query is answered from the serialized answer of the same store version.
        return cached_answer(request, glossary, ("search", q, k, mode, lang), answer,
                             cache=request.app.state.search_answers)

    @app.get(
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

    @app.get(
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
    def concept(
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
        return cached_answer(request, glossary, ("concept", ref), lambda: glossary.concept_view(ref), ConceptView,
                             exclude_none=True)

    @app.get(
        "/concepts/{id}/prerequisites",
        tags=["graph"],
        response_model=LearningPathOut,
        responses=ERROR_RESPONSES,
        summary="Learning path",
        description="What to learn before a concept, basics first. Every ancestor in the prerequisite "
        "graph is scored by its chains taken together (noisy-OR; a chain is the product of its edge "
        f"confidences, times {HOP_DECAY} per step beyond the first) and listed when it reaches "
        "`min_confidence`: direct prerequisites always, the others strongest first up to `limit` items. "
        "Concepts in `known`, and whatever is needed only for them, drop out. "
        "Each item carries its score and its best chain, each edge with its evidence sentence; edges "
        "stated by the glossary's author are marked `curated`.",
    )
    def prerequisites(
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
        return cached_answer(
            request, glossary, ("prerequisites", ref, known, depth, limit, min_confidence),
            lambda: glossary.learning_path(ref, known=[k for k in known.split(",") if k.strip()], depth=depth,
                                           limit=limit, min_confidence=min_confidence),
            LearningPathOut,
        )

    @app.get(
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
        from kg.changes import store_changes

        found = store_changes(glossary.settings, since, glossary.version)
        if format == "text":
            return Response(found.to_text() + "\n", media_type="text/plain; charset=utf-8")
        return Response(json.dumps(found.to_dict(), ensure_ascii=False), media_type="application/json")

    @app.get(
        "/export",
        tags=["export"],
        response_class=Response,
        summary="The glossary as SKOS",
        responses={
            200: {"description": "The whole SKOS graph.", "content": {media_type: {} for media_type in media_types}},
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

    @app.get(
        "/quality",
        tags=["quality"],
        summary="SKOS quality report",
        description="Findings that make the glossary harder to use: missing labels or definitions, "
        "broken links, shared labels, cycles... with where each was found.",
    )
    def quality(glossary: GlossaryDep) -> dict[str, Any]:
        return glossary.quality().to_dict()
