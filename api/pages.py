"""The service's own web pages: search, a concept, and the prerequisite graph.

Rendered on the server with Jinja2 from the same ``Glossary`` the API answers from,
so every page works without script; ``static/app.js`` adds autocomplete, results
as you type, math (KaTeX) and pan/zoom on the graph. Everything the pages load is
served from ``/static`` (no CDN), including the OpenAPI pages at ``/docs``.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.deps import GlossaryDep
from api.graph_svg import render_svg
from api.render import definition_html
from kg.errors import BadParameterError, NotFoundError
from kg.glossary import Glossary

HERE = FilePath(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

Direction = Literal["path", "both", "prerequisites", "dependents"]


def add_pages(app: FastAPI) -> None:
    """Mount ``/static`` and declare the pages (left out of the OpenAPI schema)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(
        request: Request,
        glossary: GlossaryDep,
        q: Annotated[str, Query(max_length=1000)] = "",
        mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
        lang: Literal["", "ja", "en"] = "",
    ) -> HTMLResponse:
        results = glossary.search(q, k=20, mode=mode, lang=lang or None) if q.strip() else []
        return _page(request, "home.html", glossary, title="Search" if not q else f"{q}: search",
                     q=q, mode=mode, lang=lang, results=[hit.to_dict() for hit in results],
                     collections=_collections(glossary))

    @app.get("/concept/{id}", response_class=HTMLResponse, include_in_schema=False)
    def concept_page(
        request: Request,
        glossary: GlossaryDep,
        ref: Annotated[str, Path(alias="id")],
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
        return _page(
            request, "concept.html", glossary, title=view["name"], concept=view, definitions=definitions,
            path=glossary.learning_path(concept.id), related=[r.to_dict() for r in glossary.related(concept.id, k=8)],
            graph_svg=render_svg(graph, f"Prerequisite graph of {view['name']}"), graph=graph,
            depth=depth, direction=direction,
        )

    @app.get("/overview", response_class=HTMLResponse, include_in_schema=False)
    def overview(
        request: Request,
        glossary: GlossaryDep,
        collection: Annotated[str, Query(max_length=500)] = "",
        center: Annotated[str, Query(max_length=500)] = "",
        depth: Annotated[int, Query(ge=1, le=6)] = 2,
        direction: Direction = "both",
    ) -> HTMLResponse:
        try:
            graph = glossary.prerequisite_view(center or None, depth if center else None, direction,
                                               collection or None)
        except (BadParameterError, NotFoundError) as error:
            return _page(request, "overview.html", glossary, title="Overview", status=422, error=error.message,
                         collection=collection, center=center, depth=depth, direction=direction,
                         collections=_collections(glossary), graph=None, graph_svg="")
        what = glossary.collections[collection].label if collection in glossary.collections else collection
        title = f"Prerequisite graph: {what or 'whole glossary'}"
        return _page(request, "overview.html", glossary, title=title, collection=collection, center=center,
                     depth=depth, direction=direction, collections=_collections(glossary), graph=graph,
                     graph_svg=render_svg(graph, title), error=None)


def _collections(glossary: Glossary) -> list[dict[str, str]]:
    return sorted(({"id": c.id, "label": c.label} for c in glossary.collections.values()),
                  key=lambda c: c["label"].casefold())


def _page(request: Request, template: str, glossary: Glossary, *, title: str, status: int = 200,
          **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"title": title, "glossary": glossary, **context},
                                      status_code=status)

