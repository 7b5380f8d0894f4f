"""Serialized answers of the read-only endpoints, kept per store version.

A glossary version never changes, so the JSON of a concept, a learning path, a path or
the related terms for the same parameters is the same every time: it is computed and
validated against its response model once, then answered from an LRU of bytes. A new
version (a reload) gets new keys; its old entries age out.

The default answers of the best-linked concepts are worked out as soon as a version is served
(``warm``), so that the first reader of a concept page does not pay for them either; a hit is
answered on the event loop, without the hop to the thread pool that a computation needs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

import pydantic_core
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from api.models import ConceptView, LearningPathOut, RelatedResult
from kg.cache import LRUCache
from kg.prereqs.explained import link_graph
from kg.prereqs.learning import PATH_LIMIT, PATH_MIN_CONFIDENCE
from kg.prereqs.related import related

log = logging.getLogger(__name__)

RELATED_K = 10  # GET /concepts/{id}/related's default
# Up to this many concepts an answer is worked out on the event loop: a path, learning path or
# related list costs 0.1-0.4 ms among the linked corpus's 218 concepts (docs/benchmarks.md),
# about what the hop to the thread pool and back costs.
INLINE_MAX_CONCEPTS = 500


class Answer(NamedTuple):
    """How to answer one request: its cache key (without the glossary's version) and how to
    compute and validate the JSON on a miss. With no ``model`` the computed dict is serialized
    as it is: for answers built field by field to their response model, and tested to match it,
    where validating each one would cost more than computing it (``/path``)."""

    key: tuple[Hashable, ...]
    compute: Callable[[], dict[str, Any]]
    model: type[BaseModel] | None = None
    exclude_none: bool = False


def concept_answer(glossary, ref: str) -> Answer:
    return Answer(("concept", ref), lambda: glossary.concept_view(ref), ConceptView, exclude_none=True)


def learning_path_answer(glossary, ref: str, known: str = "", depth: int | None = None, limit: int = PATH_LIMIT,
                         min_confidence: float = PATH_MIN_CONFIDENCE) -> Answer:
    return Answer(
        ("prerequisites", ref, known, depth, limit, min_confidence),
        lambda: glossary.learning_path(ref, known=[k for k in known.split(",") if k.strip()], depth=depth,
                                       limit=limit, min_confidence=min_confidence),
        LearningPathOut,
    )


def related_answer(glossary, ref: str, k: int = RELATED_K) -> Answer:
    def compute() -> dict[str, Any]:
        concept = glossary.get(ref)
        terms = related(glossary, concept.id, k=k)
        return {"id": concept.id, "name": concept.name, "results": [term.to_dict() for term in terms]}

    return Answer(("related", ref, k), compute, RelatedResult, exclude_none=True)


# What a concept page and its API neighbours ask for by default, worked out ahead by ``warm``.
DEFAULT_ANSWERS = (concept_answer, learning_path_answer, related_answer)


def _serialize(answer: Answer) -> Callable[[], bytes]:
    def build() -> bytes:
        data = answer.compute()
        if answer.model is None:
            return pydantic_core.to_json(data)
        return answer.model.model_validate(data).model_dump_json(exclude_none=answer.exclude_none).encode("utf-8")

    return build


def _full_key(glossary, key: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    return (id(glossary), glossary.version, *key)


def cached_answer(request: Request, glossary, key: tuple[Hashable, ...], compute: Callable[[], dict[str, Any]],
                  model: type[BaseModel] | None = None, exclude_none: bool = False, cache=None) -> Response:
    """The JSON answer for ``key`` (with the glossary's identity and version), computed on a miss.
    Errors raised by ``compute`` propagate and nothing is cached. ``cache``: an ``LRUCache`` of
    bytes, default ``app.state.answers`` (search keeps its own, of recent queries)."""
    cache = cache if cache is not None else request.app.state.answers
    answer = Answer(key, compute, model, exclude_none)
    return Response(cache.get(_full_key(glossary, key), _serialize(answer)), media_type="application/json")


async def serve(request: Request, glossary, answer: Answer) -> Response:
    """``answer`` from ``app.state.answers``: a hit on the event loop; a miss on the event loop
    too in a glossary of up to ``INLINE_MAX_CONCEPTS`` (a fraction of a millisecond there, less
    than the hop to a thread), else in the thread pool (milliseconds among 100,000 concepts)."""
    cache: LRUCache[bytes] = request.app.state.answers
    key = _full_key(glossary, answer.key)
    if len(glossary) <= INLINE_MAX_CONCEPTS:
        data = cache.get(key, _serialize(answer))
    elif (data := cache.peek(key)) is None:
        data = await run_in_threadpool(cache.get, key, _serialize(answer))
    return Response(data, media_type="application/json")


def warm(cache: LRUCache[bytes], glossary, served: Callable[[], bool], max_entries: int, max_bytes: int) -> int:
    """Compute the default answers (``DEFAULT_ANSWERS``) of the concepts, best-linked first,
    until ``max_entries`` or ``max_bytes`` of the cache are used or ``glossary`` is no longer
    the one ``served``. Runs in a background thread; a concept whose answer fails is skipped
    (its request will say why).

    Returns:
        How many answers were computed.
    """
    started, done = time.perf_counter(), 0
    link_graph(glossary.graph)  # what every /path reads: its chains, worked out once
    degree = glossary.graph.degree
    for concept_id in sorted(glossary.concepts, key=lambda cid: (-degree(cid) if cid in glossary.graph else 0, cid)):
        for make in DEFAULT_ANSWERS:
            if len(cache) >= max_entries or cache.bytes >= max_bytes or not served():
                log.info("warmed %d answers in %.2f s (stopped early)", done, time.perf_counter() - started)
                return done
            answer = make(glossary, concept_id)
            try:
                cache.get(_full_key(glossary, answer.key), _serialize(answer))
            except Exception:  # noqa: BLE001 - the request for it reports the error
                log.debug("no default answer for %s", answer.key, exc_info=True)
                continue
            done += 1
            time.sleep(0)  # let the serving threads in between answers
    log.info("warmed %d answers in %.2f s", done, time.perf_counter() - started)
    return done
