"""Serialized answers of the read-only endpoints, kept per store version.

A glossary version never changes, so the JSON of a concept, a learning path, a path or
the related terms for the same parameters is the same every time: it is computed and
validated against its response model once, then answered from an LRU of bytes. A new
version (a reload) gets new keys; its old entries age out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel


def cached_answer(request: Request, glossary, key: tuple[Hashable, ...], compute: Callable[[], dict[str, Any]],
                  model: type[BaseModel] | None = None, exclude_none: bool = False, cache=None) -> Response:
    """The JSON answer for ``key`` (with the glossary's identity and version), computed on a miss.
    Errors raised by ``compute`` propagate and nothing is cached. ``cache``: an ``LRUCache`` of
    bytes, default ``app.state.answers`` (search keeps its own, of recent queries)."""

    def build() -> bytes:
        data = compute()
        if model is None:
            return json.dumps(data, ensure_ascii=False).encode("utf-8")
        return model.model_validate(data).model_dump_json(exclude_none=exclude_none).encode("utf-8")

    cache = cache if cache is not None else request.app.state.answers
    return Response(cache.get((id(glossary), glossary.version, *key), build), media_type="application/json")
