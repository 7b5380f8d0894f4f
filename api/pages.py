"""The service's own web pages: search, a concept, and the prerequisite graph.

Rendered on the server with Jinja2 from the same ``Glossary`` the API answers from,
so every page works without script; ``static/app.js`` adds autocomplete, results
as you type, math (KaTeX) and pan/zoom on the graph; ``static/explorer.js`` draws the
explorable graph of /overview with Cytoscape.js. Everything the pages load is
served from ``/static`` (no CDN), including the OpenAPI pages at ``/docs``.
"""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.deps import GlossaryDep
from api.graph_svg import render_svg
from api.guard import ADMIN_COOKIE, admin_session, is_admin_page
from api.models import MAX_TERM_CHARS
from api.render import definition_html
from kg.errors import BadParameterError, NotFoundError
from kg.glossary import Glossary
from kg.prereqs.hierarchy import alphabetical_index

HERE = FilePath(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

# An absolute http(s) URL with nothing a browser would read otherwise: no whitespace, control
# characters, quotes, angle brackets or backslashes (browsers drop tabs and newlines, which
# would turn `java\nscript:` into a scheme).
_HTTP_URL = re.compile(r"https?://[^\x00-\x20\x7f\"'<>\\`]+", re.IGNORECASE)


def http_url(value: object) -> str | None:
    r"""``value`` when it is an http(s) URL with a host, else None: the only URLs from the store
    that may become links on a page (a source URL is whatever the glossary file said, and
    ``javascript:`` would run on this origin). Templates use it as the ``http_url`` filter.

    >>> http_url("https://example.org/a?b=1"), http_url("javascript:alert(1)"), http_url(" https://x.org")
    ('https://example.org/a?b=1', None, None)
    >>> http_url("HTTP://x.org/"), http_url("https:///path"), http_url("java\nscript:x"), http_url(None)
    ('HTTP://x.org/', None, None, None)
    """
    if not isinstance(value, str) or not _HTTP_URL.fullmatch(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. a bad IPv6 host
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


templates.env.filters["http_url"] = http_url

Direction = Literal["path", "both", "prerequisites", "dependents"]


#: ``/static`` and the pages (left out of the OpenAPI schema).
router = APIRouter()
router.mount("/static", StaticFiles(directory=STATIC), name="static")


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page says: the same icon as the pages' own."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    # FastAPI's get_swagger_ui_html starts Swagger UI with an inline script, which the
    # Content-Security-Policy (api.guard) refuses: this page loads static/swagger-init.js.
    app = request.app
    return templates.TemplateResponse(request, "docs.html", {"title": f"{app.title}: API",
                                                             "openapi_url": app.openapi_url or "/openapi.json"})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(
    request: Request,
    glossary: GlossaryDep,
    q: Annotated[str, Query(max_length=1000)] = "",
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
    lang: Literal["", "ja", "en"] = "",
) -> HTMLResponse:
    answer = glossary.search_answer(q, k=20, mode=mode, lang=lang or None).to_dict() if q.strip() else {}
    return _page(request, "home.html", glossary, title="Search" if not q else f"{q}: search",
                 q=q, mode=mode, lang=lang, results=answer.get("results", []),
                 suggestions=answer.get("suggestions", []), unknown_names=answer.get("unknown_names", []),
                 collections=_collections(glossary))


@router.get("/concept/{id}", response_class=HTMLResponse, include_in_schema=False)
def concept_page(
    request: Request,
    glossary: GlossaryDep,
    ref: Annotated[str, Path(alias="id", max_length=MAX_TERM_CHARS)],
    depth: Annotated[int, Query(ge=1, le=6)] = 2,
    direction: Direction = "path",
) -> HTMLResponse:
    try:
        view = glossary.concept_view(ref)
    except NotFoundError as error:
        return _page(request, "missing.html", glossary, title="Not found", status=404, term=ref,
                     suggestions=error.details.get("suggestions", []))
    concept = glossary.concepts[view["id"]]
    links = [(link.text, link.target) for link in concept.links if link.text]
    definitions = [{**d, "html": definition_html(d["text"], links)} for d in view["definitions"]]
    graph = glossary.prerequisite_view(concept.id, depth, direction)
    settings = request.app.state.settings
    admin = is_admin_page(settings, request.cookies.get(ADMIN_COOKIE))
    return _page(
        request, "concept.html", glossary, title=view["name"], concept=view, definitions=definitions,
        admin=admin, form_key=admin_session(settings, "form") if admin else None,
        path=glossary.learning_path(concept.id), related=[r.to_dict() for r in glossary.related(concept.id, k=8)],
        graph_svg=render_svg(graph, f"Prerequisite graph of {view['name']}"), graph=graph,
        depth=depth, direction=direction,
    )


@router.get("/overview", response_class=HTMLResponse, include_in_schema=False)
def overview(
    request: Request,
    glossary: GlossaryDep,
    collection: Annotated[str, Query(max_length=500)] = "",
    center: Annotated[str, Query(max_length=500)] = "",
    depth: Annotated[int, Query(ge=1, le=6)] = 2,
    direction: Direction = "both",
    focus: Annotated[str, Query(max_length=MAX_TERM_CHARS)] = "",
) -> HTMLResponse:
    """The explorer (static/explorer.js draws ``GET /graph/layout``); without script, the layered
    SVG of the same view when it is small enough to read, and always the graph as text."""
    what = glossary.collections[collection].label if collection in glossary.collections else collection
    title = f"Prerequisite graph: {what or 'whole glossary'}"
    key = (id(glossary), glossary.version, "overview-fallback", collection, center, depth, direction)
    try:
        fallback = request.app.state.answers.get(
            key, lambda: _overview_fallback(glossary, title, collection, center, depth, direction))
    except (BadParameterError, NotFoundError) as error:
        return _page(request, "overview.html", glossary, title="Overview", status=422, error=error.message,
                     collection=collection, center=center, depth=depth, direction=direction,
                     collections=_collections(glossary), fallback=None)
    part = {"center": center, "depth": depth, "direction": direction, "collection": collection}
    layout_url = "/graph/layout?" + urlencode({k: v for k, v in part.items() if v and (k != "depth" or center)})
    return _page(request, "overview.html", glossary, title=title, collection=collection, center=center,
                 depth=depth, direction=direction, collections=_collections(glossary), fallback=fallback,
                 error=None, layout_url=layout_url, focus=_focus_id(glossary, focus or center))


def _overview_fallback(glossary: Glossary, title: str, collection: str, center: str, depth: int,
                       direction: str) -> str:
    """The overview without script, rendered once per store version and view (the view alone
    takes 0.3 s at 10,000 concepts, and the explorer does not need it)."""
    graph = glossary.prerequisite_view(center or None, depth if center else None, direction, collection or None)
    small = graph.number_of_nodes() <= STATIC_GRAPH_MAX_NODES
    return templates.get_template("_overview_fallback.html").render(
        graph=graph, graph_svg=render_svg(graph, title) if small else "", static_graph=True,
        edge_list_max=EDGE_LIST_MAX)


#: Past this many concepts the overview draws no SVG for readers without script: a layered drawing
#: of thousands of nodes is unreadable and megabytes long; the text list and the form remain.
STATIC_GRAPH_MAX_NODES = 600
#: The text alternative lists at most this many edges (the whole graph: GET /graph?format=graphml).
EDGE_LIST_MAX = 2000


def _focus_id(glossary: Glossary, ref: str) -> str:
    """The id of the concept the explorer starts on (``ref`` an id or label), or "" for none or unknown."""
    if not ref:
        return ""
    try:
        return glossary.get(ref).id
    except NotFoundError:
        return ""


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def review_page(request: Request, glossary: GlossaryDep) -> HTMLResponse:
    """The next prerequisite questions for a signed-in admin (``kg review`` in the browser); a
    sign-in form otherwise, and nothing to answer without ``KG_ADMIN_TOKEN``."""
    settings = request.app.state.settings
    admin = is_admin_page(settings, request.cookies.get(ADMIN_COOKIE))
    questions = []
    if admin:
        # heavy: reads every candidate pair's features; only for a signed-in admin
        from kg.prereqs.review import review_questions

        skipped = getattr(request.app.state, "review_skipped", set())
        questions = [q.to_dict(glossary) for q in review_questions(glossary, limit=REVIEW_PAGE, answered=skipped)]
    return _page(request, "review.html", glossary, title="Review prerequisites", admin=admin,
                 enabled=admin_session(settings) is not None, questions=questions,
                 form_key=admin_session(settings, "form") if admin else None)


#: Questions the review page shows at once.
REVIEW_PAGE = 10


@router.get("/terms", response_class=HTMLResponse, include_in_schema=False)
def terms(request: Request, glossary: GlossaryDep) -> HTMLResponse:
    """Every term under its letter (A–Z) and its kana row (あ–わ), kanji by their reading."""
    groups = alphabetical_index(glossary)
    return _page(request, "terms.html", glossary, title="Index of terms", groups=groups)


@router.get("/hierarchy", response_class=HTMLResponse, include_in_schema=False)
def hierarchy(request: Request, glossary: GlossaryDep) -> HTMLResponse:
    """The top concepts, each opening onto its narrower ones (the author's and the inferred is-a)."""
    tree = glossary.hierarchy
    names = {cid: concept.name for cid, concept in glossary.concepts.items()}
    return _page(request, "hierarchy.html", glossary, title="Hierarchy", tops=tree.top(glossary.concepts),
                 narrower=tree.narrower, names=names, max_depth=HIERARCHY_DEPTH)


#: The hierarchy page nests this many levels at most (a hierarchy has no cycles; this bounds the page).
HIERARCHY_DEPTH = 12


def _collections(glossary: Glossary) -> list[dict[str, str]]:
    return sorted(({"id": c.id, "label": c.label} for c in glossary.collections.values()),
                  key=lambda c: c["label"].casefold())


def _page(request: Request, template: str, glossary: Glossary, *, title: str, status: int = 200,
          **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"title": title, "glossary": glossary, **context},
                                      status_code=status)

