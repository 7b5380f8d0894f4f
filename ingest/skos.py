"""Read SKOS files (Turtle, RDF/XML, JSON-LD, N-Triples, N3) into concepts and collections.

What is kept, so that our own export reads back into the same graph (``kg.rdf.skos``):

* concepts: everything typed ``skos:Concept`` (or a declared subclass of it). Ids:
  the local part of URIs under the glossary's namespace; otherwise a slug of the
  URI's fragment or last path segment, made unique, with the URI kept in
  ``Concept.uri`` so that export re-emits it;
* labels: ``skos:prefLabel``/``altLabel``/``hiddenLabel`` and their SKOS-XL forms
  (``skosxl:literalForm``); untagged labels get ``detect_lang``. One prefLabel per
  language: plain SKOS first, then SKOS-XL, extras become altLabels (reported). The
  model makes the first label of a language its prefLabel, so an altLabel in a
  language that has no prefLabel is exported as one;
* ``skos:definition`` (a literal, or a resource's ``rdf:value``) with its language tag;
* ``skos:inScheme``/``skos:topConceptOf``: the schemes other than the glossary's own;
* ``skos:broader`` and ``skos:narrower`` (both become ``broader`` of the narrower
  concept) and ``skos:related`` (a ``Link`` of kind ``link``), between concepts of
  the file only: relations to anything else, and to the concept itself, are dropped
  and counted in one ``info`` issue each;
* ``dcterms:source``: literals ``file:line`` and IRIs (page URLs), paired back;
* collections (``skos:Collection``/``OrderedCollection``) with their concept members.

Dropped: notes (``skos:scopeNote``, ``note``, ``example``...), mapping properties
(``exactMatch``...), notations, ``hasTopConcept`` (export derives it from
``broader``), collections nested in collections (ours are re-derived from ids) and
every non-SKOS property.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DC, DCTERMS, RDF, RDFS, SKOS
from rdflib.term import Node

from kg.labels import detect_lang, slugify
from kg.model import Collection, Concept, Definition, Issue, Label, Link, Source
from kg.rdf.formats import FORMATS, Format, guess_format, resolve_format
from kg.rdf.skos import COLLECTION_PATH, KGV, parse_source_literal, scheme_uri
from kg.settings import Settings

SKOSXL = Namespace("http://www.w3.org/2008/05/skos-xl#")
_LINE_IN_MESSAGE = re.compile(r"\bline[:\s]+(\d+)", re.IGNORECASE)


@dataclass
class SkosImport:
    """What a SKOS file gave; ``issues`` with severity ``error`` mean it could not be read."""

    concepts: list[Concept] = field(default_factory=list)
    collections: list[Collection] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    scheme_title: str | None = None


def parse_skos(data: bytes, name: str, fmt: str | None = None, *, namespace: str | None = None) -> SkosImport:
    """Parse a SKOS file into concepts; never raises on bad input.

    Args:
        data: the file's bytes.
        name: its name in messages and provenance; its suffix picks the format.
        fmt: a format name, alias or media type that overrides the suffix.
        namespace: the glossary's namespace (URIs under it keep their local part as
            id); defaults to ``Settings().namespace``.

    Returns:
        Concepts, collections, issues and the main scheme's title. A file that cannot
        be parsed gives an empty import with one ``parse_error`` issue.
    """
    if namespace is None:
        namespace = Settings().namespace
    graph, issues = parse_graph(data, name, fmt, base=namespace)
    if graph is None:
        return SkosImport(issues=issues)
    result = read_skos(graph, name, namespace)
    result.issues[:0] = issues
    return result


def _candidates(data: bytes, name: str, fmt: str | None) -> tuple[list[Format], bool]:
    """Formats to try, in order, and whether the first was declared (by ``fmt`` or the suffix)."""
    if fmt:
        return [resolve_format(fmt, for_export=False)], True
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):  # <?xml, <rdf:RDF, or a Turtle/N-Triples IRI: try XML first
        sniffed = "xml"
    elif head.startswith((b"{", b"[")):
        sniffed = "json-ld"
    else:
        sniffed = "turtle"
    declared = guess_format(name)
    order = [declared, resolve_format(sniffed)]
    order += [f for f in FORMATS if f.name in ("turtle", "xml", "json-ld", "nt")]
    return list(dict.fromkeys(f for f in order if f is not None)), declared is not None


def _error_line(error: Exception) -> int | None:
    if hasattr(error, "lines") and isinstance(error.lines, int):  # rdflib's N3/Turtle BadSyntax (0-based)
        return error.lines + 1
    if hasattr(error, "getLineNumber"):  # SAXParseException from the RDF/XML parser
        return error.getLineNumber()
    if isinstance(error, json.JSONDecodeError):
        return error.lineno
    match = _LINE_IN_MESSAGE.search(str(error))
    return int(match.group(1)) if match else None


def _remote_contexts(document: object) -> list[str]:
    """``@context``/``@import`` references by URL anywhere in a JSON-LD document."""
    found: list[str] = []
    stack = [document]
    while stack:  # iterative: a deeply nested document must not exhaust the stack
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("@context", "@import"):
                    refs = value if isinstance(value, list) else [value]
                    found.extend(ref for ref in refs if isinstance(ref, str))
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _parse_one(data: bytes, fmt: Format, base: str) -> Graph:
    graph = Graph(bind_namespaces="none")
    if fmt.name == "json-ld":
        document = json.loads(data.decode("utf-8-sig"))
        remote = _remote_contexts(document)
        if remote:
            # rdflib would fetch them over the network (or read local files): never do that.
            raise ValueError(f"remote JSON-LD @context {remote[0]!r} is not fetched; inline the context")
        graph.parse(data=json.dumps(document), format=fmt.rdflib, publicID=base)
    else:
        if fmt.name == "xml":
            _refuse_xml_entities(data)
        graph.parse(data=data, format=fmt.rdflib, publicID=base)
    return graph


def _refuse_xml_entities(data: bytes) -> None:
    """Read the XML once with defusedxml first: an entity declaration (a billion-laughs bomb)
    or an external entity or DTD (which would read local files or fetch URLs) is refused
    before rdflib's parser, which would expand them, ever sees the document."""
    from xml.sax.handler import ContentHandler

    import defusedxml.sax
    from defusedxml import DefusedXmlException

    try:
        defusedxml.sax.parseString(data, ContentHandler(), forbid_dtd=False, forbid_entities=True,
                                   forbid_external=True)
    except DefusedXmlException as error:
        raise ValueError(f"XML entity declarations and external references are refused ({error})") from None


def parse_graph(data: bytes, name: str, fmt: str | None = None, *, base: str) -> tuple[Graph | None, list[Issue]]:
    """Parse RDF bytes: the suffix's (or given) format first, then the others.

    Args:
        data: the file's bytes.
        name: the file name (suffix, messages).
        fmt: a format that overrides the suffix.
        base: the base IRI relative IRIs resolve against (the glossary's namespace).

    Returns:
        ``(graph, issues)``; the graph is None when no parser could read the data, and
        the issue then names the file, the format tried first and, when known, the line.
    """
    try:
        candidates, declared = _candidates(data, name, fmt)
    except Exception as error:  # noqa: BLE001 - an unknown fmt is bad input like any other
        return None, [Issue("parse_error", str(error), name, severity="error")]
    first_error: tuple[Format, Exception] | None = None
    for candidate in candidates:
        try:
            graph = _parse_one(data, candidate, base)
        except Exception as error:  # noqa: BLE001 - rdflib's parsers raise many unrelated types
            first_error = first_error or (candidate, error)
            continue
        if first_error is None:
            return graph, []
        if len(graph):  # an empty parse after a failure is no evidence of the right format
            if not declared:  # a sniffing miss is no fault of the file
                return graph, []
            wanted = first_error[0].name
            return graph, [
                Issue("format_mismatch", f"not valid {wanted}; read as {candidate.name}", name, severity="warning")
            ]
    assert first_error is not None
    wanted, error = first_error
    reason = " ".join(str(error).split())[:300] or type(error).__name__
    return None, [
        Issue("parse_error", f"cannot parse as {wanted.name}: {reason}", name, _error_line(error), severity="error")
    ]


# -- reading the graph -------------------------------------------------------------------


def _typed(graph: Graph, cls: URIRef) -> set[Node]:
    """Nodes typed ``cls`` or a subclass of it declared in the graph (cycle-safe)."""
    classes = {cls}
    frontier = [cls]
    while frontier:
        for sub in graph.subjects(RDFS.subClassOf, frontier.pop()):
            if sub not in classes:
                classes.add(sub)
                frontier.append(sub)
    return {node for c in classes for node in graph.subjects(RDF.type, c)}


def _local_name(node: Node) -> str:
    """Fragment, else last non-empty path segment, else the whole IRI."""
    text = str(node)
    parts = urlsplit(text)
    if parts.fragment:
        return unquote(parts.fragment)
    segments = [s for s in parts.path.split("/") if s]
    if segments:
        return unquote(segments[-1].rpartition(":")[2] or segments[-1])
    return text.rpartition(":")[2] or text


def _own_local(node: Node, prefix: str) -> str | None:
    """The part of an IRI after ``prefix`` when it can serve as an id as it is."""
    text = str(node)
    if isinstance(node, URIRef) and text.startswith(prefix):
        local = text[len(prefix) :]
        if local and re.fullmatch(r"[\w.~-]+", local):
            return local
    return None


def _assign_ids(nodes: set[Node], prefix: str, default: str) -> dict[Node, tuple[str, str | None]]:
    """``node -> (id, uri to keep or None)``; our own URIs first so they keep their ids."""
    assigned: dict[Node, tuple[str, str | None]] = {}
    taken: set[str] = set()
    foreign = []
    for node in sorted(nodes, key=str):  # sorted: ids must not change between runs
        local = _own_local(node, prefix)
        if local is not None:
            assigned[node] = (local, None)
            taken.add(local)
        else:
            foreign.append(node)
    for node in foreign:
        base = slugify(_local_name(node)) if isinstance(node, URIRef) else default
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate)
        assigned[node] = (candidate, str(node) if isinstance(node, URIRef) else None)
    return assigned


def _literals(graph: Graph, node: Node, prop: URIRef) -> list[Literal]:
    return sorted(
        (o for o in graph.objects(node, prop) if isinstance(o, Literal) and str(o).strip()),
        key=lambda o: (o.language or "", str(o)),
    )


def _xl_literals(graph: Graph, node: Node, prop: URIRef) -> list[Literal]:
    forms = [graph.value(label, SKOSXL.literalForm) for label in graph.objects(node, prop)]
    return sorted(
        (f for f in forms if isinstance(f, Literal) and str(f).strip()), key=lambda o: (o.language or "", str(o))
    )


def _label(literal: Literal) -> Label:
    text = str(literal)
    return Label(text, literal.language or detect_lang(text))


def _labels(graph: Graph, node: Node) -> tuple[list[Label], list[Label], int]:
    """``(labels, hidden labels, prefLabels demoted)``; labels start with one prefLabel
    per language (languages sorted), then the altLabels."""

    def read(prop: URIRef, xl_prop: URIRef) -> list[Label]:
        plain = [_label(o) for o in _literals(graph, node, prop)]
        return plain + [l for l in (_label(o) for o in _xl_literals(graph, node, xl_prop)) if l not in plain]

    plain_alt = [_label(o) for o in _literals(graph, node, SKOS.altLabel)]
    pref: dict[str, str] = {}
    extra: list[Label] = []
    for label in read(SKOS.prefLabel, SKOSXL.prefLabel):  # plain SKOS wins over SKOS-XL
        if label.lang not in pref:
            pref[label.lang] = label.text
        elif pref[label.lang] != label.text:
            extra.append(label)
    shown = {Label(text, lang) for lang, text in pref.items()}
    alt = list(dict.fromkeys(l for l in extra + read(SKOS.altLabel, SKOSXL.altLabel) if l not in shown))
    hidden = list(dict.fromkeys(l for l in read(SKOS.hiddenLabel, SKOSXL.hiddenLabel) if l not in shown | set(alt)))
    labels = [Label(pref[lang], lang) for lang in sorted(pref)] + sorted(alt, key=lambda l: (l.lang, l.text))
    # A second prefLabel already given as an altLabel (as YSO's SKOS-XL forms are) loses nothing.
    return labels, hidden, sum(1 for l in extra if l not in plain_alt)


def _definitions(graph: Graph, node: Node) -> list[Definition]:
    found: set[tuple[str, str | None]] = set()
    for obj in graph.objects(node, SKOS.definition):
        # A definition may be a resource holding its text in rdf:value (as in SKOS-XL data).
        values = [obj] if isinstance(obj, Literal) else list(graph.objects(obj, RDF.value))
        for value in values:
            if isinstance(value, Literal) and str(value).strip():
                found.add((str(value), value.language))
    return [Definition(text, None, lang) for text, lang in sorted(found, key=lambda d: (d[1] or "", d[0]))]


def _title(graph: Graph, node: Node) -> str | None:
    for prop in (DCTERMS.title, DC.title, SKOS.prefLabel, RDFS.label):
        values = [o for o in graph.objects(node, prop) if isinstance(o, Literal) and str(o).strip()]
        if values:
            # English or untagged first: the title is shown in an English-language UI.
            values.sort(key=lambda o: (o.language not in (None, "en"), o.language or "", str(o)))
            return str(values[0])
    return None


def _sources(graph: Graph, node: Node, file_urls: dict[str, str]) -> list[Source]:
    """Sources from ``dcterms:source``: each ``file:line`` literal gets its file's page
    URL when the collections say which one it is (else the only URL); URLs left over
    become URL-only sources."""
    literals = sorted(str(o) for o in graph.objects(node, DCTERMS.source) if isinstance(o, Literal))
    urls = sorted(str(o) for o in graph.objects(node, DCTERMS.source) if isinstance(o, URIRef))
    sources: list[Source] = []
    used: set[str] = set()
    for text in literals:
        file, line = parse_source_literal(text)
        url = file_urls.get(file) if file_urls.get(file) in urls else (urls[0] if len(urls) == 1 else None)
        if url:
            used.add(url)
        sources.append(Source(file, line, url))
    sources.extend(Source(url, 0, url) for url in urls if url not in used)
    return sorted(sources, key=lambda s: (s.file, s.line, s.url or ""))


def _members(graph: Graph, node: Node) -> list[Node]:
    members = list(graph.objects(node, SKOS.member))
    for head in graph.objects(node, SKOS.memberList):
        seen: set[Node] = set()
        while head is not None and head != RDF.nil and head not in seen:  # a cyclic list must not hang
            seen.add(head)
            item = graph.value(head, RDF.first)
            if item is not None:
                members.append(item)
            head = graph.value(head, RDF.rest)
    return members


def read_skos(graph: Graph, name: str, namespace: str) -> SkosImport:
    """Concepts and collections of a parsed SKOS graph (see the module docstring).

    Args:
        graph: the parsed file.
        name: the file's name, for issues.
        namespace: the glossary's namespace.

    Returns:
        The import; issues say what was dropped or demoted.
    """
    result = SkosImport()
    own_scheme = scheme_uri(namespace)
    concept_nodes = _typed(graph, SKOS.Concept)
    collection_nodes = (_typed(graph, SKOS.Collection) | _typed(graph, SKOS.OrderedCollection)) - concept_nodes
    concept_ids = _assign_ids(concept_nodes, namespace, "concept")
    collection_ids = _assign_ids(collection_nodes, namespace + COLLECTION_PATH, "collection")
    if not concept_nodes:
        result.issues.append(Issue("no_concepts", "no skos:Concept in this file", name))

    file_urls: dict[str, str] = {}
    members: dict[Node, list[str]] = defaultdict(list)
    for node in sorted(collection_nodes, key=lambda n: collection_ids[n][0]):
        collection_id, uri = collection_ids[node]
        sources = _sources(graph, node, {})
        source = sources[0] if sources else None
        if source and source.url and source.file != source.url:
            file_urls.setdefault(source.file, source.url)
        result.collections.append(Collection(collection_id, _title(graph, node) or collection_id, source, uri))
        for member in _members(graph, node):
            if member in concept_nodes and collection_id not in members[member]:
                members[member].append(collection_id)

    dropped: Counter[str] = Counter()
    by_node: dict[Node, Concept] = {}
    for node in sorted(concept_nodes, key=lambda n: concept_ids[n][0]):
        concept_id, uri = concept_ids[node]
        labels, hidden, demoted = _labels(graph, node)
        if demoted:
            result.issues.append(
                Issue(
                    "multiple_pref_labels",
                    f"{concept_id!r} has more than one prefLabel in a language; the others are kept as altLabels",
                    name,
                    concepts=(concept_id,),
                )
            )
        schemes = sorted(
            {
                str(s)
                for p in (SKOS.inScheme, SKOS.topConceptOf)
                for s in graph.objects(node, p)
                if isinstance(s, URIRef)
            }
        )
        sources = _sources(graph, node, file_urls)
        definitions = _definitions(graph, node)
        if len(sources) == 1:  # the definitions can only have come from there
            definitions = [Definition(d.text, sources[0], d.lang) for d in definitions]
        by_node[node] = Concept(
            id=concept_id,
            labels=labels,
            definitions=definitions,
            sources=sources,
            collections=sorted(members.get(node, [])),
            uri=uri,
            hidden_labels=hidden,
            schemes=[] if schemes == [own_scheme] else schemes,
        )

    broader: dict[Node, set[str]] = defaultdict(set)
    related: dict[Node, set[str]] = defaultdict(set)
    relations = [(s, o, "broader", broader) for s, o in graph.subject_objects(SKOS.broader)]
    relations += [(o, s, "broader", broader) for s, o in graph.subject_objects(SKOS.narrower)]
    relations += [(s, o, "related", related) for s, o in graph.subject_objects(SKOS.related)]
    # kgv:prerequisite is the author's word (curated) unless the file also says it was inferred.
    prerequisites: dict[Node, set[str]] = defaultdict(set)
    inferred: dict[Node, set[str]] = defaultdict(set)
    inferred_pairs = set(graph.subject_objects(KGV.inferredPrerequisite))
    relations += [(s, o, "prerequisite", inferred if (s, o) in inferred_pairs else prerequisites)
                  for s, o in graph.subject_objects(KGV.prerequisite)]
    relations += [(s, o, "prerequisite", inferred) for s, o in inferred_pairs]
    for subject, target, kind, into in relations:
        if subject not in by_node:
            continue
        if target not in by_node:
            dropped[f"{kind} links to resources that are not concepts of this file"] += 1
        elif target == subject:
            dropped[f"{kind} links of a concept to itself"] += 1
        else:
            into[subject].add(concept_ids[target][0])
    for node, concept in by_node.items():
        concept.broader = sorted(broader[node])
        concept.links = [Link(target, "link") for target in sorted(related[node])]
        concept.prerequisites = sorted(prerequisites[node])
        concept.inferred_prerequisites = sorted(inferred[node])
    for what, count in sorted(dropped.items()):
        result.issues.append(Issue("dropped_relations", f"{count} skos:{what} were dropped", name, severity="info"))

    result.concepts = list(by_node.values())
    result.scheme_title = _scheme_title(graph, result.concepts, own_scheme)
    return result


def _scheme_title(graph: Graph, concepts: list[Concept], own_scheme: str) -> str | None:
    """Title of the scheme most concepts are in (ours when they name none)."""
    counts = Counter(s for c in concepts for s in (c.schemes or [own_scheme]))
    schemes = [s for s, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    schemes += sorted(str(s) for s in graph.subjects(RDF.type, SKOS.ConceptScheme) if isinstance(s, URIRef))
    for scheme in schemes:
        title = _title(graph, URIRef(scheme))
        if title:
            return title
    return None
