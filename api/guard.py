"""What every request passes through: body size and time limits, CORS when configured, and
the admin routes behind a bearer token (compared in constant time).

Admin: ``POST /admin/reload`` loads the store's current version now (the same swap the
watcher does: in-flight requests finish on the glossary they started with; a version
that cannot be loaded leaves the last good one served). ``kg serve`` also reloads on
SIGHUP. Without ``KG_ADMIN_TOKEN`` the admin routes answer 403.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from api.errors import ERROR_RESPONSES, ErrorBody, error_response
from kg.errors import ForbiddenError, StoreError, UnauthorizedError
from kg.settings import Settings


class _Guard:
    """Pure ASGI (no per-request task or body buffering, unlike BaseHTTPMiddleware): a body
    declared larger than ``limit`` is refused with 413 before it is read, and a request
    still running after ``timeout`` seconds gets a 503 (if nothing was sent yet)."""

    def __init__(self, app, limit: int, timeout: float) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            response = error_response(413, "too_large", f"request body over {self.limit} bytes", limit=self.limit)
            await response(scope, receive, send)
            return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracking_send), self.timeout)
        except TimeoutError:
            if not started:
                response = error_response(503, "time_limit", f"the request took longer than {self.timeout:g} s",
                                          limit=self.timeout)
                await response(scope, receive, send)


def install_guards(app: FastAPI, settings: Settings) -> None:
    """Body size and time limits on every request; CORS only for ``settings.cors_origins``."""
    app.add_middleware(_Guard, limit=settings.max_body_bytes, timeout=settings.request_timeout)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Accept", "Content-Type"])


def require_admin(settings: Settings, authorization: str | None) -> None:
    """Raise unless ``authorization`` is ``Bearer <KG_ADMIN_TOKEN>``."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise ForbiddenError("admin routes are off: set KG_ADMIN_TOKEN to use them")
    scheme, _, given = (authorization or "").partition(" ")
    expected = settings.admin_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise UnauthorizedError("admin routes need the header `Authorization: Bearer <KG_ADMIN_TOKEN>`")


def add_admin_routes(app: FastAPI, settings: Settings) -> None:
    @app.post(
        "/admin/reload",
        tags=["service"],
        summary="Serve the store's current version now",
        description="Loads the store's current version and swaps it in (what the watcher does every "
        "`KG_RELOAD_INTERVAL` seconds, and `kg serve` on SIGHUP). Requests in flight finish on the version "
        "they started with; a version that cannot be loaded is reported and the last good one stays served. "
        "Needs `Authorization: Bearer <KG_ADMIN_TOKEN>`.",
        responses={401: {"model": ErrorBody, "description": "Missing or wrong token."},
                   403: {"model": ErrorBody, "description": "Admin routes are off (no KG_ADMIN_TOKEN)."},
                   503: {"model": ErrorBody, "description": "The current version cannot be loaded."},
                   **ERROR_RESPONSES},
    )
    async def reload(
        request: Request,
        authorization: Annotated[str | None, Header(description="`Bearer <KG_ADMIN_TOKEN>`")] = None,
    ) -> dict[str, Any]:
        require_admin(settings, authorization)
        state = request.app.state.kg
        before = state.version
        changed = await run_in_threadpool(state.refresh)
        if state.failed_version is not None and state.failed_version == state.store.current_version():
            raise StoreError(f"store version {state.failed_version} cannot be loaded; still serving {state.version}",
                             version=state.failed_version, serving=state.version)
        return {"version": state.version, "previous": before, "changed": changed}
