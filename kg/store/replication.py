"""Publish a store version to a SPARQL 1.1 store, and build replicas' store versions from it.

What a publication is (two named graphs, each replaced with one Graph Store ``PUT``):

* the **SKOS graph** (``KG_SPARQL_GRAPH``, default the scheme URI): exactly what
  ``kg export`` gives (``kg.rdf.skos``), for any SPARQL or SKOS tool;
* the **records graph** (the SKOS graph's IRI with ``#kg-store``): a manifest on the
  graph's own IRI (``kgv:version``, ``kgv:concepts``, ``kgv:model``, ``kgv:skosDigest``,
  the whole store manifest as JSON in ``kgv:manifest``) and one node per concept,
  collection and ingest issue holding its store record as JSON (``kgv:conceptRecord``...)
  with its ``kgv:position``.

Why records as well as SKOS: SKOS carries no link kinds, no evidence sentences and no
prerequisite confidences, so a replica that re-read only the SKOS would answer
``/concepts/{id}``, paths and searches differently from the publisher. The records are
the store's own JSON, so a replica rebuilds the very same concepts; the SKOS graph's
digest in the manifest ties the two together, and a SKOS graph changed after publishing
(or caught half-way through a publish) is refused rather than silently mixed.

Vectors are not published: a replica re-embeds the concepts through its embedding cache
(``kg.search.encoders.cache``), which makes a replica with a warm cache cheap. The SKOS graph is
written first and the records last, so a replica that sees a new manifest version finds
its SKOS already in place. A graph published by another tool (no records graph) is read
with the SKOS importer (``ingest.skos``) instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from ingest.pipeline import IngestResult
from ingest.skos import read_skos
from kg.errors import ConfigurationError, RemoteStoreError
from kg.model import Concept, Issue
from kg.rdf.skos import KGV, scheme_uri
from kg.settings import Settings
from kg.store.sparql_store import SparqlStore
from kg.store.versions import Store, _collection_from_dict, _collection_to_dict, write_result

if TYPE_CHECKING:
    from kg.glossary import Glossary

log = logging.getLogger(__name__)

#: Bump when the records graph changes shape: replicas refuse publications they cannot read.
PUBLICATION_FORMAT = 1
RECORDS_SUFFIX = "#kg-store"
_XSD_STRING = URIRef("http://www.w3.org/2001/XMLSchema#string")
_RECORD_KINDS = ("concept", "collection", "issue")


def graph_name(settings: Settings) -> str:
    """The named graph the SKOS is published in: ``KG_SPARQL_GRAPH``, else the scheme URI.

    >>> graph_name(Settings())
    'https://example.org/glossary/'
    """
    graph = settings.sparql_graph or scheme_uri(settings.namespace)
    if not graph or any(c in graph for c in '<>" {}|\\^`\n'):
        raise ConfigurationError(f"{graph!r} cannot name a graph: set KG_SPARQL_GRAPH to an absolute IRI")
    return graph


def records_graph_name(graph: str) -> str:
    """The records graph published beside the SKOS graph ``graph``.

    >>> records_graph_name("https://example.org/glossary/")
    'https://example.org/glossary/#kg-store'
    """
    return graph.split("#", 1)[0] + RECORDS_SUFFIX if "#" in graph else graph + RECORDS_SUFFIX


def graph_digest(graph: Graph) -> str:
    """A SHA-256 of a graph that does not depend on how it was serialised or stored.

    Language tags are compared in lower case and ``xsd:string`` as a plain literal, as
    stores may normalise both (Oxigraph lower-cases tags). Blank nodes all read alike (their
    ids change with every read): exact for our exports, which have none.
    """
    def term(node: Any) -> list[str]:
        if isinstance(node, Literal):
            datatype = "" if node.datatype in (None, _XSD_STRING) else str(node.datatype)
            return ["L", str(node), (node.language or "").lower(), datatype]
        return ["B"] if isinstance(node, BNode) else ["I", str(node)]  # blank node ids change per read

    lines = sorted(json.dumps([term(s), term(p), term(o)], ensure_ascii=False) for s, p, o in graph)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


# -- publishing ------------------------------------------------------------------------------


@dataclass
class Publication:
    """What a store holds under a graph name (read from its records graph's manifest)."""

    graph: str
    version: str
    manifest: dict[str, Any]

    @property
    def digest(self) -> str | None:
        return self.manifest.get("skos_digest")


@dataclass
class PublishOutcome:
    """What ``publish`` did."""

    url: str
    graph: str
    version: str
    concepts: int
    changed: bool  # False when the store already held this version

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "graph": self.graph, "version": self.version, "concepts": self.concepts,
                "changed": self.changed}


def publish(settings: Settings, remote: SparqlStore, url: str, glossary: Glossary | None = None) -> PublishOutcome:
    """Put the current store version (or ``glossary``) into the SPARQL store as a publication.

    Args:
        settings: the local store, the namespace and ``sparql_graph``.
        remote: the SPARQL store.
        url: how the store was named (for messages and the outcome).
        glossary: what to publish; the current version of ``settings.store`` by default.

    Returns:
        The graph, the version and whether anything was written.

    Raises:
        StoreError: the local store is empty or unreadable.
        RemoteStoreError: the store could not be written.
    """

    glossary = glossary or Store(settings.store).load(settings)
    graph = graph_name(settings)
    digest = graph_digest(glossary.rdf_graph)
    current = remote_publication(remote, graph)
    if current is not None and current.version == glossary.version and current.digest == digest:
        return PublishOutcome(url, graph, current.version, len(glossary), changed=False)
    skos, _ = glossary.export("nt")
    remote.put_graph(graph, skos)  # first: the records' manifest, written last, announces it
    remote.put_graph(records_graph_name(graph), _records(glossary, graph, digest))
    log.info("published version %s (%d concepts) to %s as <%s>", glossary.version, len(glossary), url, graph)
    return PublishOutcome(url, graph, glossary.version or "", len(glossary), changed=True)


def _records(glossary: Glossary, graph: str, digest: str) -> bytes:
    name = URIRef(records_graph_name(graph))
    index = glossary.manifest.get("extra", {}).get("index") or {}
    manifest = {key: value for key, value in glossary.manifest.items() if key != "files"}
    manifest.update({"format": PUBLICATION_FORMAT, "skos_graph": graph, "skos_digest": digest,
                     "base_uri": glossary.settings.base_uri, "scheme_title": glossary.settings.scheme_title,
                     "version": glossary.version})
    out = Graph(bind_namespaces="none")
    out.add((name, RDF.type, KGV.Publication))
    out.add((name, KGV.version, Literal(glossary.version or "")))
    out.add((name, KGV.skosGraph, URIRef(graph)))
    out.add((name, KGV.skosDigest, Literal(digest)))
    out.add((name, KGV.concepts, Literal(len(glossary))))
    if index.get("model"):
        out.add((name, KGV.model, Literal(index["model"])))
    out.add((name, KGV.manifest, Literal(_json(manifest))))
    records = {
        "concept": [c.to_dict() for c in glossary.concepts.values()],
        "collection": [_collection_to_dict(c) for c in glossary.collections.values()],
        "issue": [i.to_dict() for i in glossary.issues],
    }
    for kind, items in records.items():
        for position, record in enumerate(items):
            node = BNode()
            out.add((node, KGV[f"{kind}Record"], Literal(_json(record))))
            out.add((node, KGV.position, Literal(position)))
    return out.serialize(format="nt", encoding="utf-8")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def remote_publication(remote: SparqlStore, graph: str) -> Publication | None:
    """The publication under ``graph`` (one small query), or None when there is none."""
    name = records_graph_name(graph)
    rows = remote.select(
        f"SELECT ?version ?manifest WHERE {{ GRAPH <{name}> {{ <{name}> <{KGV.version}> ?version ; "
        f"<{KGV.manifest}> ?manifest }} }}"
    )
    if not rows:
        return None
    try:
        manifest = json.loads(rows[0]["manifest"])
        version = rows[0]["version"]
    except (KeyError, ValueError) as error:
        raise RemoteStoreError(f"the manifest in <{name}> cannot be read ({error!r}): re-publish with "
                               "`kg ingest PATH --to URL`", graph=name) from None
    if manifest.get("format") != PUBLICATION_FORMAT:
        raise RemoteStoreError(f"<{name}> holds a publication of format {manifest.get('format')}, this version "
                               f"of kg reads format {PUBLICATION_FORMAT}: re-publish with this version "
                               "(`kg ingest PATH --to URL`) or upgrade kg", graph=name)
    return Publication(graph, version, manifest)


# -- replicas ------------------------------------------------------------------------------------


@dataclass
class PullOutcome:
    """What ``pull`` did; ``settings`` are the ones to serve with (the publisher's URIs and title)."""

    version: str
    changed: bool
    settings: Settings
    graph: str
    publication: Publication | None = None  # None: a plain SKOS graph read by the SKOS importer
    concepts: int | None = None
    warnings: list[str] = field(default_factory=list)


def replica_settings(settings: Settings, publication: Publication | None, graph: str) -> tuple[Settings, list[str]]:
    """The settings a replica serves a publication with, and what differs from the publisher.

    URIs and the scheme's title are data: they are taken from the publication. The embedding
    model is the replica's own (a path on the publisher's machine may not exist here); when it
    differs, search ranks will too, and a warning says so.
    """
    update: dict[str, Any] = {"sparql_graph": graph}
    warnings: list[str] = []
    if publication is not None:
        manifest = publication.manifest
        update.update({k: manifest[k] for k in ("base_uri", "scheme_title") if manifest.get(k)})
        published = manifest.get("settings") or {}
        for key in ("model", "gloss_japanese"):
            mine = getattr(settings, key)
            if key in published and published[key] is not None and published[key] != mine:
                warnings.append(f"the publication was embedded with {key}={published[key]!r}, this replica uses "
                                f"{mine!r}: its search ranks will differ from the publisher's (set KG_{key.upper()})")
    return settings.model_copy(update=update), warnings


def pull(settings: Settings, remote: SparqlStore, url: str, progress=None, retries: int = 2) -> PullOutcome:
    """Make the store's publication (or plain SKOS graph) the current version of ``settings.store``.

    Nothing is written locally until everything has been fetched and checked. A version
    already current is not written again.

    Args:
        settings: the local store; ``sparql_graph`` names the graph.
        remote: the SPARQL store.
        url: how the store was named (recorded in the local manifest, messages).
        progress: as for ``update_store`` (embedding).
        retries: further tries, a second apart, when the SKOS graph does not match its records
            (a publish caught half-way).

    Raises:
        RemoteStoreError: the store cannot be read, holds no such graph, or its graphs disagree.
    """

    graph = graph_name(settings)
    publication = remote_publication(remote, graph)
    settings, warnings = replica_settings(settings, publication, graph)
    for warning in warnings:
        log.warning("%s", warning)
    store = Store(settings.store)
    if publication is not None and (_current_source(store) == (graph, publication.version)
                                    or store.current_version() == publication.version):  # the publisher's own
        return PullOutcome(store.current_version() or "", False, settings, graph, publication, warnings=warnings)
    for attempt in range(retries + 1):
        try:
            result, digest = _fetch(remote, url, graph, publication, settings)
            break
        except _Mismatch as error:
            if attempt == retries:
                raise RemoteStoreError(str(error), url=url, graph=graph) from None
            time.sleep(1.0)
            publication = remote_publication(remote, graph) or publication
    if publication is None and _current_digest(store, graph) == digest:
        return PullOutcome(store.current_version() or "", False, settings, graph, None, warnings=warnings)
    extra = {"sparql": {"url": url, "graph": graph, "version": publication.version if publication else None,
                        "digest": digest}}
    version = write_result(result, settings, extra=extra, version=publication.version if publication else None,
                           progress=progress)
    log.info("version %s from <%s> at %s: %d concepts", version, graph, url, len(result.concepts))
    return PullOutcome(version, True, settings, graph, publication, len(result.concepts), warnings)


class _Mismatch(Exception):
    pass


def _current_source(store) -> tuple[str, str] | None:
    try:
        extra = store.manifest().get("extra", {}).get("sparql") or {}
    except Exception:  # noqa: BLE001 - empty or unreadable: fetch anew
        return None
    return (extra.get("graph"), extra.get("version")) if extra.get("version") else None


def _current_digest(store, graph: str) -> str | None:
    try:
        extra = store.manifest().get("extra", {}).get("sparql") or {}
    except Exception:  # noqa: BLE001
        return None
    return extra.get("digest") if extra.get("graph") == graph else None


def _fetch(remote: SparqlStore, url: str, graph: str, publication: Publication | None,
           settings: Settings) -> tuple[IngestResult, str]:
    skos = remote.get_graph(graph)
    if skos is None:
        if publication is not None:
            raise _Mismatch(f"the store at {url} has the records of version {publication.version} but no graph "
                            f"<{graph}>: re-publish with `kg ingest PATH --to {url}`")
        raise RemoteStoreError(f"the store at {url} holds no graph <{graph}>: publish one with `kg ingest PATH "
                               f"--to {url}`, or name another with KG_SPARQL_GRAPH", url=url, graph=graph)
    parsed = _parse(skos, url, graph)
    digest = graph_digest(parsed)
    if publication is None:
        imported = read_skos(parsed, graph, settings.namespace)
        sources = {graph: hashlib.sha256(digest.encode()).hexdigest()}
        return IngestResult(imported.concepts, imported.collections, imported.issues, sources, 1), digest
    if digest != publication.digest:
        raise _Mismatch(f"graph <{graph}> at {url} differs from the records of version {publication.version} "
                        "published with it (a publish in progress, or the graph was changed outside kg): "
                        f"re-publish with `kg ingest PATH --to {url}`")
    records = remote.get_graph(records_graph_name(graph))
    if records is None:
        raise _Mismatch(f"the records graph <{records_graph_name(graph)}> at {url} disappeared while reading it")
    parsed_records = _parse(records, url, records_graph_name(graph))
    found = parsed_records.value(URIRef(records_graph_name(graph)), KGV.version)
    if str(found) != publication.version:  # re-published between the two reads
        raise _Mismatch(f"<{records_graph_name(graph)}> at {url} changed from version {publication.version} to "
                        f"{found} while it was read")
    result = _decode(parsed_records, publication)
    if len(result.concepts) != publication.manifest.get("counts", {}).get("concepts"):
        raise _Mismatch(f"<{records_graph_name(graph)}> at {url} holds {len(result.concepts)} concept records, "
                        f"its manifest says {publication.manifest.get('counts', {}).get('concepts')} (a publish "
                        f"in progress?): re-publish with `kg ingest PATH --to {url}`")
    return result, digest


def _parse(data: bytes, url: str, graph: str) -> Graph:
    try:
        return Graph(bind_namespaces="none").parse(data=data, format="nt")
    except Exception as error:  # noqa: BLE001 - rdflib's parser raises many types
        raise RemoteStoreError(f"graph <{graph}> from {url} is not N-Triples ({' '.join(str(error).split())[:200]})",
                               url=url, graph=graph) from None


def _decode(records: Graph, publication: Publication) -> IngestResult:
    parse = {"concept": Concept.from_dict, "collection": _collection_from_dict, "issue": Issue.from_dict}
    found: dict[str, list[tuple[int, Any]]] = {kind: [] for kind in _RECORD_KINDS}
    try:
        for kind in _RECORD_KINDS:
            for node, text in records.subject_objects(KGV[f"{kind}Record"]):
                position = int(str(records.value(node, KGV.position)))
                found[kind].append((position, parse[kind](json.loads(str(text)))))
    except (TypeError, ValueError, KeyError) as error:
        raise RemoteStoreError(f"a record of version {publication.version} cannot be read ({error!r}): "
                               "re-publish with `kg ingest PATH --to URL`") from None
    ordered = {kind: [item for _, item in sorted(items, key=lambda pair: pair[0])] for kind, items in found.items()}
    return IngestResult(ordered["concept"], ordered["collection"], ordered["issue"],
                        dict(publication.manifest.get("sources") or {}), len(publication.manifest.get("sources") or {}))


class Follower:
    """Checks the SPARQL store every ``interval`` seconds and pulls a newer publication into the
    local store, where the server's own reload (``KG_RELOAD_INTERVAL``, SIGHUP) picks it up.

    A failed check is logged and tried again; the version being served stays served.
    """

    def __init__(self, settings: Settings, url: str, interval: float) -> None:
        self.settings = settings
        self.url = url
        self.interval = interval
        self.remote = SparqlStore.from_settings(url, settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kg-sparql-follower", daemon=True)

    def check(self) -> PullOutcome | None:
        """One check; the outcome, or None when it failed (logged)."""
        try:
            outcome = pull(self.settings, self.remote, self.url)
        except Exception as error:  # noqa: BLE001 - keep following whatever happened this time
            log.warning("checking %s for a new publication failed: %s", self.url, error)
            return None
        if outcome.changed:
            log.info("pulled version %s from %s", outcome.version, self.url)
        return outcome

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.remote.timeout + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()
