"""Response models of the HTTP API: they give the OpenAPI docs titles, descriptions and examples."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kg.prereqs.learning import HOP_DECAY
from kg.prereqs.related import W_LINKED_FROM, W_LINKS_TO, W_SHARED, W_SIMILAR

# Bounds of the string parameters (each shows as `maxLength` in the OpenAPI schema).
#: A concept id or label (headings are at most 500 characters; ids and percent-decoded labels fit).
MAX_TERM_CHARS = 1000
#: A language tag (`ja`, `en`, `zh-Hant-TW`...).
MAX_LANG_CHARS = 35
#: A format name or media type.
MAX_FORMAT_CHARS = 100
#: The admin bearer header.
MAX_AUTHORIZATION_CHARS = 1024


class Health(BaseModel):
    """Whether the service is up and which store version it serves."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok", "concepts": 30, "model": None, "store_version": "20250101T000000-3f2a9c"}]
        }
    )

    status: str = Field(description="`ok` while a glossary is loaded; `degraded` while the store's newest version "
                                    "cannot be loaded (the last good one, `store_version`, is still served).")
    concepts: int = Field(description="How many concepts the served glossary holds.")
    model: str | None = Field(None, description="Embedding model the semantic index was built with, if any.")
    store_version: str | None = Field(None, description="The store version being served.")
    refused_version: str | None = Field(None, description="Degraded: the store version that could not be loaded.")
    refused_reason: str | None = Field(None, description="Degraded: why it could not be loaded.")


class LookupHit(BaseModel):
    """One autocomplete hit: the best matching label of one concept."""

    id: str = Field(description="Concept id (use it with `/concepts/{id}`).", examples=["deep-learning"])
    label: str = Field(description="The label that matched the prefix.", examples=["Deep Learning"])
    lang: str = Field(description="Language of that label (`ja`, `en`).", examples=["en"])
    name: str = Field(description="Display name of the concept (its English prefLabel).", examples=["Deep Learning"])


class LookupResult(BaseModel):
    """Concepts whose labels start with the prefix, then those that contain it."""

    prefix: str = Field(description="The prefix as given.")
    results: list[LookupHit]


class LabelSet(BaseModel):
    """The labels of one language: the preferred one and the alternatives."""

    pref: str = Field(description="skos:prefLabel in this language.")
    alt: list[str] = Field(default_factory=list, description="skos:altLabel values in this language.")


class SourceRef(BaseModel):
    """Where something was read."""

    file: str = Field(description="File name as given to ingest.")
    line: int = Field(0, description="1-based line (0 when unknown).")
    url: str | None = Field(None, description="Published URL of the page, when the file names one.")


class DefinitionOut(BaseModel):
    text: str = Field(description="The definition text (Markdown).")
    lang: str | None = Field(None, description="Language of the text.")
    source: SourceRef | None = None


class Ref(BaseModel):
    """A reference to another concept or collection."""

    id: str
    name: str | None = None
    label: str | None = None


class LinkOut(BaseModel):
    """A direct link between two concepts, with the sentences that make it."""

    id: str = Field(description="The other concept.")
    name: str
    kinds: list[str] = Field(description="`link`, `wikilink`, `mention` or `broader`.")
    count: int = Field(description="How many times the definition refers to it.")
    evidence: list[str] = Field(default_factory=list, description="Up to three sentences holding the link.")


class PrerequisiteRef(BaseModel):
    """A concept on the other end of a prerequisite edge."""

    id: str
    name: str
    confidence: float = Field(description="0..1: how clearly the glossary's text says so (1 when curated).")
    evidence: str = Field(description="The sentence that justifies the edge.")
    curated: bool = Field(False, description="Stated by the glossary's author rather than inferred.")


class ConceptView(BaseModel):
    """Everything about one concept."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "deep-learning",
                    "uri": "https://example.org/glossary/deep-learning",
                    "name": "Deep Learning",
                    "labels": {"ja": {"pref": "深層学習", "alt": []}, "en": {"pref": "Deep Learning", "alt": []}},
                    "definitions": [
                        {
                            "text": "多層のニューラルネットワークを用いて…",
                            "lang": "ja",
                            "source": {"file": "deep-learning.md", "line": 3, "url": None},
                        }
                    ],
                    "sources": [{"file": "deep-learning.md", "line": 3, "url": None}],
                    "collections": [{"id": "deep-learning", "label": "deep-learning"}],
                    "links_out": [
                        {
                            "id": "neural-network",
                            "name": "Neural Network",
                            "kinds": ["link"],
                            "count": 4,
                            "evidence": ["多層のニューラルネットワークを用いて…"],
                        }
                    ],
                    "links_in": [],
                    "broader": [],
                    "narrower": [],
                }
            ]
        }
    )

    id: str = Field(description="Stable concept id (slug).")
    uri: str = Field(description="The concept's URI in the SKOS export.")
    name: str = Field(description="Display name (English prefLabel, else the first label).")
    labels: dict[str, LabelSet] = Field(description="Labels by language code.")
    definitions: list[DefinitionOut] = Field(description="Definitions with where each was read.")
    sources: list[SourceRef] = Field(description="Every heading this concept was merged from.")
    collections: list[Ref] = Field(description="Files and sections that hold the concept.")
    links_out: list[LinkOut] = Field(description="Concepts this definition links to.")
    links_in: list[LinkOut] = Field(description="Concepts whose definitions link here.")
    broader: list[Ref] = Field(default_factory=list)
    narrower: list[Ref] = Field(default_factory=list)
    prerequisites: list[PrerequisiteRef] = Field(
        default_factory=list, description="Direct prerequisites, strongest first."
    )
    dependents: list[PrerequisiteRef] = Field(
        default_factory=list, description="Concepts this one is a direct prerequisite of."
    )
    same_label_as: list[Ref] | None = Field(
        None, description="Other concepts that share the label asked for (e.g. 正規化), when there are any."
    )


class SearchMatch(BaseModel):
    """What made a concept a hit."""

    kind: str = Field(description="`label` or `definition`: which part of the concept matched.")
    text: str = Field(description="The label or the definition passage that matched.")
    lang: str = Field(description="Language of that text (`ja`, `en`).")
    by: str = Field(description="`label` (label lookup), `name` (a name of the query, such as `IoU`, that only "
                                "this concept's definition uses), `dense` (meaning) or `lexical` (shared words).")


class Suggestion(BaseModel):
    """A concept whose label is spelt like what was asked."""

    id: str = Field(examples=["overfitting"])
    label: str = Field(description="The label that looks like the query.", examples=["Overfitting"])


class SearchHitOut(BaseModel):
    """One ranked concept."""

    id: str = Field(description="Concept id (use it with `/concepts/{id}`).", examples=["dropout"])
    name: str = Field(description="Display name (English prefLabel when there is one).", examples=["Dropout"])
    labels: dict[str, str] = Field(
        description="prefLabel by language.", examples=[{"ja": "ドロップアウト", "en": "Dropout"}]
    )
    score: float = Field(description="Relevance, 0-1, on one scale whatever found the hit: a label match (1 "
                                     "exact, 0.5-0.9 a prefix, 0.9 a label's initials, 0.72-0.8 a label misspelt, "
                                     "0.2-0.5 a label inside the "
                                     "query; 0.6 a name of the query only this concept's definition uses), else "
                                     "closeness of meaning (cosine; in `lexical` mode the share of the query's "
                                     "words the concept holds). `matched.by` says which signal found it.")
    weak: bool = Field(False, description="Below the relevance floor (`KG_SEARCH_FLOOR`): a weak match, shown "
                                          "apart on the search page.")
    snippet: str = Field(description="A short extract of the matched passage or the definition.")
    matched: SearchMatch
    source: SourceRef | None = Field(None, description="Where the concept's first definition was read.")
    signals: dict = Field(default_factory=dict, description="Per-signal ranks and scores (label, dense, lexical).")


class SearchResult(BaseModel):
    """Concepts ranked for a query."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"query": "how do I stop a model from overfitting?", "mode": "hybrid", "close_match": True,
                          "results": [], "suggestions": []}]
        }
    )

    query: str = Field(description="The query as given.")
    mode: str = Field(description="The mode used.")
    close_match: bool = Field(description="Whether any hit clears the relevance floor; false: the glossary "
                                          "holds nothing close to the query, only weak matches.")
    results: list[SearchHitOut] = Field(description="Best first; weak matches (if any) are among them.")
    suggestions: list[Suggestion] = Field(default_factory=list,
                                          description="When nothing is a close match: labels spelt like the "
                                                      "query (did you mean).")
    unknown_names: list[str] = Field(default_factory=list,
                                     description="When nothing is a close match: names in the query (acronyms, "
                                                 "CamelCase) that no label or definition of the glossary uses.",
                                     examples=[["XGBoost"]])


class PrerequisiteEdgeOut(BaseModel):
    """``prerequisite`` is to be learnt before ``concept``."""

    prerequisite: str
    concept: str
    confidence: float = Field(description="0..1: how clearly the glossary's text says so.")
    relation: str = Field("", description="What the text says: `is-a` (the concept is a kind of the "
                                          "prerequisite), `part`, `part-of` (the concept is a part of the "
                                          "prerequisite), `derived-from`, `built-on`, `addresses`, `uses`, "
                                          "`named-after`; `stated` by the author; `imported` from an export.")
    words: str = Field("", description="The words of the text that show the relation.")
    evidence: str = Field(description="The sentence of the concept's definition that uses the prerequisite.")
    reasons: list[str] = Field(description="The relation in words with its quote, then the signals the model "
                                           "weighed (or `stated by the author`).")
    curated: bool = Field(False, description="Stated by the glossary's author rather than inferred.")


class PathStep(BaseModel):
    """One item of a learning path and why it is there."""

    id: str
    name: str
    labels: dict[str, str] = Field(description="prefLabel by language.")
    score: float = Field(description="Strength of its chains to the concept taken together (noisy-OR); a "
                                     "chain's strength is the product of its edge confidences, times "
                                     f"{HOP_DECAY} per step beyond the first.")
    routes: int = Field(description="How many of the terms it is a direct prerequisite of lead on to the "
                                    "concept (1: a single route).")
    direct: bool = Field(description="A direct prerequisite of the concept (never cut by `limit`).")
    curated: bool = Field(description="Every edge of its chain was stated by the author.")
    reason: str = Field(description="The chain in words.")
    chain: list[PrerequisiteEdgeOut] = Field(description="Its best chain, from it to the concept, each edge "
                                                         "with its evidence sentence.")


class BackgroundOut(BaseModel):
    """A field name behind the concept."""

    id: str
    name: str
    share: float = Field(description="The share of the glossary's concepts that build on it.")


class LearningPathOut(BaseModel):
    """A learning path: the best-supported prerequisites in the order to learn them, each with its reason."""

    concept: Ref
    path: list[PathStep] = Field(description="Prerequisites ranked by the strength of their chains, cut by "
                                             "`min_confidence` and `limit`, listed basics first.")
    edges: list[PrerequisiteEdgeOut] = Field(description="The prerequisite edges among the listed concepts.")
    background: list[BackgroundOut] = Field(
        default_factory=list,
        description="Field names this concept builds on that a large share of the glossary builds on too "
                    "(Machine Learning, …): listed apart rather than as items, unless the concept names them "
                    "directly.")
    known: list[Ref] = Field(description="Prerequisites left out because you know them, or because a term you "
                                         "know needs them.")
    depth: int | None = None
    limit: int = Field(description="At most this many items (direct prerequisites are never cut by it).")
    min_confidence: float = Field(description="Every item needed at least this strength.")
    left_out: int = Field(description="Further ancestors left out by `limit` or `min_confidence`.")


# -- the link graph: related concepts and explained paths (api.graph_routes) ---------------


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


# -- the prerequisite graph laid out for the explorer (GET /graph/layout) --------------------


class LayoutPosition(BaseModel):
    x: float
    y: float


class LayoutNodeData(BaseModel):
    id: str
    name: str
    label_ja: str = Field(description="Japanese prefLabel (empty when none).")
    label_en: str = Field(description="English prefLabel (empty when none).")
    collection: str = Field(
        description="The collection whose cluster it is drawn in: its first (its file's); empty for none."
    )
    collection_label: str
    degree: int = Field(description="Prerequisite edges in and out, within the graph drawn.")
    center: bool = Field(description="The concept the graph is centred on.")


class LayoutNode(BaseModel):
    data: LayoutNodeData
    position: LayoutPosition = Field(description="Where to draw it; one unit is one CSS pixel at zoom 1.")


class LayoutEdgeData(BaseModel):
    source: str = Field(description="The prerequisite.")
    target: str = Field(description="The concept that needs it.")
    confidence: float
    curated: bool = Field(description="Stated by the glossary's author rather than inferred.")
    relation: str = Field(description="What the text says (`is-a`, `uses`, …; `stated` by the author).")


class LayoutEdge(BaseModel):
    data: LayoutEdgeData


class LayoutElements(BaseModel):
    nodes: list[LayoutNode]
    edges: list[LayoutEdge]


class LayoutCluster(BaseModel):
    """The disc a collection's concepts are drawn in; no two overlap."""

    id: str
    label: str
    size: int = Field(description="Concepts drawn in it.")
    x: float
    y: float
    radius: float


class LayoutRelation(BaseModel):
    relation: str
    edges: int = Field(description="Inferred edges of this relation.")


class GraphLayout(BaseModel):
    """The prerequisite graph with a position for every concept: Cytoscape.js elements
    (``cy.add(answer.elements)``), the clusters and the relations present."""

    center: str | None = Field(description="The concept it is centred on, if any.")
    clusters: list[LayoutCluster] = Field(description="One per collection, largest first.")
    relations: list[LayoutRelation] = Field(description="Relations of the inferred edges, with counts.")
    curated_edges: int = Field(description="Edges stated by the author.")
    elements: LayoutElements


# -- errors (api.errors) ------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """The ``error`` member: a stable machine-readable ``code``, a message for people,
    and context fields that depend on the error (``parameter``, ``suggestions``...)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "code": "not_found",
                    "message": "no concept with id or label 'Deep Lerning'",
                    "term": "Deep Lerning",
                    "suggestions": [{"id": "deep-learning", "label": "Deep Learning"}],
                },
                {
                    "code": "bad_parameter",
                    "message": "limit: Input should be less than or equal to 1000",
                    "parameter": "limit",
                },
            ]
        },
    )

    code: str = Field(description="Stable error code, e.g. `not_found`, `bad_parameter`.")
    message: str = Field(description="What went wrong, for people.")


class ErrorBody(BaseModel):
    """Every error response of the API has this shape."""

    error: ErrorDetail
