"""The Python API: one ``Glossary`` object that the CLI, the server and notebooks use."""

from __future__ import annotations

import bisect
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
from rapidfuzz import fuzz, process

from kg.errors import BadParameterError, NotFoundError
from kg.graph import link_graph
from kg.labels import normalize, split_labels
from kg.model import Collection, Concept, Issue
from kg.prereqs.dag_index import ancestor_index
from kg.prereqs.explained import explain_path
from kg.prereqs.hierarchy import Hierarchy, hierarchy_of
from kg.prereqs.learning import PATH_LIMIT, PATH_MIN_CONFIDENCE, background_terms, learning_path, prerequisite_graph
from kg.prereqs.related import prepare, related
from kg.rdf.formats import resolve_format, serialize
from kg.rdf.sparql_workers import GraphSnapshot, shared_pool
from kg.settings import Settings
from kg.store.versions import Store
from kg.text import plain_text

if TYPE_CHECKING:
    import networkx as nx
    import rdflib

    from kg.rdf.quality import QualityReport
    from kg.search.engine import SearchAnswer, SearchEngine, SearchHit


log = logging.getLogger(__name__)

#: From this many concepts a stored version's SPARQL graph is built in a process of its own (a
#: second of start-up for that process, against seconds of the server's GIL at 10,000 concepts).
SNAPSHOT_APART_MIN = 10_000


class Glossary:
    """Concepts with their labels, definitions, links, collections and ingest issues.

    Build one from an ingest (``Glossary.from_ingest``) or open the current version
    of a store (``Glossary.open``). Lookups accept an id or any label, in any case
    and width.
    """

    def __init__(
        self,
        concepts: Iterable[Concept],
        collections: Iterable[Collection] = (),
        issues: Iterable[Issue] = (),
        *,
        settings: Settings | None = None,
        version: str | None = None,
        manifest: dict[str, Any] | None = None,
        directory: Path | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.concepts: dict[str, Concept] = {c.id: c for c in concepts}
        self.collections: dict[str, Collection] = {c.id: c for c in collections}
        self.issues: list[Issue] = list(issues)
        self.version = version
        self.manifest = manifest or {}
        self.directory = directory  # the store version it was read from (holds the vector index)
        self._engine_lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._exports: dict[str, tuple[bytes, str]] = {}
        self._exports_lock = threading.Lock()  # not the engine's: an export never waits for a model load
        self._sparql_snapshot = None  # the SKOS graph pickled for the SPARQL workers, once
        self._by_label: dict[str, list[str]] = defaultdict(list)
        for concept in self.concepts.values():
            hidden = (normalize(l.text) for l in concept.hidden_labels)  # findable, never shown
            for key in {normalize(concept.id), *(normalize(l.text) for l in concept.labels), *hidden}:
                if concept.id not in self._by_label[key]:
                    self._by_label[key].append(concept.id)
        # Sorted (normalised label, id, label) for prefix lookups by bisection.
        self._prefix_index = sorted(
            (normalize(l.text), c.id, l.text, l.lang) for c in self.concepts.values() for l in c.labels
        )

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_ingest(cls, result, settings: Settings | None = None, **kwargs) -> Glossary:
        """From an ``ingest.pipeline.IngestResult``."""
        return cls(result.concepts, result.collections, result.issues, settings=settings, **kwargs)

    @classmethod
    def open(cls, settings: Settings | None = None) -> Glossary:
        """The current version of the store named by ``settings.store``.

        Raises:
            StoreError: no version has been written yet, or it cannot be read.
        """
        settings = settings or Settings()
        return Store(settings.store).load(settings=settings)

    # -- lookups ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.concepts)

    def __contains__(self, ref: str) -> bool:
        return bool(self._candidates(ref))

    def _candidates(self, ref: str) -> list[str]:
        if ref in self.concepts:
            return [ref]
        found = self._by_label.get(normalize(ref), [])
        parts = split_labels(ref)
        if found or len(parts) < 2:
            return found
        # A heading as written ("Mixture of Experts (MoE)", "深層学習 | Deep Learning") names
        # the concept that holds every one of its labels.
        shared = self._by_label.get(normalize(parts[0]), [])
        for part in parts[1:]:
            shared = [cid for cid in shared if cid in self._by_label.get(normalize(part), [])]
        return shared

    def get(self, ref: str) -> Concept:
        """The concept with id or label ``ref``.

        When a label names several concepts (正規化), the first is returned; see
        ``candidates`` for all of them.

        Raises:
            NotFoundError: nothing has that id or label; carries ``suggestions``.
        """
        ids = self._candidates(ref)
        if not ids:
            raise NotFoundError(f"no concept with id or label {ref!r}", term=ref, suggestions=self.suggest(ref))
        return self.concepts[ids[0]]

    def candidates(self, ref: str) -> list[Concept]:
        """Every concept with id or label ``ref`` (several when a label is shared)."""
        return [self.concepts[i] for i in self._candidates(ref)]

    def suggest(self, text: str, limit: int = 5) -> list[dict[str, str]]:
        """Labels spelt like a term that was not found (a typo's correction; case- and
        width-insensitive). Whole-label edit similarity only: a partial or word-set match
        offered "Term Frequency Inverse Document Frequency" for "nonexistent-term"; a score
        of 65 still admits one wrong character in a three-character Japanese label."""
        key = normalize(text)
        if not key or not self._by_label:
            return []
        matches = process.extract(key, list(self._by_label), scorer=fuzz.ratio, limit=limit * 3, score_cutoff=65)
        seen: set[str] = set()
        out: list[dict[str, str]] = []
        for label_key, _score, _ in matches:
            for concept_id in self._by_label[label_key]:
                if concept_id not in seen:
                    seen.add(concept_id)
                    out.append({"id": concept_id, "label": self._display_label(concept_id, label_key)})
        return out[:limit]

    def _display_label(self, concept_id: str, key: str) -> str:
        concept = self.concepts[concept_id]
        return next((l.text for l in concept.labels if normalize(l.text) == key), concept.name)

    def lookup(self, prefix: str, limit: int = 20) -> list[dict[str, str]]:
        """Autocomplete: concepts with a label starting with ``prefix`` (then containing it).

        Each hit is ``{"id", "label", "lang", "name"}``; one hit per concept, shortest
        matching label first.
        """
        if limit < 1:
            raise BadParameterError("limit must be at least 1", parameter="limit")
        key = normalize(prefix)
        hits: list[tuple[int, int, str, str, str]] = []
        if key:
            start = bisect.bisect_left(self._prefix_index, (key,))
            for label_key, concept_id, text, lang in self._prefix_index[start:]:
                if not label_key.startswith(key):
                    break
                hits.append((0, len(label_key), concept_id, text, lang))
            for label_key, concept_id, text, lang in self._prefix_index:
                if key in label_key and not label_key.startswith(key):
                    hits.append((1, len(label_key), concept_id, text, lang))
        else:
            hits = [(0, len(k), i, t, l) for k, i, t, l in self._prefix_index]
        hits.sort(key=lambda h: (h[0], h[1], h[3]))
        out: list[dict[str, str]] = []
        seen: set[str] = set()
        for _rank, _length, concept_id, text, lang in hits:
            if concept_id in seen:
                continue
            seen.add(concept_id)
            out.append({"id": concept_id, "label": text, "lang": lang, "name": self.concepts[concept_id].name})
            if len(out) >= limit:
                break
        return out

    # -- graph ------------------------------------------------------------------------

    @cached_property
    def graph(self) -> nx.DiGraph:
        """NetworkX view: A -> B when A's definition links to B (see ``kg.graph``)."""
        return link_graph(self.concepts.values())

    @cached_property
    def prerequisites(self) -> nx.DiGraph:
        """The prerequisite DAG: an edge B -> A when B is to be learnt before A (see ``kg.prereqs.learning``);
        read from the store version when it was saved there by the same model."""
        # heavy: kg.prereqs.model and .saved load kg.prereqs.features and .cues (~11 ms at `kg` start-up)
        from kg.prereqs.model import model_path
        from kg.prereqs.saved import load_dag

        saved = load_dag(self.directory, model_path(self.settings))
        dag = saved if saved is not None else prerequisite_graph(self)
        ancestor_index(dag)  # built now, so that no request pays for it
        background_terms(dag)
        return dag

    @cached_property
    def hierarchy(self) -> Hierarchy:
        """Broader and narrower terms: the author's and the inferred is-a ones (see ``kg.prereqs.hierarchy``)."""
        return hierarchy_of(self)

    def learning_path(self, ref: str, known: Iterable[str] = (), depth: int | None = None,
                      limit: int | None = None, min_confidence: float | None = None) -> dict[str, Any]:
        """What to learn before ``ref``: the best-supported prerequisites, basics first, each
        with its score and chain, minus what the reader knows (see ``kg.prereqs.learning.learning_path``).

        Args:
            ref: id or label of the concept.
            known: ids or labels the reader already knows (an unknown one raises BadParameterError).
            depth: how many prerequisite steps back to go (None: all).
            limit: at most this many items (default ``kg.prereqs.learning.PATH_LIMIT``).
            min_confidence: least strength of an item, its chains together (default ``PATH_MIN_CONFIDENCE``).
        """
        concept = self.get(ref)
        known_ids = set()
        for term in (k.strip() for k in known):
            if not term:
                continue
            found = self._candidates(term)
            if not found:  # a bad value of a parameter, not a missing resource
                raise BadParameterError(f"known: no concept with id or label {term!r}", parameter="known",
                                        term=term, suggestions=self.suggest(term))
            known_ids.update(found)
        return learning_path(
            self.prerequisites, concept.id, known_ids, depth,
            limit=PATH_LIMIT if limit is None else limit,
            min_confidence=PATH_MIN_CONFIDENCE if min_confidence is None else min_confidence,
        ).to_dict(self)

    def prerequisite_view(self, center: str | None = None, depth: int | None = 2, direction: str = "both",
                          collection: str | None = None) -> nx.DiGraph:
        """The prerequisite graph, whole or around ``center``, ready to draw or export
        (see ``kg.prereqs.export``)."""
        # heavy: kg.prereqs.export adds ~2 ms to `kg` start-up
        from kg.prereqs.export import prerequisite_view

        return prerequisite_view(self, center, depth, direction, collection)

    def related(self, ref: str, k: int = 10):
        """Concepts related to ``ref`` with the reasons (see ``kg.prereqs.related``)."""
        return related(self, ref, k=k)

    def explain_path(self, source: str, target: str, alternatives: int = 0, max_length: int = 12):
        """The shortest explained chain between two concepts (see ``kg.prereqs.explained``)."""
        return explain_path(self, source, target, alternatives=alternatives, max_length=max_length)

    def uri(self, concept_id: str) -> str:
        concept = self.concepts.get(concept_id)
        if concept is not None and concept.uri:
            return concept.uri
        return f"{self.settings.namespace}{concept_id}"

    def links_out(self, concept_id: str) -> list[dict[str, Any]]:
        return [self._edge_view(target, data) for target, data in self.graph.succ[concept_id].items()]

    def links_in(self, concept_id: str) -> list[dict[str, Any]]:
        return [self._edge_view(source, data) for source, data in self.graph.pred[concept_id].items()]

    def _edge_view(self, other: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": other,
            "name": self.concepts[other].name,
            "kinds": sorted(data["kinds"]),
            "count": data["count"],
            "evidence": [plain_text(s) for s in data["sentences"][:3]],
        }

    def concept_view(self, ref: str) -> dict[str, Any]:
        """Everything about one concept as plain data (what ``GET /concepts/{id}`` returns)."""
        concept = self.get(ref)
        labels: dict[str, dict[str, Any]] = {}
        pref = concept.pref_labels()
        for lang, text in pref.items():
            labels[lang] = {"pref": text, "alt": [l.text for l in concept.labels if l.lang == lang and l.text != text]}
        others = [c.id for c in self.candidates(ref) if c.id != concept.id]
        view: dict[str, Any] = {
            "id": concept.id,
            "uri": self.uri(concept.id),
            "name": concept.name,
            "labels": labels,
            "definitions": [
                {"text": d.text, "lang": d.lang, "source": _source_view(d.source)} for d in concept.definitions
            ],
            "sources": [_source_view(s) for s in concept.sources],
            "collections": [
                {"id": c, "label": self.collections[c].label if c in self.collections else c}
                for c in concept.collections
            ],
            "links_out": self.links_out(concept.id),
            "links_in": self.links_in(concept.id),
            "broader": [{"id": b, "name": self.concepts[b].name} for b in self.hierarchy.broader(concept.id)],
            "narrower": [{"id": c, "name": self.concepts[c].name} for c in self.hierarchy.narrower(concept.id)],
            "prerequisites": self._prerequisite_view(self.prerequisites.in_edges(concept.id, data=True), 0),
            "dependents": self._prerequisite_view(self.prerequisites.out_edges(concept.id, data=True), 1),
        }
        if others:
            view["same_label_as"] = [{"id": o, "name": self.concepts[o].name} for o in others]
        return view

    def _prerequisite_view(self, edges, end: int) -> list[dict[str, Any]]:
        return [
            {
                "id": edge[end],
                "name": self.concepts[edge[end]].name,
                "confidence": round(edge[2]["confidence"], 3),
                "evidence": edge[2]["evidence"],
                "curated": bool(edge[2].get("curated")),
            }
            for edge in sorted(edges, key=lambda e: -e[2]["confidence"])
        ]

    def health(self) -> dict[str, Any]:
        index = self.manifest.get("extra", {}).get("index") or {}
        return {
            "status": "ok",
            "concepts": len(self.concepts),
            "store_version": self.version,
            "model": index.get("model"),
        }

    # -- search -------------------------------------------------------------------------

    @property
    def engine(self) -> SearchEngine:
        """The search engine: label lookup, BM25 and the dense index of the store version
        (built in memory with ``settings.model`` when the glossary has no store)."""
        if self._engine is None:
            # heavy: kg.search.engine, kg.search.gloss (JMdict tables) and the encoders add ~17 ms to `kg` start-up
            from kg.search.engine import open_engine

            with self._engine_lock:  # the server's threads may ask at once: build once
                if self._engine is None:
                    self._engine = open_engine(self)
        return self._engine

    def warm_up(self) -> None:
        """Load everything a first search needs (index, model, Japanese dictionaries) now,
        so that the first user does not wait for it."""
        _ = self.prerequisites  # the DAG is inferred once per version
        engine = self.engine
        if self.concepts:  # related terms keep per-version tables of neighbours and vectors

            prepare(self.graph)
            self.related(next(iter(self.concepts)), k=1)
        if self.concepts:  # SPARQL workers read this version's graph while the rest warms up
            threading.Thread(target=self._prepare_sparql, name="kg-sparql-prepare", daemon=True).start()
        if engine.semantic is not None:
            engine.semantic.encoder.encode(["warm up"])
            if engine.semantic.glosser is not None:
                engine.semantic.glosser.gloss("学習率")

    def search(self, query: str, k: int = 10, mode: str = "hybrid", lang: str | None = None) -> list[SearchHit]:
        """Concepts for ``query`` by meaning or by label, Japanese or English (see ``kg.search.engine``)."""
        return self.engine.search(query, k=k, mode=mode, lang=lang)

    def search_answer(self, query: str, k: int = 10, mode: str = "hybrid", lang: str | None = None) -> SearchAnswer:
        """``search`` as a whole answer: whether anything is a close match, and when nothing
        is, labels spelt like the query (what ``GET /search``, ``kg search`` and the page show)."""
        from kg.search.engine import SearchAnswer  # the engine loads on first use (see ``engine``)

        answer = SearchAnswer(query, mode, self.search(query, k=k, mode=mode, lang=lang))
        if not answer.close_match:
            answer.suggestions = self.suggest(query)
            answer.unknown_names = self.engine.unknown_names(query)
        return answer

    # -- RDF, export and quality ----------------------------------------------------------

    @cached_property
    def rdf_graph(self) -> rdflib.Graph:
        """The SKOS graph built once per glossary (SPARQL answers from it; do not change it)."""
        return self.to_rdf()

    def sparql(self, query: str, accept: str | None = None, fmt: str | None = None, *,
               timeout: float | None = None, max_rows: int | None = None):
        """Answer a read-only SPARQL query over the SKOS graph in a worker process that is
        killed past ``timeout`` (see ``kg.rdf.sparql_workers``; errors as ``kg.rdf.sparql.evaluate``)."""
        settings = self.settings
        return self.sparql_pool.answer(
            self.sparql_snapshot(), query, accept, fmt,
            timeout=settings.sparql_query_timeout if timeout is None else timeout,
            max_rows=settings.sparql_max_rows if max_rows is None else max_rows,
            max_bytes=settings.sparql_max_answer_bytes)

    @property
    def sparql_pool(self):
        return shared_pool(self.settings.sparql_workers, self.settings.sparql_memory_mb)

    def _prepare_sparql(self) -> None:
        try:
            self.sparql_pool.prepare(self.sparql_snapshot())
        except Exception:  # the first query will load it (and say what is wrong)
            log.exception("could not prepare the SPARQL workers")

    def close(self) -> None:
        """Delete what this glossary wrote outside its store: the SPARQL snapshot in the temporary
        folder. A server calls it as it stops; a process killed by a signal runs no exit hooks,
        and each start would otherwise leave one behind."""
        with self._exports_lock:
            if self._sparql_snapshot is not None:
                self._sparql_snapshot.remove()
                self._sparql_snapshot = None

    def sparql_snapshot(self):
        """The SKOS graph as the SPARQL workers load it, written once per glossary: for a large
        stored version, by a process of its own (``GraphSnapshot.write_apart``)."""
        with self._exports_lock:
            if self._sparql_snapshot is None:
                built = "rdf_graph" in self.__dict__  # an export already paid for the graph here
                if self.directory is not None and len(self.concepts) >= SNAPSHOT_APART_MIN and not built:
                    self._sparql_snapshot = GraphSnapshot.write_apart(
                        str(self.directory), self.settings.model_dump_json(), owner=self)
                else:
                    self._sparql_snapshot = GraphSnapshot.write(self.rdf_graph, owner=self)
            return self._sparql_snapshot

    def to_rdf(self) -> rdflib.Graph:
        """The glossary as an rdflib graph in SKOS (see ``kg.rdf.skos``)."""
        # heavy: kg.rdf.skos adds ~2 ms to `kg` start-up
        from kg.rdf.skos import to_rdf

        return to_rdf(self)

    def export(self, fmt: str = "turtle") -> tuple[bytes, str]:
        """Serialise the SKOS graph; ``fmt`` is a format name, alias or media type.

        Returns:
            ``(data, media_type)``.
        """
        name = resolve_format(fmt).name
        with self._exports_lock:  # a version never changes: each format is serialised once
            cached = self._exports.get(name)
        if cached is None:
            cached = serialize(self.rdf_graph, name)
            with self._exports_lock:
                self._exports[name] = cached
        return cached

    def quality(self) -> QualityReport:
        """The SKOS quality report (see ``kg.rdf.quality``)."""
        # heavy: kg.rdf.quality adds ~3 ms, kept out of the `kg` CLI start-up
        from kg.rdf.quality import quality_report

        return quality_report(self)


def _source_view(source) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"file": source.file, "line": source.line, "url": source.url}
