"""The HTTP API (v1): an app factory serving one Glossary, swapped when the store gets a new version."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from functools import partial

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from api import admin, graph_routes, pages, routes, sparql_routes
from api.answers import warm
from api.deps import get_glossary  # noqa: F401  (get_glossary: for dependency overrides)
from api.errors import install_error_handlers
from api.guard import install_guards
from kg.cache import LRUCache
from kg.errors import KGError, StoreError
from kg.glossary import Glossary
from kg.heap import settle
from kg.settings import Settings
from kg.store.versions import Store, UpdateOutcome, update_store

log = logging.getLogger(__name__)

ANSWER_CACHE_ENTRIES = 8192

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
        self.on_swap: Callable[[Glossary], None] | None = None  # called with each glossary swapped in

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
        if self.on_swap is not None:
            self.on_swap(glossary)
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


def _warm_answers(cache: LRUCache, state: ServiceState, glossary: Glossary) -> None:
    """Work out the default answers of ``glossary``'s best-linked concepts in a background
    thread, into half the answer cache (``api.answers.warm``), while it is the one served."""
    settings = state.settings
    threading.Thread(target=warm, name="kg-warm-answers", daemon=True,
                     args=(cache, glossary, lambda: state.glossary is glossary, ANSWER_CACHE_ENTRIES // 2,
                           settings.answer_cache_bytes // 2)).start()


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
        if settings.warm_answers:
            app.state.kg.on_swap = partial(_warm_answers, app.state.answers, app.state.kg)
            _warm_answers(app.state.answers, app.state.kg, app.state.kg.glossary)
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
            # uvicorn ends a process stopped by SIGTERM with that signal, past the exit hooks
            app.state.kg.glossary.close()

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
    app.state.answers = LRUCache(ANSWER_CACHE_ENTRIES, max_bytes=settings.answer_cache_bytes)  # api.answers, /graph
    app.state.settings = settings  # what routes read instead of closing over it (api.admin)
    install_error_handlers(app)
    install_guards(app, settings)
    add_routers(app, ROUTERS)
    return app


#: Every route module's router, in the order their routes are matched.
ROUTERS: tuple[APIRouter, ...] = (admin.router, routes.router, graph_routes.router, sparql_routes.router,
                                  pages.router)


def add_routers(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Declare the routes of ``routers`` on ``app`` itself, in order.

    Not ``app.include_router``: FastAPI (0.165) keeps an included router as one opaque entry
    of ``app.routes``, which tests walk (tests/test_errors_shape.py). Each API route is declared
    again on ``app`` with the options it was declared with, as ``@app.get`` would declare it (so
    ``app.dependency_overrides`` applies to it); other routes (the ``/static`` mount) are added as
    they are.
    """
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                app.router.routes.append(route)
                continue
            app.router.add_api_route(
                route.path,
                route.endpoint,
                route_class_override=type(route),
                methods=route.methods,
                name=route.name,
                tags=route.tags,
                dependencies=route.dependencies,
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses=route.responses,
                deprecated=route.deprecated,
                operation_id=route.operation_id,
                response_model=route.response_model,
                status_code=route.status_code,
                response_class=route.response_class,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                include_in_schema=route.include_in_schema,
                callbacks=route.callbacks,
                openapi_extra=route.openapi_extra,
                generate_unique_id_function=route.generate_unique_id_function,
                strict_content_type=route.strict_content_type,
                max_body_size=route.max_body_size,
                form_limits=route.form_limits,
            )
