"""SKOS export (kg.rdf.skos) and the format registry (kg.rdf.formats): real rdflib, round trips."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from ingest import ingest_paths
from ingest.skos import parse_skos
from kg import Glossary
from kg.errors import BadParameterError
from kg.model import Collection, Concept, Definition, Label, Link, Source
from kg.rdf.formats import EXPORT_FORMATS, guess_format, negotiate, resolve_format, serialize
from kg.rdf.skos import KGV, to_rdf

NS = "https://example.org/glossary/"
FORMAT_NAMES = [f.name for f in EXPORT_FORMATS]


def _anchor(heading: str) -> str:
    return base64.b64encode(heading.encode("utf-8")).decode("ascii")


@pytest.fixture
def small_glossary(tmp_path: Path, settings) -> Glossary:
    """Two pages: H1 sections, ja/en labels with an abbreviation, links across files."""
    folder = tmp_path / "glossary"
    folder.mkdir()
    dl, ml = _anchor("深層学習 | Deep Learning"), _anchor("機械学習 | Machine Learning")
    (folder / "dl.md").write_text(
        "<!-- 記事URL:https://example.com/glossary/dl.md -->\n"
        "# 基礎\n\n"
        "## 深層学習 | Deep Learning\n\n"
        f'- 多層のネットワークを用いる<a href="ml.md#{ml}">機械学習</a>の手法。\n\n'
        "## ニューラルネットワーク | Neural Network\n\n"
        "- 脳を模した計算モデル。\n\n"
        "# 応用\n\n"
        "## 畳み込みニューラルネットワーク | Convolutional Neural Network (CNN)\n\n"
        f'- 画像に強い<a href="#{dl}">深層学習</a>のモデル。<a href="#{dl}">DL</a>の一種。\n',
        encoding="utf-8",
    )
    (folder / "ml.md").write_text(
        f'## 機械学習 | Machine Learning\n\n- Learning from data; see <a href="dl.md#{dl}">deep learning</a>.\n',
        encoding="utf-8",
    )
    result = ingest_paths([folder], settings)
    assert result.complete and len(result.concepts) == 4
    return Glossary.from_ingest(result, settings)


def _uri(local: str) -> URIRef:
    return URIRef(NS + local)


def _assert_round_trips(glossary: Glossary) -> None:
    """Every format parses back to an isomorphic graph, and export -> parse_skos ->
    Glossary -> to_rdf gives that same graph again (a round trip through our model)."""
    graph = to_rdf(glossary)
    for fmt in EXPORT_FORMATS:
        data, media_type = serialize(graph, fmt.name)
        assert media_type == fmt.media_type
        assert isomorphic(graph, Graph().parse(data=data, format=fmt.rdflib)), fmt.name
        imported = parse_skos(data, f"export{fmt.suffixes[0]}", namespace=glossary.settings.namespace)
        assert not [i for i in imported.issues if i.severity == "error"], fmt.name
        again = Glossary(imported.concepts, imported.collections, settings=glossary.settings)
        assert isomorphic(graph, to_rdf(again)), fmt.name


def _one_pref_label_per_language(graph: Graph) -> None:
    for concept in graph.subjects(RDF.type, SKOS.Concept):
        langs = Counter(label.language for label in graph.objects(concept, SKOS.prefLabel))
        assert all(n == 1 for n in langs.values()), (concept, langs)


# -- export of a small glossary -------------------------------------------------------------


def test_small_glossary_skos(small_glossary):
    graph = to_rdf(small_glossary)
    dl, cnn, ml = _uri("deep-learning"), _uri("convolutional-neural-network"), _uri("machine-learning")
    scheme = URIRef(NS)

    assert (dl, RDF.type, SKOS.Concept) in graph
    assert set(graph.objects(cnn, SKOS.prefLabel)) == {
        Literal("畳み込みニューラルネットワーク", lang="ja"),
        Literal("Convolutional Neural Network", lang="en"),
    }
    assert set(graph.objects(cnn, SKOS.altLabel)) == {Literal("CNN", lang="en")}
    definition = Literal("多層のネットワークを用いる機械学習の手法。", lang="ja")  # plain text, no bullet
    assert set(graph.objects(dl, SKOS.definition)) == {definition}
    _one_pref_label_per_language(graph)

    # links: as written, both directions when both are written, duplicates once; a link along
    # an inferred is-a is the hierarchy instead (SKOS keeps related and broader apart)
    is_a = {(c, p) for p, c, d in small_glossary.prerequisites.edges(data=True) if d["relation"] == "is-a"}
    assert ("convolutional-neural-network", "deep-learning") in is_a
    assert (cnn, SKOS.broader, dl) in graph and (dl, SKOS.narrower, cnn) in graph
    assert list(graph.objects(cnn, SKOS.related)) == []
    assert (dl, SKOS.related, cnn) not in graph
    if ("deep-learning", "machine-learning") not in is_a and ("machine-learning", "deep-learning") not in is_a:
        assert (dl, SKOS.related, ml) in graph and (ml, SKOS.related, dl) in graph

    # scheme
    assert (scheme, RDF.type, SKOS.ConceptScheme) in graph
    assert graph.value(scheme, DCTERMS.title) == Literal("Glossary")
    assert set(graph.objects(None, SKOS.inScheme)) == {scheme}
    # top concepts: those without a broader one, which CNN now has
    assert set(graph.objects(scheme, SKOS.hasTopConcept)) == {
        uri for uri in graph.subjects(RDF.type, SKOS.Concept) if (uri, SKOS.broader, None) not in graph} != set()
    assert cnn not in set(graph.objects(scheme, SKOS.hasTopConcept))

    # provenance: "file:line" literals and the page URL
    assert set(graph.objects(dl, DCTERMS.source)) == {Literal("dl.md:4"), URIRef("https://example.com/glossary/dl.md")}
    assert set(graph.objects(ml, DCTERMS.source)) == {Literal("ml.md:1")}

    # collections: one per file and per H1 section; sections inside their file
    file_dl, basics = URIRef(NS + "collection/dl"), URIRef(NS + "collection/dl--基礎")
    assert set(graph.subjects(RDF.type, SKOS.Collection)) == {
        file_dl,
        basics,
        URIRef(NS + "collection/dl--応用"),
        URIRef(NS + "collection/ml"),
    }
    assert graph.value(basics, SKOS.prefLabel) == Literal("基礎", lang="ja")
    assert set(graph.objects(basics, SKOS.member)) == {dl, _uri("neural-network")}
    assert (file_dl, SKOS.member, basics) in graph
    assert set(graph.objects(basics, DCTERMS.source)) == {
        Literal("dl.md:2"),
        URIRef("https://example.com/glossary/dl.md"),
    }


def test_prerequisite_property_declared(small_glossary):
    graph = to_rdf(small_glossary)
    assert (KGV.prerequisite, RDFS.subPropertyOf, SKOS.semanticRelation) in graph
    assert graph.value(KGV.prerequisite, RDFS.label) is not None
    assert graph.value(KGV.prerequisite, RDFS.comment) is not None
    prefixes = dict(graph.namespaces())
    assert {"skos", "dcterms", "rdfs", "kgv"} <= set(prefixes)
    assert prefixes["kgv"] == URIRef(str(KGV))


def test_small_glossary_round_trips(small_glossary):
    _assert_round_trips(small_glossary)


def test_broader_self_links_and_dangling_targets(settings):
    concepts = [
        Concept("animal", [Label("Animal", "en")]),
        Concept(
            "dog",
            [Label("Dog", "en"), Label("犬", "ja"), Label("Hound", "en")],
            definitions=[Definition("A domestic animal.", Source("a.md", 3), "en"), Definition("untagged")],
            sources=[Source("a.md", 3), Source("https://w.org/dog", 0, "https://w.org/dog")],
            links=[Link("dog"), Link("animal"), Link("animal", "mention"), Link("nowhere")],
            broader=["animal", "dog", "missing"],
        ),
    ]
    glossary = Glossary(concepts, settings=settings)
    graph = to_rdf(glossary)
    dog, animal = _uri("dog"), _uri("animal")
    assert set(graph.objects(dog, SKOS.broader)) == {animal}
    assert set(graph.objects(animal, SKOS.narrower)) == {dog}
    assert set(graph.objects(dog, SKOS.related)) == {animal}  # never itself, never dangling, once
    assert set(graph.objects(URIRef(NS), SKOS.hasTopConcept)) == {animal}
    assert set(graph.objects(dog, SKOS.definition)) == {Literal("A domestic animal.", lang="en"), Literal("untagged")}
    # a URL-only source is the IRI alone, with no "file" literal repeating it
    assert set(graph.objects(dog, DCTERMS.source)) == {Literal("a.md:3"), URIRef("https://w.org/dog")}
    _assert_round_trips(glossary)


def test_imported_uris_schemes_and_hidden_labels_are_re_emitted(settings):
    concepts = [
        Concept(
            "p1",
            [Label("Fish", "en")],
            uri="http://vocab.example/p1",
            hidden_labels=[Label("fsh", "en")],
            schemes=["http://vocab.example/"],
        )
    ]
    collections = [Collection("group", "Group", None, uri="http://vocab.example/g")]
    concepts[0].collections.append("group")
    graph = to_rdf(Glossary(concepts, collections, settings=settings))
    p1 = URIRef("http://vocab.example/p1")
    assert (p1, SKOS.hiddenLabel, Literal("fsh", lang="en")) in graph
    assert set(graph.subjects(RDF.type, SKOS.ConceptScheme)) == {URIRef("http://vocab.example/")}
    assert (URIRef("http://vocab.example/g"), SKOS.member, p1) in graph


def test_text_that_xml_cannot_carry_is_cleaned(settings):
    concept = Concept("c", [Label("Form\x0cfeed", "en")], definitions=[Definition("line\r\nbreak\x00", None, "en")])
    graph = to_rdf(Glossary([concept], settings=settings))
    assert graph.value(_uri("c"), SKOS.definition) == Literal("line; break", lang="en")  # plain, one line
    data, _ = serialize(graph, "xml")
    assert isomorphic(graph, Graph().parse(data=data, format="xml"))


def test_urls_that_are_not_iris_are_encoded(settings):
    source = Source("a b.md", 2, 'https://x.org/a b.md?q="1"')
    concept = Concept("c", [Label("C", "en")], sources=[source], collections=["a-b"])
    glossary = Glossary([concept], [Collection("a-b", "a b", Source("a b.md", 0, source.url))], settings=settings)
    graph = to_rdf(glossary)
    assert URIRef("https://x.org/a%20b.md?q=%221%22") in set(graph.objects(_uri("c"), DCTERMS.source))
    _assert_round_trips(glossary)


def test_base_uri_is_configurable(tmp_path):
    from kg.settings import Settings

    settings = Settings(store=tmp_path / "s", base_uri="https://terms.example.com/g", scheme_title="My terms")
    glossary = Glossary([Concept("x", [Label("X", "en")])], settings=settings)
    graph = to_rdf(glossary)
    assert (URIRef("https://terms.example.com/g/x"), SKOS.inScheme, URIRef("https://terms.example.com/g/")) in graph
    assert graph.value(URIRef("https://terms.example.com/g/"), DCTERMS.title) == Literal("My terms")
    _assert_round_trips(glossary)


def test_glossary_export_facade(small_glossary):
    data, media_type = small_glossary.export("application/ld+json")
    assert media_type == "application/ld+json"
    assert isomorphic(to_rdf(small_glossary), Graph().parse(data=data, format="json-ld"))


# -- the whole linked corpus --------------------------------------------------------------


def test_linked_corpus_round_trips(linked_glossary):
    graph = to_rdf(linked_glossary)
    _one_pref_label_per_language(graph)
    assert len(set(graph.subjects(RDF.type, SKOS.Concept))) == len(linked_glossary.concepts)
    links = {(a, b) for a, c in linked_glossary.concepts.items() for b in {l.target for l in c.links} if b != a}
    related = {(str(a), str(b)) for a, b in graph.subject_objects(SKOS.related)}
    broader = nx.transitive_closure(nx.DiGraph(list(graph.subject_objects(SKOS.broader))))
    # Every link is skos:related, or lies along the hierarchy (one term above the other).
    for a, b in links:
        a, b = linked_glossary.uri(a), linked_glossary.uri(b)
        assert ((a, b) in related) != (broader.has_edge(URIRef(a), URIRef(b)) or broader.has_edge(URIRef(b),
                                                                                                   URIRef(a)))
    assert len(related) == len(list(graph.triples((None, SKOS.related, None)))) > len(links) / 2
    _assert_round_trips(linked_glossary)


# -- format registry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("turtle", "turtle"),
        ("ttl", "turtle"),
        ("text/turtle", "turtle"),
        ("Text/Turtle; charset=UTF-8", "turtle"),
        ("xml", "xml"),
        ("rdf", "xml"),
        ("rdfxml", "xml"),
        ("application/rdf+xml", "xml"),
        ("json-ld", "json-ld"),
        ("jsonld", "json-ld"),
        ("application/ld+json", "json-ld"),
        ("nt", "nt"),
        ("ntriples", "nt"),
        ("n-triples", "nt"),
        ("application/n-triples", "nt"),
    ],
)
def test_resolve_format(value, name):
    assert resolve_format(value).name == name


@pytest.mark.parametrize("value", ["yaml", "", None, "n3", "text/html"])
def test_unknown_format_is_a_bad_parameter(value):
    with pytest.raises(BadParameterError) as caught:
        resolve_format(value)
    error = caught.value
    assert error.status == 422
    assert error.details["parameter"] == "format"
    assert error.details["valid"] == FORMAT_NAMES
    assert all(name in error.message for name in FORMAT_NAMES)


def test_serialize_rejects_unknown_format():
    with pytest.raises(BadParameterError):
        serialize(Graph(), "csv")


@pytest.mark.parametrize(
    ("accept", "name"),
    [
        ("text/turtle", "turtle"),
        ("application/rdf+xml;q=0.5, text/turtle;q=0.9", "turtle"),
        ("application/rdf+xml;q=0.9, text/turtle;q=0.5", "xml"),
        ("application/ld+json, */*;q=0.1", "json-ld"),
        ("text/html, application/xhtml+xml, */*;q=0.8", "turtle"),  # a browser: our first choice
        ("application/*;q=0.5, application/n-triples;q=0.7", "nt"),
        ("application/n-triples, application/ld+json", "nt"),  # equal weights: the client's order
        ("text/*;q=0.2, application/rdf+xml;q=0.1", "turtle"),
        ("*/*;q=0.5, text/turtle;q=0", "xml"),  # q=0 refuses turtle even though */* allows it
        ("application/ld+json;q=bogus, application/n-triples;q=0.3", "nt"),
    ],
)
def test_negotiate(accept, name):
    assert negotiate(accept).name == name


@pytest.mark.parametrize("accept", [None, "", "text/html", "application/json", "text/turtle;q=0", "garbage"])
def test_negotiate_finds_nothing(accept):
    assert negotiate(accept) is None


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("a.ttl", "turtle"),
        ("a.rdf", "xml"),
        ("a.owl", "xml"),
        ("a.xml", "xml"),
        ("a.jsonld", "json-ld"),
        ("a.json", "json-ld"),
        ("a.nt", "nt"),
        ("a.n3", "n3"),
        ("dir/A.TTL", "turtle"),
    ],
)
def test_guess_format(filename, name):
    assert guess_format(filename).name == name


def test_guess_format_unknown():
    assert guess_format("notes.md") is None and guess_format("README") is None


def test_json_ld_export_is_self_contained(small_glossary):
    """The JSON-LD carries its context inline, so reading it back never needs the network."""
    import json

    data, _ = serialize(to_rdf(small_glossary), "json-ld")
    context = json.loads(data)["@context"]
    assert isinstance(context, dict) and context["skos"] == str(SKOS)
