"""HTTP routes over the link graph: related concepts, explained paths and the prerequisite graph
for other tools (``router``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.answers import RELATED_K, Answer, related_answer, serve
from api.deps import GlossaryDep
from api.errors import ERROR_RESPONSES
from api.models import MAX_FORMAT_CHARS, MAX_TERM_CHARS, ErrorBody, GraphLayout, PathResult, RelatedResult
from kg.prereqs.explained import DEFAULT_MAX_LENGTH, MAX_ALTERNATIVES, MAX_LENGTH, explain_path
from kg.prereqs.export import GRAPH_FORMATS, MAX_DEPTH, export_graph
from kg.prereqs.overview_layout import overview_elements
from kg.prereqs.related import MAX_K

router = APIRouter(tags=["graph"])

# The part of the prerequisite graph to give (GET /graph and GET /graph/layout).
CenterQuery = Annotated[
    str | None,
    Query(max_length=500, description="Id or label of the concept to center on; none for the whole glossary."),
]
DepthQuery = Annotated[int, Query(ge=0, le=MAX_DEPTH, description="Steps from `center`.")]
DirectionQuery = Annotated[
    str,
    Query(
        max_length=13,
        pattern="^(path|prerequisites|dependents|both)$",
        description="Around `center`: its learning path and direct dependents (`path`), or what it needs, "
        "what needs it, or both within `depth`.",
    ),
]
CollectionQuery = Annotated[
    str | None, Query(max_length=500, description="Only members of this collection (id or label).")
]

_PATH_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {
        "model": ErrorBody,
        "description": "Unknown `source` or `target` (code `not_found`, with `parameter` and "
        "close label `suggestions`), or no chain of links connects the two "
        "(code `no_path`).",
    },
}


@router.get(
    "/concepts/{id}/related",
    response_model=RelatedResult,
    response_model_exclude_none=True,
    responses=ERROR_RESPONSES,
    summary="Related concepts, with reasons",
    description="Concepts related to `{id}` and why: its definition links to them (`links_to`, with "
    "the sentence), theirs link to it (`linked_from`), they share link neighbours (`shared_neighbours`, "
    "rare neighbours count more), or they mean something similar (`similar_meaning`, by embedding; "
    "absent when the store has no dense index). One entry per concept with all its reasons; the score "
    "blends them. `{id}` may be the id or any label.",
)
async def related_concepts(
    request: Request,
    glossary: GlossaryDep,
    ref: Annotated[
        str,
        Path(alias="id", max_length=MAX_TERM_CHARS, description="Concept id or any of its labels.",
             examples=["deep-learning", "深層学習"]),
    ],
    k: Annotated[int, Query(ge=1, le=MAX_K, description=f"How many related concepts (1-{MAX_K}).")] = RELATED_K,
) -> Response:
    return await serve(request, glossary, related_answer(glossary, ref, k))


@router.get(
    "/path",
    response_model=PathResult,
    responses=_PATH_ERRORS,
    summary="Shortest explained chain between two concepts",
    description="The shortest chain of links from `source` to `target`. Links are followed either "
    "way, but each step says which definition uses which (`direction`) and quotes the sentence that "
    "makes the link. Among chains of equal length the one through stronger links wins. `alternatives` "
    "adds up to 5 further distinct chains, at most one step longer. Two concepts that no chain "
    "connects are a 404 with code `no_path`.",
)
async def path(
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
    return await serve(request, glossary, Answer(
        ("path", source, target, alternatives, max_length),
        lambda: explain_path(glossary, source, target, alternatives=alternatives, max_length=max_length).to_dict(),
    ))


@router.get(
    "/graph",
    response_class=Response,
    responses={
        200: {"description": "The prerequisite graph.",
              "content": {f.media_type: {} for f in GRAPH_FORMATS.values()}},
        **ERROR_RESPONSES,
    },
    summary="The prerequisite graph for other tools",
    description="The prerequisite DAG as GraphML, DOT or Cytoscape.js JSON: the whole glossary, or "
    "the concepts within `depth` steps of `center` (its prerequisites, its dependents, or both), "
    "optionally only one collection's members. Nodes carry name, prefLabels and collections; edges "
    "their confidence, `curated` (stated by the author), relation, evidence sentence and reasons.",
)
def graph(
    request: Request,
    glossary: GlossaryDep,
    format: Annotated[str, Query(max_length=MAX_FORMAT_CHARS,
                                 description="`graphml`, `dot` (Graphviz) or `cytoscape` (Cytoscape.js "
                                             "elements JSON).", examples=["graphml"])] = "cytoscape",
    center: CenterQuery = None,
    depth: DepthQuery = 2,
    direction: DirectionQuery = "both",
    collection: CollectionQuery = None,
) -> Response:
    def build() -> tuple[bytes, str]:
        view = glossary.prerequisite_view(center, depth if center else None, direction, collection)
        return export_graph(view, format)

    key = (id(glossary), glossary.version, "graph", format, center, depth, direction, collection)
    data, media_type = request.app.state.answers.get(key, build)
    return Response(data, media_type=media_type)


@router.get(
    "/graph/layout",
    response_model=GraphLayout,
    responses=ERROR_RESPONSES,
    summary="The prerequisite graph laid out for drawing",
    description="The same part of the prerequisite DAG as `GET /graph`, as Cytoscape.js elements with a "
    "position for every concept (what the explorer on /overview draws): one cluster per collection, no two "
    "clusters overlapping; inside a cluster a force layout, or for a large one a spiral with the hubs in "
    "the middle. Nodes carry name, prefLabels, collection (id and label) and degree; edges confidence, "
    "`curated` and relation. The same graph always gets the same positions.",
)
def graph_layout(
    request: Request,
    glossary: GlossaryDep,
    center: CenterQuery = None,
    depth: DepthQuery = 2,
    direction: DirectionQuery = "both",
    collection: CollectionQuery = None,
) -> Response:
    def build() -> bytes:
        view = glossary.prerequisite_view(center, depth if center else None, direction, collection)
        answer = overview_elements(view, {c.id: c.label for c in glossary.collections.values()})
        # Compact: at 10,000 concepts the answer is megabytes, and the browser parses every byte.
        return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    key = (id(glossary), glossary.version, "graph-layout", center, depth, direction, collection)
    return Response(request.app.state.answers.get(key, build), media_type="application/json")
