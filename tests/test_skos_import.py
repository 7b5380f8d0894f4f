"""SKOS import (ingest.skos) on real third-party vocabularies, odd files and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, SKOS

from ingest import ingest_paths
from ingest.skos import SKOSXL, parse_skos
from kg import Glossary
from kg.prereqs.features import label_contains as _label_contains
from kg.rdf.formats import serialize
from kg.rdf.skos import KGV, to_rdf

NS = "https://example.org/glossary/"
LABELS = (SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel)
# Everything export says about a concept; nothing else may appear on a concept.
CONCEPT_PREDICATES = {
    RDF.type,
    *LABELS,
    SKOS.definition,
    SKOS.inScheme,
    SKOS.broader,
    SKOS.narrower,
    SKOS.related,
    KGV.prerequisite,  # derived by us (from broader, for a SKOS vocabulary)
    KGV.inferredPrerequisite,  # ... and marked as inferred
    DCTERMS.source,
}


def _import(path: Path, **kwargs):
    return parse_skos(path.read_bytes(), path.name, namespace=NS, **kwargs)


def _modelled(graph: Graph, concepts: set) -> Graph:
    """The SKOS triples about ``concepts`` that the model keeps: type, labels,
    definitions, schemes, and broader/narrower/related between those concepts
    (broader and narrower each with its inverse, as export writes them)."""
    out = Graph()
    for c in concepts:
        out.add((c, RDF.type, SKOS.Concept))
        for p in (*LABELS, SKOS.definition, SKOS.inScheme):
            for o in graph.objects(c, p):
                out.add((c, p, o))
        for o in graph.objects(c, SKOS.related):
            if o in concepts and o != c:
                out.add((c, SKOS.related, o))
        for p, (child, parent) in ((SKOS.broader, (0, 1)), (SKOS.narrower, (1, 0))):
            for o in graph.objects(c, p):
                if o in concepts and o != c:
                    pair = (c, o)
                    out.add((pair[child], SKOS.broader, pair[parent]))
                    out.add((pair[parent], SKOS.narrower, pair[child]))
    return out


# -- YSO: a real multilingual thesaurus ---------------------------------------------------------


@pytest.fixture(scope="module")
def yso(skos_dir):
    path = skos_dir / "yso.ttl"
    return Graph().parse(path), _import(path)


def test_yso_concepts_labels_and_hierarchy(yso):
    source, imported = yso
    concepts = set(source.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) == 270  # what the corpus README promises, counted from the file
    assert len(imported.concepts) == len(concepts)
    assert {c.uri for c in imported.concepts} == {str(c) for c in concepts}
    assert len({c.id for c in imported.concepts}) == len(concepts)
    assert all(c.id == c.uri.rsplit("/", 1)[1] for c in imported.concepts)  # yso:p1464 -> "p1464"

    langs = {label.lang for c in imported.concepts for label in c.labels}
    assert {"fi", "sv", "en", "se"} <= langs
    for concept in imported.concepts:
        prefs = [l for l in concept.labels if concept.pref_labels()[l.lang] == l.text]
        assert len(prefs) == len({l.lang for l in prefs})

    # broader, counted independently: skos:broader plus inverted skos:narrower inside the extract
    edges = {(s, o) for s, o in source.subject_objects(SKOS.broader) if s in concepts and o in concepts}
    edges |= {(o, s) for s, o in source.subject_objects(SKOS.narrower) if s in concepts and o in concepts}
    assert edges
    ids = {c.uri: c.id for c in imported.concepts}
    imported_edges = {(c.id, parent) for c in imported.concepts for parent in c.broader}
    assert imported_edges == {(ids[str(a)], ids[str(b)]) for a, b in edges}
    related = {(s, o) for s, o in source.subject_objects(SKOS.related) if s in concepts and o in concepts}
    imported_related = {(c.id, link.target) for c in imported.concepts for link in c.links}
    assert imported_related == {(ids[str(a)], ids[str(b)]) for a, b in related} != set()
    assert {c.schemes[0] for c in imported.concepts} == {"http://www.yso.fi/onto/yso/"}
    assert imported.scheme_title
    assert not [i for i in imported.issues if i.severity == "error"]


def test_yso_re_export_is_isomorphic_to_what_we_model(yso):
    source, imported = yso
    concepts = set(source.subjects(RDF.type, SKOS.Concept))
    expected = _modelled(source, concepts)
    # A SKOS-XL form that is no plain label is kept as an altLabel (one prefLabel per language).
    for c in concepts:
        plain = {o for p in LABELS for o in source.objects(c, p)}
        for xl_prop, prop in (
            (SKOSXL.prefLabel, SKOS.altLabel),
            (SKOSXL.altLabel, SKOS.altLabel),
            (SKOSXL.hiddenLabel, SKOS.hiddenLabel),
        ):
            for label in source.objects(c, xl_prop):
                form = source.value(label, SKOSXL.literalForm)
                if form is not None and form not in plain:
                    expected.add((c, prop, form))

    exported = to_rdf(Glossary(imported.concepts, imported.collections))
    assert set(exported.subjects(RDF.type, SKOS.Concept)) == concepts
    assert isomorphic(_modelled(exported, concepts), expected)
    assert {p for s, p, _ in exported if s in concepts} <= CONCEPT_PREDICATES
    # Prerequisites are derived from the vocabulary's own relations and text, never made up.
    related = {frozenset(pair) for p in (SKOS.broader, SKOS.narrower, SKOS.related)
               for pair in source.subject_objects(p)}
    by_uri = {URIRef(c.uri): c for c in imported.concepts}
    derived = list(exported.subject_objects(KGV.prerequisite))
    assert derived
    defined = set(source.subjects(SKOS.definition, None))
    for narrow, wide in derived:  # related in the source, a label of one holds the other's, or similar definitions
        assert (frozenset((narrow, wide)) in related or _label_contains(by_uri[narrow], by_uri[wide])
                or {narrow, wide} <= defined)
    # the vocabulary keeps its scheme; no empty glossary scheme is added beside it
    assert set(exported.subjects(RDF.type, SKOS.ConceptScheme)) == {URIRef("http://www.yso.fi/onto/yso/")}
    collection = next(iter(source.subjects(RDF.type, SKOS.Collection)))
    assert set(exported.objects(collection, SKOS.member)) == set(source.objects(collection, SKOS.member)) & concepts


def test_yso_round_trips_through_every_format(yso):
    _, imported = yso
    first = to_rdf(Glossary(imported.concepts, imported.collections))
    for fmt in ("turtle", "xml", "json-ld", "nt"):
        data, _ = serialize(first, fmt)
        again = parse_skos(data, f"yso-export.{fmt}", fmt, namespace=NS)
        assert isomorphic(first, to_rdf(Glossary(again.concepts, again.collections))), fmt


# -- small Skosmos test vocabularies ---------------------------------------------------------


def test_cycles_import(skos_dir):
    imported = _import(skos_dir / "cycle.ttl")
    by_id = {c.id: c for c in imported.concepts}
    assert set(by_id) == {"ta1", "ta2", "ta3", "ta4"}
    assert by_id["ta3"].broader == ["ta1", "ta4"] and by_id["ta4"].broader == ["ta3"]  # the cycle is kept
    assert by_id["ta2"].broader == ["ta1"]  # ta2 narrower ta2 is not kept
    assert any(i.kind == "dropped_relations" and "itself" in i.message for i in imported.issues)
    graph = to_rdf(Glossary(imported.concepts))
    assert set(graph.objects(None, SKOS.hasTopConcept)) == {URIRef("http://www.skosmos.skos/cycle/ta1")}


def test_skos_xl_labels_and_structured_definitions(skos_dir):
    imported = _import(skos_dir / "xl.ttl")
    (concept,) = imported.concepts
    assert concept.pref_labels() == {"en": "Concept"}
    assert [l.text for l in concept.alt_labels()] == ["Conceptual entity"]
    assert [(d.text, d.lang) for d in concept.definitions] == [("Unit of thought", "en")]


def test_skos_xl_only_labels(tmp_path):
    data = b"""
    @prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix xl: <http://www.w3.org/2008/05/skos-xl#> .
    <http://x.org/c> a skos:Concept ; xl:prefLabel [ xl:literalForm "Pomme"@fr ] ;
        xl:altLabel [ xl:literalForm "Malus"@fr ], [ xl:literalForm "Apfel"@de ] ;
        xl:hiddenLabel [ xl:literalForm "pome"@fr ] .
    """
    (concept,) = parse_skos(data, "xl-only.ttl", namespace=NS).concepts
    # The model's rule: the first label of a language is its prefLabel, so an altLabel
    # in a language without a prefLabel (Apfel) is exported as that language's prefLabel.
    assert concept.pref_labels() == {"fr": "Pomme", "de": "Apfel"}
    assert [l.text for l in concept.alt_labels()] == ["Malus"]
    assert [l.text for l in concept.hidden_labels] == ["pome"]


def test_multiple_schemes(skos_dir):
    imported = _import(skos_dir / "multiple-schemes.ttl")
    assert len(imported.concepts) == 3
    schemes = {s for c in imported.concepts for s in c.schemes}
    assert schemes == {f"http://www.skosmos.skos/multiple-schemes/cs{n}" for n in (1, 2, 3)}
    graph = to_rdf(Glossary(imported.concepts))
    assert set(graph.subjects(RDF.type, SKOS.ConceptScheme)) == {URIRef(s) for s in schemes}
    for concept in imported.concepts:
        assert (URIRef(concept.schemes[0]), SKOS.hasTopConcept, URIRef(concept.uri)) in graph


def test_skosmos_test_vocabulary(skos_dir):
    """Deprecated concepts, subclasses of skos:Concept, untagged labels, several prefLabels."""
    imported = _import(skos_dir / "test.ttl")
    by_id = {c.id: c for c in imported.concepts}
    assert by_id["ta112"].hidden_labels[0].text == "Karpit"
    assert by_id["ta122"].definitions[0].text.startswith("The black sea bass")  # rdf:value definition
    assert by_id["ta127"].pref_labels()["en"]  # untagged labels get a detected language
    assert all(len(c.pref_labels()) == len({l.lang for l in c.labels}) for c in imported.concepts)
    assert any(i.kind == "multiple_pref_labels" and i.concepts == ("ta127",) for i in imported.issues)


# -- ids, URIs and provenance -----------------------------------------------------------------


def test_foreign_ids_are_unique_and_keep_their_uris():
    data = """
    @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
    <http://a.org/v/term> a skos:Concept ; skos:prefLabel "A"@en ; skos:related <http://b.org/w#term> .
    <http://b.org/w#term> a skos:Concept ; skos:prefLabel "B"@en ; skos:broader <http://a.org/v/term> .
    <https://example.org/glossary/term> a skos:Concept ; skos:prefLabel "ours" .
    <http://c.org/%E6%B7%B1%E5%B1%A4/> a skos:Concept ; skos:prefLabel "深層"@ja .
    """.encode()
    imported = parse_skos(data, "ids.ttl", namespace=NS)
    by_uri = {c.uri: c for c in imported.concepts}
    assert by_uri[None].id == "term"  # our own namespace keeps the local part and needs no uri
    assert by_uri[None].labels[0].lang == "en"  # untagged: detected
    assert {by_uri["http://a.org/v/term"].id, by_uri["http://b.org/w#term"].id} == {"term-2", "term-3"}
    assert by_uri["http://c.org/%E6%B7%B1%E5%B1%A4/"].id == "深層"
    assert by_uri["http://b.org/w#term"].broader == [by_uri["http://a.org/v/term"].id]
    assert [l.target for l in by_uri["http://a.org/v/term"].links] == [by_uri["http://b.org/w#term"].id]
    exported = to_rdf(Glossary(imported.concepts))
    assert {str(s) for s in exported.subjects(RDF.type, SKOS.Concept)} == {
        "http://a.org/v/term",
        "http://b.org/w#term",
        NS + "term",
        "http://c.org/%E6%B7%B1%E5%B1%A4/",
    }


def test_sources_pair_back_with_their_page_urls(linked_glossary):
    data, _ = serialize(to_rdf(linked_glossary), "turtle")
    imported = parse_skos(data, "linked.ttl", namespace=NS)
    by_id = {c.id: c for c in imported.concepts}
    assert set(by_id) == set(linked_glossary.concepts)
    multi = [c for c in linked_glossary.concepts.values() if len({s.url for s in c.sources}) > 1]
    assert multi  # concepts merged across pages: the pairing matters
    for concept in linked_glossary.concepts.values():
        assert sorted(by_id[concept.id].sources, key=str) == sorted(concept.sources, key=str)
        assert by_id[concept.id].pref_labels() == concept.pref_labels()
        assert set(by_id[concept.id].collections) == set(concept.collections)
    assert set(imported.collections) == set(linked_glossary.collections.values())
    assert imported.scheme_title == "Glossary"


def test_url_only_sources():
    data = b"""
    @prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix dcterms: <http://purl.org/dc/terms/> .
    <http://x.org/c> a skos:Concept ; skos:prefLabel "C"@en ; skos:definition "Def."@en ;
        dcterms:source <https://en.wikipedia.org/wiki/C> .
    """
    (concept,) = parse_skos(data, "src.ttl", namespace=NS).concepts
    assert [(s.file, s.line, s.url) for s in concept.sources] == [
        ("https://en.wikipedia.org/wiki/C", 0, "https://en.wikipedia.org/wiki/C")
    ]
    assert concept.definitions[0].source == concept.sources[0]
    graph = to_rdf(Glossary([concept]))
    assert set(graph.objects(URIRef("http://x.org/c"), DCTERMS.source)) == {URIRef("https://en.wikipedia.org/wiki/C")}


# -- formats and bad input --------------------------------------------------------------------


def test_garbage_gives_a_parse_error_issue():
    imported = parse_skos(b"@prefix broken <nope\nthis is { not RDF", "broken.ttl", namespace=NS)
    assert imported.concepts == [] and imported.collections == []
    (issue,) = imported.issues
    assert (issue.kind, issue.severity, issue.file) == ("parse_error", "error", "broken.ttl")
    assert issue.line is not None and "broken.ttl" in str(issue)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x00\x01\x02garbage", "blob.rdf"),
        (b'{"@graph": [', "cut.jsonld"),
        (b"<rdf:RDF><unclosed>", "bad.xml"),
        (b"<a> <b> .", "bad.nt"),
        (b"just some words", "nosuffix"),
    ],
)
def test_bad_input_never_raises(data, name):
    imported = parse_skos(data, name, namespace=NS)
    assert imported.concepts == []
    assert [i.kind for i in imported.issues] == ["parse_error"] and imported.issues[0].file == name


def test_remote_json_ld_context_is_refused_offline():
    document = {"@context": "https://example.com/context.jsonld", "@id": "http://x.org/c", "@type": "Concept"}
    imported = parse_skos(json.dumps(document).encode(), "remote.jsonld", namespace=NS)
    assert imported.issues[0].kind == "parse_error" and "remote" in imported.issues[0].message


def test_format_is_sniffed_without_a_suffix_and_fixed_on_mismatch(skos_dir):
    data = (skos_dir / "cycle.ttl").read_bytes()
    assert len(parse_skos(data, "cycle", namespace=NS).concepts) == 4
    ntriples, _ = serialize(Graph().parse(data=data, format="turtle"), "nt")  # starts with "<": not XML
    imported = parse_skos(ntriples, "cycle-nt", namespace=NS)
    assert len(imported.concepts) == 4 and not [i for i in imported.issues if i.severity != "info"]
    xml, _ = serialize(Graph().parse(data=data, format="turtle"), "xml")
    imported = parse_skos(xml, "mislabelled.ttl", namespace=NS)
    assert len(imported.concepts) == 4
    assert [i.kind for i in imported.issues if i.severity != "info"] == ["format_mismatch"]
    assert len(parse_skos(xml, "whatever.ttl", "application/rdf+xml", namespace=NS).concepts) == 4


def test_empty_vocabulary_is_reported():
    imported = parse_skos(b"", "empty.ttl", namespace=NS)
    assert imported.concepts == [] and [i.kind for i in imported.issues] == ["no_concepts"]


def test_cyclic_member_list_does_not_hang():
    data = b"""
    @prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
    <http://x.org/c> a skos:Concept ; skos:prefLabel "C"@en .
    <http://x.org/o> a skos:OrderedCollection ; skos:prefLabel "O"@en ; skos:memberList _:l .
    _:l rdf:first <http://x.org/c> ; rdf:rest _:l .
    """
    imported = parse_skos(data, "loop.ttl", namespace=NS)
    assert imported.concepts[0].collections == ["o"]


def test_ingest_reads_skos_files(tmp_path, skos_dir):
    (tmp_path / "cycle.ttl").write_bytes((skos_dir / "cycle.ttl").read_bytes())
    (tmp_path / "bad.rdf").write_bytes(b"not xml at all")
    result = ingest_paths([tmp_path])
    assert {c.id for c in result.concepts} == {"ta1", "ta2", "ta3", "ta4"}
    assert any(i.kind == "parse_error" and i.file == "bad.rdf" for i in result.issues)
    glossary = Glossary.from_ingest(result)
    assert glossary.get("Concept 3").broader == ["ta1", "ta4"]
    assert (URIRef("http://www.skosmos.skos/cycle/ta2"), SKOS.prefLabel, Literal("Concept 2", lang="en")) in to_rdf(
        glossary
    )


def test_imported_concepts_survive_to_dict(yso):
    """What the store writes (``to_dict``) keeps URIs, schemes and hidden labels."""
    from kg.model import Concept

    _, imported = yso
    assert all(Concept.from_dict(c.to_dict()) == c for c in imported.concepts)
    assert any(c.hidden_labels for c in imported.concepts)


def test_xml_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-TOKEN-4711", encoding="utf-8")
    document = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY leak SYSTEM "file://{secret}"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:skos="http://www.w3.org/2004/02/skos/core#">
  <skos:Concept rdf:about="http://example.com/a"><skos:prefLabel xml:lang="en">A &leak;</skos:prefLabel></skos:Concept>
</rdf:RDF>""".encode()
    imported = parse_skos(document, "leak.rdf", namespace=NS)
    assert "SECRET" not in json.dumps([c.to_dict() for c in imported.concepts])
    assert imported.issues and imported.issues[0].kind == "parse_error" and "entit" in imported.issues[0].message


def test_billion_laughs_is_refused_at_once():
    import time

    entities = ['<!ENTITY l0 "ha">'] + [f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)]
    document = (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [ {" ".join(entities)} ]>\n'
                '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns:skos="http://www.w3.org/2004/02/skos/core#"><skos:Concept rdf:about="http://example.com/a">'
                '<skos:prefLabel>&l9;</skos:prefLabel></skos:Concept></rdf:RDF>').encode()
    start = time.monotonic()
    imported = parse_skos(document, "laughs.rdf", namespace=NS)
    assert time.monotonic() - start < 5  # 10^9 "ha"s would take minutes and gigabytes
    assert not imported.concepts and imported.issues[0].kind == "parse_error"
