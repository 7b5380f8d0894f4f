"""Read-only SPARQL 1.1 over the glossary's SKOS graph: parsing, evaluation and result formats.

SELECT, ASK, CONSTRUCT and DESCRIBE are answered from the SKOS graph of the served
store version. Updates, federated ``SERVICE`` calls and ``FROM`` / ``FROM NAMED``
clauses (which would make rdflib fetch URLs) are refused before anything runs; past
``max_rows`` rows or ``max_bytes`` of answer the query is refused rather than cut silently.

This module evaluates in the calling thread, with rdflib: it is what a query worker of
``kg.rdf.sparql_workers`` runs. The server never calls it directly, because rdflib's parser
is not thread-safe and a query cannot be stopped from outside once it runs (a backtracking
``regex`` holds the GIL, a sorted cartesian product grows without bound): ``Glossary.sparql``
sends each query to a worker process that is killed when its time is up.

Result formats follow the SPARQL 1.1 Protocol: SELECT and ASK as SPARQL JSON
(default), XML, CSV or TSV; CONSTRUCT and DESCRIBE as any RDF format of
``kg.rdf.formats`` (Turtle by default). ``Accept`` q-values are honoured.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, URIRef

from kg.errors import BadParameterError, QueryError, QueryLimitError, QueryRefusedError
from kg.rdf.formats import best_offer, negotiate, resolve_format

MAX_QUERY_CHARS = 20_000
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


#: Result media types, in the server's order of preference.
RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
_RESULT_ALIASES = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                   "csv": "text/csv", "tsv": "text/tab-separated-values",
                   "application/json": "application/sparql-results+json"}
#: Each result type with the other media types that ask for it (``application/json``).
_RESULT_OFFERS = [[media_type, *(alias for alias, target in _RESULT_ALIASES.items() if target == media_type
                                 and "/" in alias)] for media_type in RESULT_TYPES]


@dataclass
class SparqlAnswer:
    data: bytes
    media_type: str
    kind: str  # SELECT | ASK | CONSTRUCT | DESCRIBE
    rows: int | None = None


def check_text(text: str) -> None:
    """Refuse what needs no parser: an empty or too long query (``QueryError``)."""
    if not text or not text.strip():
        raise QueryError("query is empty", parameter="query")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is longer than {MAX_QUERY_CHARS} characters", parameter="query")


def parse(text: str):
    """The algebra of a read-only query.

    Raises:
        QueryError: empty, too long or not SPARQL.
        QueryRefusedError: an update, ``SERVICE``, or a ``FROM`` / ``FROM NAMED`` dataset.
    """
    from pyparsing import ParseException
    from rdflib.plugins.sparql import parser
    from rdflib.plugins.sparql.algebra import translateQuery

    check_text(text)
    try:
        tree = parser.parseQuery(text)
    except ParseException as error:
        try:
            parser.parseUpdate(text)
        except ParseException:
            raise QueryError(f"not a SPARQL query: {error.msg} (line {error.lineno}, column {error.col})",
                             parameter="query", line=error.lineno, column=error.col) from None
        raise QueryRefusedError("this endpoint is read-only: SPARQL updates are refused", parameter="query") \
            from None
    if isinstance(tree[1].get("datasetClause"), list):  # CompValue.get answers the key name when absent
        raise QueryRefusedError("FROM and FROM NAMED are refused: the endpoint answers from its own graph only",
                                parameter="query")
    try:
        query = translateQuery(tree)
    except Exception as error:  # rdflib raises plain exceptions for semantic errors
        raise QueryError(f"cannot evaluate this query: {error}", parameter="query") from None
    if _uses_service(query.algebra):
        raise QueryRefusedError("federated queries (SERVICE) are refused", parameter="query")
    _fix_algebra(query.algebra)
    return query


def _fix_algebra(algebra) -> None:
    """Two valid queries rdflib cannot evaluate as it translates them: a LIMIT or OFFSET past
    ``sys.maxsize`` (no limit, then) and ``CONSTRUCT WHERE`` with a solution modifier (its
    template, the pattern's triples, is looked for right under the projection)."""
    stack = [algebra]
    while stack:
        node = stack.pop()
        if getattr(node, "name", None) == "Slice":
            if isinstance(node.get("length"), int) and node["length"] > sys.maxsize:
                node["length"] = None
            if isinstance(node.get("start"), int) and node["start"] > sys.maxsize:
                node["start"] = sys.maxsize
        if isinstance(node, dict):
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    if algebra.name == "ConstructQuery" and not algebra.get("template"):
        node = algebra.p
        while getattr(node, "name", None) != "BGP" and isinstance(node, dict) and "p" in node:
            node = node["p"]
        if getattr(node, "name", None) == "BGP":
            algebra["template"] = node.triples


def _uses_service(node: Any) -> bool:
    stack, seen = [node], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if getattr(item, "name", None) == "ServiceGraphPattern":
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def evaluate(graph: Graph, text: str, accept: str | None = None, fmt: str | None = None,
             timeout: float = DEFAULT_TIMEOUT, max_rows: int = DEFAULT_MAX_ROWS,
             max_bytes: int = DEFAULT_MAX_BYTES) -> SparqlAnswer:
    """Answer ``text`` over ``graph`` in the format asked for (``fmt`` over ``accept``), here
    and now: only a process that can be killed should call it (see the module's docstring).

    ``timeout`` is checked between result rows, so that a query that yields rows slowly
    ends with a clear error; one that never yields is stopped by its worker being killed.

    Raises:
        QueryError, QueryRefusedError: see ``parse``; also a query the engine cannot evaluate.
        QueryLimitError: over ``timeout`` seconds, ``max_rows`` rows or ``max_bytes`` of answer.
        BadParameterError: a format that does not fit the query's kind.
    """
    deadline = time.monotonic() + timeout
    query = parse(text)
    kind = query.algebra.name.replace("Query", "").upper()  # SelectQuery -> SELECT
    # The format is checked before the work, so that a wrong one costs nothing.
    media_type = _result_type(accept, fmt) if kind in ("SELECT", "ASK") else None
    rdf = None if media_type else (resolve_format(fmt) if fmt else (negotiate(accept) or resolve_format("turtle")))
    try:
        result = graph.query(query)
        if kind == "SELECT":
            rows = []
            for row in result:
                rows.append(tuple(row))
                if len(rows) > max_rows:
                    raise QueryLimitError(f"more than {max_rows} result rows; add a LIMIT", limit="rows",
                                          max_rows=max_rows)
                if len(rows) % 256 == 0 and time.monotonic() > deadline:
                    raise QueryLimitError(f"query ran longer than {timeout:g} s", limit="time")
            answer = SparqlAnswer(_bindings(result.vars, rows, media_type), media_type, kind, len(rows))
        elif kind == "ASK":
            answer = SparqlAnswer(_boolean(bool(result.askAnswer), media_type), media_type, kind)
        else:
            triples = Graph(namespace_manager=graph.namespace_manager)
            for n, triple in enumerate(result.graph, 1):
                triples.add(triple)
                if n > max_rows:
                    raise QueryLimitError(f"more than {max_rows} triples; add a LIMIT", limit="rows",
                                          max_rows=max_rows)
            answer = SparqlAnswer(triples.serialize(format=rdf.rdflib, encoding="utf-8"), rdf.media_type, kind,
                                  len(triples))
    except (QueryLimitError, MemoryError):
        raise
    except RecursionError:
        raise QueryError("query is nested too deeply to evaluate", parameter="query") from None
    except Exception as error:  # rdflib raises plain exceptions for queries it cannot evaluate
        raise QueryError(f"cannot evaluate this query: {type(error).__name__}: {error}"[:500],
                         parameter="query") from None
    if len(answer.data) > max_bytes:
        raise QueryLimitError(f"answer larger than {max_bytes} bytes; add a LIMIT or select less",
                              limit="size", max_bytes=max_bytes)
    return answer


def _result_type(accept: str | None, fmt: str | None) -> str:
    if fmt:
        key = fmt.strip().lower()
        media_type = _RESULT_ALIASES.get(key, key)
        if media_type not in RESULT_TYPES:
            raise BadParameterError(f"format {fmt!r} is not a SPARQL results format; use json, xml, csv or tsv",
                                    parameter="format")
        return media_type
    chosen = best_offer(accept, _RESULT_OFFERS)
    return "application/sparql-results+json" if chosen is None else _RESULT_OFFERS[chosen][0]


def _term_json(term) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    data = {"type": "literal", "value": str(term)}
    if term.language:
        data["xml:lang"] = term.language
    elif term.datatype:
        data["datatype"] = str(term.datatype)
    return data


def _term_n3(term) -> str:
    return "" if term is None else term.n3()


def _bindings(variables: Iterable, rows: list[tuple], media_type: str) -> bytes:
    import csv
    import io
    import json
    from xml.sax.saxutils import escape, quoteattr

    names = [str(v) for v in variables]
    if media_type == "application/sparql-results+json":
        return json.dumps({
            "head": {"vars": names},
            "results": {"bindings": [{n: _term_json(t) for n, t in zip(names, row, strict=False) if t is not None}
                                     for row in rows]},
        }, ensure_ascii=False).encode("utf-8")
    if media_type == "text/csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(names)
        writer.writerows(["" if t is None else str(t) for t in row] for row in rows)
        return out.getvalue().encode("utf-8")
    if media_type == "text/tab-separated-values":
        lines = ["\t".join("?" + n for n in names)]
        lines += ["\t".join(_term_n3(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    parts += [f"<variable name={quoteattr(n)}/>" for n in names]
    parts.append("</head><results>")
    for row in rows:
        parts.append("<result>")
        for name, term in zip(names, row, strict=False):
            if term is None:
                continue
            if isinstance(term, URIRef):
                value = f"<uri>{escape(str(term))}</uri>"
            elif isinstance(term, BNode):
                value = f"<bnode>{escape(str(term))}</bnode>"
            else:
                attrs = f" xml:lang={quoteattr(term.language)}" if term.language else (
                    f" datatype={quoteattr(str(term.datatype))}" if term.datatype else "")
                value = f"<literal{attrs}>{escape(str(term))}</literal>"
            parts.append(f"<binding name={quoteattr(name)}>{value}</binding>")
        parts.append("</result>")
    parts.append("</results></sparql>")
    return "".join(parts).encode("utf-8")


def _boolean(value: bool, media_type: str) -> bytes:
    import json

    if media_type == "application/sparql-results+json":
        return json.dumps({"head": {}, "boolean": value}).encode("utf-8")
    if media_type == "application/sparql-results+xml":
        return (f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
                f"<boolean>{str(value).lower()}</boolean></sparql>").encode()
    return f"_askResult\n{str(value).lower()}\n".encode()

