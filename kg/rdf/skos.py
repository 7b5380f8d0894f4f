"""The glossary as a SKOS graph (rdflib), and the URI and provenance conventions import reads back.

What a glossary becomes (design.md, "Concepts, URIs and RDF"):

* the scheme: the namespace itself (``scheme_uri``), a ``skos:ConceptScheme`` with ``dcterms:title``
  and ``skos:hasTopConcept`` for each concept without a broader one. The namespace
  is used rather than ``namespace + "scheme"`` so that no term's slug can collide
  with it. Concepts imported from another vocabulary stay in their own schemes;
* each concept: ``skos:Concept`` at ``Glossary.uri(id)``; one ``skos:prefLabel`` per
  language, the other labels as ``skos:altLabel`` (``skos:hiddenLabel`` as imported),
  language-tagged; ``skos:definition`` tagged with the definition's language;
  ``skos:inScheme``; ``skos:broader`` with its inverse ``skos:narrower`` (so plain
  SKOS tools without inference see the hierarchy both ways), from the author's hierarchy
  and from the inferred ``is-a`` prerequisites (``kg.prereqs.relations``: "c is a kind of
  p" makes p broader than c); ``skos:related`` for each link A -> B as written
  (deduplicated, never to itself, never dangling, never along the hierarchy);
* provenance: one ``dcterms:source`` literal ``"file:line"`` (``"file"`` when the
  line is unknown) per source, and the page URL as a ``dcterms:source`` IRI. A source
  that is only a URL (``Source(url, 0, url)``, as SKOS import makes them) is the
  IRI alone. Import pairs URLs back to files through the collections, which carry
  one source each;
* one ``skos:Collection`` per collection at ``namespace + "collection/" + id``, with
  ``skos:prefLabel``, ``skos:member`` for its concepts, and ``file--section``
  collections as members of their file's collection;
* the project vocabulary (``kgv:``): ``kgv:prerequisite``, a sub-property of
  ``skos:semanticRelation`` so plain SKOS tools still understand it, for every edge of
  the prerequisite DAG; edges inferred from the text (not stated by the author) are
  also ``kgv:inferredPrerequisite``, its sub-property. Curated edges are plain
  ``kgv:prerequisite``, as an author writing SKOS by hand would state them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from kg.labels import detect_lang
from kg.model import Collection, Source
from kg.text import plain_text

if TYPE_CHECKING:
    from kg.glossary import Glossary

#: Project vocabulary. Fixed, not under the configurable base, so that every glossary
#: (whatever its base URI) uses the same prerequisite property.
KGV = Namespace("https://example.org/glossary/vocab#")

COLLECTION_PATH = "collection/"

# Characters XML 1.0 cannot carry: an RDF/XML export holding one could not be read back.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Outside IRIs (RFC 3987): written raw, N-Triples and Turtle could not be read back.
_NOT_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`]')
_LINE_SUFFIX = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")


def scheme_uri(namespace: str) -> str:
    """URI of the glossary's concept scheme: the namespace itself (without a trailing ``#``).

    Args:
        namespace: ``Settings.namespace``.

    Returns:
        The scheme's URI; no concept slug can be equal to it.

    >>> scheme_uri("https://example.org/glossary/"), scheme_uri("https://example.org/g#")
    ('https://example.org/glossary/', 'https://example.org/g')
    """
    return namespace[:-1] if namespace.endswith("#") else namespace


def collection_uri(namespace: str, collection: Collection) -> str:
    """URI of a collection: its imported URI, else under ``namespace + "collection/"``.

    Args:
        namespace: ``Settings.namespace``.
        collection: the collection.

    Returns:
        The URI as a string.
    """
    return collection.uri or f"{namespace}{COLLECTION_PATH}{collection.id}"


def source_literal(source: Source) -> str | None:
    """The ``dcterms:source`` literal of a source, or None for a bare URL source.

    Args:
        source: where a concept or collection was read.

    Returns:
        ``"file:line"``, ``"file"`` when the line is unknown, None when the source is only a URL.

    >>> source_literal(Source("ai/llm.md", 12)), source_literal(Source("ai/llm.md"))
    ('ai/llm.md:12', 'ai/llm.md')
    >>> source_literal(Source("https://x.org/a", 0, "https://x.org/a")) is None
    True
    """
    if source.url and source.file == source.url:
        return None
    return str(source)


def parse_source_literal(text: str) -> tuple[str, int]:
    """``(file, line)`` from a ``dcterms:source`` literal written by ``source_literal``.

    Args:
        text: the literal's text.

    Returns:
        The file and the line (0 when the literal carries none).

    >>> parse_source_literal("ai/llm.md:12"), parse_source_literal("notes"), parse_source_literal("C:x.md")
    (('ai/llm.md', 12), ('notes', 0), ('C:x.md', 0))
    """
    match = _LINE_SUFFIX.match(text)
    if match and int(match["line"]) > 0:
        return match["file"], int(match["line"])
    return text, 0


def _iri(value: str) -> URIRef:
    """An IRI that every syntax can write: characters IRIs forbid are percent-encoded.

    >>> str(_iri("https://x.org/a b.md"))
    'https://x.org/a%20b.md'
    """
    return URIRef(_NOT_IRI.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value))


def _text(value: str) -> str:
    # \r would come back from RDF/XML as \n (XML end-of-line handling): normalise it here.
    return _NOT_XML.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _literal(text: str, lang: str | None) -> Literal:
    try:
        return Literal(_text(text), lang=lang or None)
    except ValueError:  # not a valid BCP 47 tag: keep the text, drop the tag
        return Literal(_text(text))


def _add_sources(graph: Graph, subject: URIRef, sources: list[Source]) -> None:
    for source in sources:
        literal = source_literal(source)
        if literal is not None:
            graph.add((subject, DCTERMS.source, Literal(_text(literal))))
        if source.url:
            graph.add((subject, DCTERMS.source, _iri(source.url)))


def _declare_vocabulary(graph: Graph) -> None:
    graph.add((KGV.prerequisite, RDF.type, RDF.Property))
    graph.add((KGV.prerequisite, RDFS.subPropertyOf, SKOS.semanticRelation))
    graph.add((KGV.prerequisite, RDFS.label, Literal("has prerequisite", lang="en")))
    graph.add(
        (
            KGV.prerequisite,
            RDFS.comment,
            Literal(
                "The object is a concept to understand before the subject.",
                lang="en",
            ),
        )
    )
    graph.add((KGV.inferredPrerequisite, RDF.type, RDF.Property))
    graph.add((KGV.inferredPrerequisite, RDFS.subPropertyOf, KGV.prerequisite))
    graph.add((KGV.inferredPrerequisite, RDFS.label, Literal("has inferred prerequisite", lang="en")))
    graph.add((KGV.inferredPrerequisite, RDFS.comment, Literal(
        "A prerequisite inferred from the glossary's text rather than stated by its author.", lang="en")))


def new_graph(namespace: str) -> Graph:
    """An empty graph with the export's prefixes bound (skos, dcterms, rdfs, kgv, kg).

    Args:
        namespace: the glossary's namespace, bound as ``kg``.

    Returns:
        The graph.
    """
    # "core" keeps the prefix table small (rdf, rdfs, owl, xsd): JSON-LD contexts are built from it.
    graph = Graph(bind_namespaces="core")
    graph.bind("skos", SKOS)
    graph.bind("dcterms", DCTERMS)
    graph.bind("rdfs", RDFS)
    graph.bind("kgv", KGV)
    graph.bind("kg", Namespace(namespace))
    return graph


def to_rdf(glossary: Glossary) -> Graph:
    """The glossary as SKOS (see the module docstring for every choice).

    Args:
        glossary: concepts, collections and settings (``namespace``, ``scheme_title``).

    Returns:
        A new rdflib graph.
    """
    settings = glossary.settings
    namespace = settings.namespace
    graph = new_graph(namespace)
    _declare_vocabulary(graph)
    concepts = glossary.concepts
    own_scheme = _iri(scheme_uri(namespace))
    # Our scheme is declared when something is in it (or nothing is there at all), so
    # that re-exporting an imported vocabulary adds no empty scheme beside its own.
    if not concepts or any(not c.schemes for c in concepts.values()):
        graph.add((own_scheme, RDF.type, SKOS.ConceptScheme))
        graph.add((own_scheme, DCTERMS.title, Literal(settings.scheme_title)))

    hierarchy = glossary.hierarchy
    for concept in concepts.values():
        uri = _iri(glossary.uri(concept.id))
        graph.add((uri, RDF.type, SKOS.Concept))
        for lang, text in concept.pref_labels().items():
            graph.add((uri, SKOS.prefLabel, _literal(text, lang)))
        for label in concept.alt_labels():
            graph.add((uri, SKOS.altLabel, _literal(label.text, label.lang)))
        for label in concept.hidden_labels:
            graph.add((uri, SKOS.hiddenLabel, _literal(label.text, label.lang)))
        for definition in concept.definitions:
            if definition.text.strip():
                graph.add((uri, SKOS.definition, _literal(plain_text(definition.text), definition.lang)))
        schemes = [_iri(s) for s in concept.schemes] or [own_scheme]
        for scheme in schemes:
            graph.add((uri, SKOS.inScheme, scheme))
            graph.add((scheme, RDF.type, SKOS.ConceptScheme))
        broader = [b for b in concept.broader if b in concepts and b != concept.id]
        broader += [b for b in hierarchy.inferred.get(concept.id, ()) if b not in broader]
        for parent in broader:
            parent_uri = _iri(glossary.uri(parent))
            graph.add((uri, SKOS.broader, parent_uri))
            graph.add((parent_uri, SKOS.narrower, uri))
        if not broader:
            for scheme in schemes:
                graph.add((scheme, SKOS.hasTopConcept, uri))
        for link in concept.links:
            # skos:related is disjoint with the hierarchy (SKOS S27): a link along it is not related.
            if link.target in concepts and link.target != concept.id \
                    and not hierarchy.along_inferred(concept.id, link.target):
                graph.add((uri, SKOS.related, _iri(glossary.uri(link.target))))
        for prerequisite, _, data in glossary.prerequisites.in_edges(concept.id, data=True):
            target = _iri(glossary.uri(prerequisite))
            graph.add((uri, KGV.prerequisite, target))
            if not data.get("curated"):  # curated ones are plain kgv:prerequisite, as an author would write
                graph.add((uri, KGV.inferredPrerequisite, target))
        _add_sources(graph, uri, concept.sources)
        for collection_id in concept.collections:
            if collection_id in glossary.collections:
                collection = glossary.collections[collection_id]
                graph.add((_iri(collection_uri(namespace, collection)), SKOS.member, uri))

    for collection in glossary.collections.values():
        uri = _iri(collection_uri(namespace, collection))
        graph.add((uri, RDF.type, SKOS.Collection))
        graph.add((uri, SKOS.prefLabel, _literal(collection.label, detect_lang(collection.label))))
        if collection.source:
            _add_sources(graph, uri, [collection.source])
        # Section collections ("file--section") sit inside their file's collection.
        parent_id, sep, _ = collection.id.partition("--")
        if sep and parent_id in glossary.collections:
            parent = _iri(collection_uri(namespace, glossary.collections[parent_id]))
            graph.add((parent, SKOS.member, uri))
    return graph
