"""The admin routes (``router``), behind a bearer token (``api.guard.require_admin``).

``POST /admin/reload`` loads the store's current version now (the same swap the
watcher does: in-flight requests finish on the glossary they started with; a version
that cannot be loaded leaves the last good one served). ``kg serve`` also reloads on
SIGHUP. Without ``KG_ADMIN_TOKEN`` the admin routes answer 403.

The pages' own admin (``/review``, and the controls of a concept page): the token is given
once to ``POST /admin/session``, which sets an HttpOnly, SameSite=Strict cookie holding an
HMAC of it (never the token); each admin form also posts a key derived the same way, and
``POST /admin/review/answer`` writes the answer as ``kg review`` does and serves the result.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from api.errors import ERROR_RESPONSES
from api.guard import ADMIN_COOKIE, admin_session, require_admin, require_admin_form
from api.models import MAX_AUTHORIZATION_CHARS, ErrorBody
from kg.errors import BadParameterError, StoreError

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


# -- the pages' admin: sign in, answer review questions (forms; left out of the API schema) -------

#: The largest admin form read (a token, two terms and a few fields).
MAX_FORM_BYTES = 8192


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, each field once (the pages' forms)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadParameterError(f"the form is larger than {MAX_FORM_BYTES} bytes", parameter="body")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadParameterError(f"the form cannot be read: {error}", parameter="body") from None
    return {key: values[0] for key, values in fields.items()}


def _back(target: str | None, default: str) -> str:
    """Where to send the browser after a form: a path of this site only (no scheme, no host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default


@router.post("/admin/session", include_in_schema=False)
async def sign_in(request: Request) -> RedirectResponse:
    """The sign-in form of /review: the token once, then a SameSite=Strict HttpOnly cookie."""
    settings = request.app.state.settings
    form = await _form(request)
    require_admin(settings, f"Bearer {form.get('token', '')}")
    response = RedirectResponse(_back(form.get("next"), "/review"), status_code=303)
    response.set_cookie(ADMIN_COOKIE, admin_session(settings) or "", httponly=True, samesite="strict", path="/")
    return response


@router.post("/admin/signout", include_in_schema=False)
async def sign_out(request: Request) -> RedirectResponse:
    response = RedirectResponse("/review", status_code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/")
    return response


@router.post("/admin/review/answer", include_in_schema=False)
async def answer(request: Request) -> RedirectResponse:
    """One answer from the pages: ``answer`` yes (confirm), no (reject) or skip, for
    ``prerequisite`` (an id or label) before ``concept``; yes and no are written to
    kg-prerequisites.yaml and the store re-ingested, then served."""
    settings = request.app.state.settings
    form = await _form(request)
    require_admin_form(settings, request.cookies.get(ADMIN_COOKIE), form.get("form_key"))
    state = request.app.state.kg
    glossary = state.glossary
    choice = form.get("answer", "")
    if choice not in ("yes", "no", "skip"):
        raise BadParameterError("answer must be yes, no or skip", parameter="answer")
    prerequisite = glossary.get(form.get("prerequisite", "").strip()).id
    concept = glossary.get(form.get("concept", "").strip()).id
    if prerequisite == concept:
        raise BadParameterError("a concept cannot be its own prerequisite", parameter="prerequisite")
    if not hasattr(request.app.state, "review_skipped"):
        request.app.state.review_skipped = set()  # what this server's admin skipped: not asked again
    skipped = request.app.state.review_skipped
    if choice == "skip":
        skipped.add((prerequisite, concept))
    else:
        # heavy: the review module and a re-ingest, only when an admin answers
        from kg.prereqs.review import apply_answers

        await run_in_threadpool(apply_answers, glossary, settings, [(prerequisite, concept, choice == "yes")])
        await run_in_threadpool(state.refresh)
    return RedirectResponse(_back(form.get("next"), "/review"), status_code=303)
