"""RDF formats in one registry table: names, aliases, media types, file suffixes, negotiation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kg.errors import BadParameterError

if TYPE_CHECKING:
    import rdflib


@dataclass(frozen=True)
class Format:
    """One RDF syntax as rdflib knows it.

    ``name`` is the canonical name (what ``?format=`` documents), ``rdflib`` the
    plugin name given to ``Graph.parse``/``Graph.serialize``, ``media_type`` the
    one we answer with; ``aliases`` and ``media_types`` are also accepted.
    ``export`` is False for syntaxes we read but never write.
    """

    name: str
    rdflib: str
    media_type: str
    aliases: tuple[str, ...] = ()
    media_types: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    export: bool = True

    @property
    def all_media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.media_types)


#: The table that drives ``?format=``, ``Accept`` negotiation, export and SKOS import.
#: Order is the server's preference when a client accepts several equally.
FORMATS: tuple[Format, ...] = (
    Format("turtle", "turtle", "text/turtle", ("ttl",), ("application/x-turtle",), (".ttl",)),
    Format("xml", "xml", "application/rdf+xml", ("rdf", "rdfxml", "rdf/xml", "rdf+xml"), (), (".rdf", ".owl", ".xml")),
    Format("json-ld", "json-ld", "application/ld+json", ("jsonld", "json"), (), (".jsonld", ".json-ld", ".json")),
    Format("nt", "nt", "application/n-triples", ("ntriples", "n-triples"), (), (".nt",)),
    # N3 is read (SKOS files in the wild use the suffix for plain Turtle) but not offered for export.
    Format("n3", "n3", "text/n3", ("notation3",), ("text/rdf+n3",), (".n3",), export=False),
)

EXPORT_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.export)


def _lookup(value: str, formats: tuple[Format, ...]) -> Format | None:
    key = value.split(";", 1)[0].strip().lower()  # media types may carry parameters
    for fmt in formats:
        if key == fmt.name or key in fmt.aliases or key in fmt.all_media_types:
            return fmt
    return None


def resolve_format(value: str | Format | None, *, for_export: bool = True) -> Format:
    """The format named by a name, alias or media type (case-insensitive).

    Args:
        value: ``turtle``, ``ttl``, ``text/turtle``... or a ``Format``.
        for_export: only formats we can write (the ``format`` parameter of export).

    Returns:
        The ``Format``.

    Raises:
        BadParameterError: unknown format; names the parameter ``format`` and the valid names.

    >>> resolve_format("ttl").name, resolve_format("application/ld+json").name
    ('turtle', 'json-ld')
    >>> resolve_format("TEXT/TURTLE; charset=utf-8").name
    'turtle'
    """
    if isinstance(value, Format):
        return value
    formats = EXPORT_FORMATS if for_export else FORMATS
    fmt = _lookup(value, formats) if value else None
    if fmt is None:
        valid = [f.name for f in formats]
        raise BadParameterError(
            f"unknown format {value!r}; use one of {', '.join(valid)}", parameter="format", value=value, valid=valid
        )
    return fmt


def guess_format(filename: str) -> Format | None:
    """The format a file name's suffix suggests (import formats included).

    Args:
        filename: a file name or path.

    Returns:
        The ``Format``, or None for an unknown suffix.

    >>> guess_format("yso.TTL").name, guess_format("a/b.owl").name, guess_format("x.n3").name
    ('turtle', 'xml', 'n3')
    >>> guess_format("notes.md") is None
    True
    """
    name = filename.lower()
    for fmt in FORMATS:
        if any(name.endswith(suffix) for suffix in fmt.suffixes):
            return fmt
    return None


def _media_ranges(header: str) -> list[tuple[str, float, int]]:
    """``(range, q, position)`` of each media range of an Accept header; bad parts are skipped."""
    ranges = []
    for position, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
        q = 1.0
        for param in pieces[1:]:
            key, _, val = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(val), 0.0), 1.0)
                except ValueError:
                    q = -1.0  # unreadable weight: ignore the range rather than guess
        if q >= 0:
            ranges.append((media, q, position))
    return ranges


def _specificity(media_range: str, media_type: str) -> int:
    """2 for an exact match, 1 for ``type/*``, 0 for ``*/*``, -1 for no match."""
    if media_range == media_type:
        return 2
    major, _, minor = media_range.partition("/")
    if minor == "*" and major == "*":
        return 0
    if minor == "*" and media_type.startswith(major + "/"):
        return 1
    return -1


def negotiate(accept: str | None) -> Format | None:
    """The export format an ``Accept`` header prefers, honouring q-values.

    The most specific matching range gives a format its weight (RFC 9110 §12.5.1);
    ties go to the more specific match, then to the client's order, then to ours.

    Args:
        accept: the header value; None or empty means the client did not say.

    Returns:
        The best acceptable format, or None when the header accepts none of them
        (the caller answers with its default or 406).

    >>> negotiate("application/rdf+xml;q=0.5, text/turtle;q=0.9").name
    'turtle'
    >>> negotiate("application/ld+json, */*;q=0.1").name
    'json-ld'
    >>> negotiate("text/html") is None, negotiate("text/turtle;q=0") is None
    (True, True)
    """
    index = best_offer(accept, [fmt.all_media_types for fmt in EXPORT_FORMATS])
    return None if index is None else EXPORT_FORMATS[index]


def best_offer(accept: str | None, offers: Sequence[Sequence[str]]) -> int | None:
    """Which of ``offers`` (each a list of media types, in the server's order of preference)
    an ``Accept`` header prefers, honouring q-values, as in ``negotiate``.

    >>> best_offer("text/csv;q=0.5, application/sparql-results+xml", [["application/json"], ["text/csv"],
    ...            ["application/sparql-results+xml"]])
    2
    >>> best_offer("text/csv;q=0", [["text/csv"]]) is None
    True
    """
    if not accept:
        return None
    ranges = _media_ranges(accept)
    best: tuple[float, int, int, int] | None = None
    chosen: int | None = None
    for order, media_types in enumerate(offers):
        # Over all the offer's media types: text/turtle;q=0 also refuses application/x-turtle.
        matches = [(_specificity(r, m), q, pos) for m in media_types for r, q, pos in ranges]
        matches = [m for m in matches if m[0] >= 0]
        if not matches:
            continue
        specificity, q, position = max(matches, key=lambda m: (m[0], m[1]))  # the most specific range decides
        if q <= 0:
            continue
        key = (q, specificity, -position, -order)
        if best is None or key > best:
            best, chosen = key, order
    return chosen


def _jsonld_context(graph: rdflib.Graph) -> dict[str, str]:
    """Prefixes bound in the graph that its IRIs use: an inline context, so that the
    JSON-LD is compact and never needs a remote context to be read back."""
    from rdflib import URIRef

    used: set[str] = set()
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef):
                text = str(term)
                cut = max(text.rfind("#"), text.rfind("/"))
                if cut > 0:
                    used.add(text[: cut + 1])
    return {prefix: str(ns) for prefix, ns in graph.namespaces() if prefix and prefix != "xml" and str(ns) in used}


def serialize(graph: rdflib.Graph, fmt: str | Format) -> tuple[bytes, str]:
    """Serialise a graph in an export format.

    Args:
        graph: any rdflib graph.
        fmt: a format name, alias, media type or ``Format``.

    Returns:
        ``(data, media_type)``; the data is UTF-8.

    Raises:
        BadParameterError: unknown format.
    """
    fmt = resolve_format(fmt)
    options = {"context": _jsonld_context(graph)} if fmt.name == "json-ld" else {}
    data = graph.serialize(format=fmt.rdflib, encoding="utf-8", **options)
    return data, fmt.media_type
