"""The admin routes (``router``), behind a bearer token (``api.guard.require_admin``).

``POST /admin/reload`` loads the store's current version now (the same swap the
watcher does: in-flight requests finish on the glossary they started with; a version
that cannot be loaded leaves the last good one served). ``kg serve`` also reloads on
SIGHUP. Without ``KG_ADMIN_TOKEN`` the admin routes answer 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool

from api.errors import ERROR_RESPONSES
from api.guard import require_admin
from api.models import MAX_AUTHORIZATION_CHARS, ErrorBody
from kg.errors import StoreError

router = APIRouter()


@router.post(
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
    authorization: Annotated[str | None, Header(max_length=MAX_AUTHORIZATION_CHARS,
                                                description="`Bearer <KG_ADMIN_TOKEN>`")] = None,
) -> dict[str, Any]:
    require_admin(request.app.state.settings, authorization)
    state = request.app.state.kg
    before = state.version
    changed = await run_in_threadpool(state.refresh)
    if state.failed_version is not None and state.failed_version == state.store.current_version():
        raise StoreError(f"store version {state.failed_version} cannot be loaded; still serving {state.version}",
                         version=state.failed_version, serving=state.version)
    return {"version": state.version, "previous": before, "changed": changed}
