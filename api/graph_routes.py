"""HTTP routes over the link graph: related concepts and explained paths (``add_routes(app)``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.answers import cached_answer
from api.deps import GlossaryDep
from api.errors import ERROR_RESPONSES, ErrorBody
from api.models import MAX_FORMAT_CHARS, MAX_TERM_CHARS
from kg.graph_export import GRAPH_FORMATS, MAX_DEPTH, export_graph
from kg.paths import DEFAULT_MAX_LENGTH, MAX_ALTERNATIVES, MAX_LENGTH, explain_path
from kg.related import MAX_K, W_LINKED_FROM, W_LINKS_TO, W_SHARED, W_SIMILAR, related

# -- response models (for the OpenAPI docs) -----------------------------------------------


class NeighbourRef(BaseModel):
    id: str
    name: str


class ReasonOut(BaseModel):
    """One reason a concept is related."""

    kind: str = Field(description="`links_to`, `linked_from`, `shared_neighbours` or `similar_meaning`.")
    detail: str = Field(
        description="For people: the evidence sentence of a link, the shared neighbours, or the cosine."
    )
    score: float = Field(description="This reason's part of the concept's score.")
    evidence: str | None = Field(None, description="Links: the first sentence of the definition holding the link.")
    count: int | None = Field(None, description="Links: references in the definition; shared: neighbours shared.")
    kinds: list[str] | None = Field(None, description="Links: `link`, `wikilink`, `mention` or `broader`.")
    neighbours: list[NeighbourRef] | None = Field(None, description="Shared neighbours, most telling first.")
    cosine: float | None = Field(None, description="Similar meaning: cosine of the two concepts' embeddings.")


class RelatedTermOut(BaseModel):
    """One related concept with every reason it was found for."""

    id: str = Field(description="Concept id.", examples=["neural-network"])
    name: str = Field(description="Display name.", examples=["Neural Network"])
    labels: dict[str, str] = Field(
        description="prefLabel by language.", examples=[{"ja": "ニューラルネットワーク", "en": "Neural Network"}]
    )
    score: float = Field(
        description=f"Blended score in [0, 1]: links to (weight {W_LINKS_TO}), linked from ({W_LINKED_FROM}), "
        f"shared neighbours ({W_SHARED}), similar meaning ({W_SIMILAR}), over the sum of the weights."
    )
    reasons: list[ReasonOut]


class RelatedResult(BaseModel):
    """Concepts related to one concept, best first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "deep-learning",
                    "name": "Deep Learning",
                    "results": [
                        {
                            "id": "neural-network",
                            "name": "Neural Network",
                            "labels": {"ja": "ニューラルネットワーク", "en": "Neural Network"},
                            "score": 0.37,
                            "reasons": [
                                {
                                    "kind": "links_to",
                                    "detail": "多層のニューラルネットワークを用いる機械学習の一分野。",
                                    "score": 0.2,
                                    "evidence": "多層のニューラルネットワークを用いる機械学習の一分野。",
                                    "count": 1,
                                    "kinds": ["link"],
                                },
                                {
                                    "kind": "linked_from",
                                    "detail": "深層学習の基礎。",
                                    "score": 0.16,
                                    "evidence": "深層学習の基礎。",
                                    "count": 1,
                                    "kinds": ["link"],
                                },
                            ],
                        }
                    ],
                }
            ]
        }
    )

    id: str = Field(description="The concept asked about.")
    name: str
    results: list[RelatedTermOut]


class StepOut(BaseModel):
    """One step of a chain, with the real direction of its link."""

    source: NeighbourRef
    target: NeighbourRef
    direction: str = Field(description="`uses`: the source's definition uses the target; `used_by`: the other way.")
    mutual: bool = Field(description="Both definitions use each other.")
    explanation: str = Field(description="The step in words.", examples=["Deep Learning's definition uses BERT"])
    kinds: list[str] = Field(description="`link`, `wikilink`, `mention` or `broader`.")
    count: int = Field(description="References behind the link.")
    evidence: str | None = Field(None, description="The first sentence of the definition holding the link.")


class ChainOut(BaseModel):
    length: int = Field(description="Steps in the chain.")
    concepts: list[NeighbourRef] = Field(description="The concepts along the chain, source first.")
    steps: list[StepOut]


class PathResult(BaseModel):
    """The shortest explained chain between two concepts (zero steps for a concept and itself)."""

    source: NeighbourRef
    target: NeighbourRef
    length: int = Field(description="Steps in the shortest chain.")
    concepts: list[NeighbourRef] = Field(description="The concepts along the chain, source first.")
    steps: list[StepOut]
    alternatives: list[ChainOut] = Field(description="Further distinct chains, at most one step longer.")


# -- routes ------------------------------------------------------------------------------

_PATH_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {
        "model": ErrorBody,
        "description": "Unknown `source` or `target` (code `not_found`, with `parameter` and "
        "close label `suggestions`), or no chain of links connects the two "
        "(code `no_path`).",
    },
}


def related_concepts(
    request: Request,
    glossary: GlossaryDep,
    ref: Annotated[
        str,
        Path(alias="id", max_length=MAX_TERM_CHARS, description="Concept id or any of its labels.",
             examples=["deep-learning", "深層学習"]),
    ],
    k: Annotated[int, Query(ge=1, le=MAX_K, description=f"How many related concepts (1-{MAX_K}).")] = 10,
) -> Response:
    def compute() -> dict[str, Any]:
        concept = glossary.get(ref)
        terms = related(glossary, concept.id, k=k)
        return {"id": concept.id, "name": concept.name, "results": [term.to_dict() for term in terms]}

    return cached_answer(request, glossary, ("related", ref, k), compute, RelatedResult, exclude_none=True)


def path(
    request: Request,
    glossary: GlossaryDep,
    source: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_TERM_CHARS,
            description="Concept id or label to start from.",
            examples=["deep-learning", "深層学習"],
        ),
    ],
    target: Annotated[
        str,
        Query(min_length=1, max_length=MAX_TERM_CHARS, description="Concept id or label to reach.",
              examples=["bert", "BERT"]),
    ],
    alternatives: Annotated[
        int, Query(ge=0, le=MAX_ALTERNATIVES, description=f"Further chains to give (0-{MAX_ALTERNATIVES}).")
    ] = 0,
    max_length: Annotated[
        int, Query(ge=1, le=MAX_LENGTH, description=f"Longest chain, in steps (1-{MAX_LENGTH}).")
    ] = DEFAULT_MAX_LENGTH,
) -> Response:
    return cached_answer(
        request, glossary, ("path", source, target, alternatives, max_length),
        lambda: explain_path(glossary, source, target, alternatives=alternatives, max_length=max_length).to_dict(),
        PathResult,
    )


def graph(
    request: Request,
    glossary: GlossaryDep,
    format: Annotated[str, Query(max_length=MAX_FORMAT_CHARS,
                                 description="`graphml`, `dot` (Graphviz) or `cytoscape` (Cytoscape.js "
                                             "elements JSON).", examples=["graphml"])] = "cytoscape",
    center: Annotated[str | None, Query(max_length=500, description="Id or label of the concept to center on; "
                                                                    "none for the whole glossary.")] = None,
    depth: Annotated[int, Query(ge=0, le=MAX_DEPTH, description="Steps from `center`.")] = 2,
    direction: Annotated[str, Query(max_length=13, pattern="^(path|prerequisites|dependents|both)$",
                                    description="Around `center`: its learning path and direct dependents "
                                                "(`path`), or what it needs, what needs it, or both within "
                                                "`depth`.")] = "both",
    collection: Annotated[str | None, Query(max_length=500, description="Only members of this collection "
                                                                        "(id or label).")] = None,
) -> Response:
    def build() -> tuple[bytes, str]:
        view = glossary.prerequisite_view(center, depth if center else None, direction, collection)
        return export_graph(view, format)

    key = (id(glossary), glossary.version, "graph", format, center, depth, direction, collection)
    data, media_type = request.app.state.answers.get(key, build)
    return Response(data, media_type=media_type)


#: (path, endpoint, route options): declared once for both ``router`` and ``add_routes``.
ROUTES: list[tuple[str, Any, dict[str, Any]]] = [
    (
        "/concepts/{id}/related",
        related_concepts,
        {
            "response_model": RelatedResult,
            "response_model_exclude_none": True,
            "responses": ERROR_RESPONSES,
            "summary": "Related concepts, with reasons",
            "description": "Concepts related to `{id}` and why: its definition links to them (`links_to`, with "
            "the sentence), theirs link to it (`linked_from`), they share link neighbours (`shared_neighbours`, "
            "rare neighbours count more), or they mean something similar (`similar_meaning`, by embedding; "
            "absent when the store has no dense index). One entry per concept with all its reasons; the score "
            "blends them. `{id}` may be the id or any label.",
        },
    ),
    (
        "/path",
        path,
        {
            "response_model": PathResult,
            "responses": _PATH_ERRORS,
            "summary": "Shortest explained chain between two concepts",
            "description": "The shortest chain of links from `source` to `target`. Links are followed either "
            "way, but each step says which definition uses which (`direction`) and quotes the sentence that "
            "makes the link. Among chains of equal length the one through stronger links wins. `alternatives` "
            "adds up to 5 further distinct chains, at most one step longer. Two concepts that no chain "
            "connects are a 404 with code `no_path`.",
        },
    ),
    (
        "/graph",
        graph,
        {
            "response_class": Response,
            "responses": {
                200: {"description": "The prerequisite graph.",
                      "content": {f.media_type: {} for f in GRAPH_FORMATS.values()}},
                **ERROR_RESPONSES,
            },
            "summary": "The prerequisite graph for other tools",
            "description": "The prerequisite DAG as GraphML, DOT or Cytoscape.js JSON: the whole glossary, or "
            "the concepts within `depth` steps of `center` (its prerequisites, its dependents, or both), "
            "optionally only one collection's members. Nodes carry name, prefLabels and collections; edges "
            "their confidence, `curated` (stated by the author), evidence sentence and reasons.",
        },
    ),
]


def add_routes(app: FastAPI) -> None:
    """Declare the graph routes on ``app`` itself.

    Preferred over ``app.include_router(router)``: FastAPI (0.165) keeps an included
    router as one opaque entry of ``app.routes``, so tests that walk ``app.routes``
    (the error-shape test) would not see these routes.
    """
    for route_path, endpoint, options in ROUTES:
        app.add_api_route(route_path, endpoint, methods=["GET"], tags=["graph"], **options)


#: The same routes as an ``APIRouter``, for apps that include routers.
router = APIRouter(tags=["graph"])
for _path, _endpoint, _options in ROUTES:
    router.add_api_route(_path, _endpoint, methods=["GET"], **_options)
