"""Read-only SPARQL 1.1 over the glossary's SKOS graph, with time and size limits.

SELECT, ASK, CONSTRUCT and DESCRIBE are answered from the in-memory graph of the
served store version. Updates, federated ``SERVICE`` calls and ``FROM`` / ``FROM
NAMED`` clauses (which would make rdflib fetch URLs) are refused before anything
runs. A query runs in a worker thread: past ``timeout`` seconds the caller gets a
``QueryTimeoutError`` (the thread finishes on its own; at most ``MAX_RUNNING``
queries run at once, so abandoned ones cannot pile up); past ``max_rows`` rows the
answer is refused rather than cut silently.

Result formats follow the SPARQL 1.1 Protocol: SELECT and ASK as SPARQL JSON
(default), XML, CSV or TSV; CONSTRUCT and DESCRIBE as any RDF format of
``kg.formats`` (Turtle by default).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Graph, URIRef

from kg.errors import BadParameterError, QueryError, QueryLimitError, QueryRefusedError
from kg.formats import negotiate, resolve_format

MAX_QUERY_CHARS = 20_000
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_ROWS = 10_000
MAX_RUNNING = 2


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

_SLOTS = threading.BoundedSemaphore(MAX_RUNNING)
_POOL = ThreadPoolExecutor(max_workers=MAX_RUNNING + 2, thread_name_prefix="sparql")


@dataclass
class SparqlAnswer:
    data: bytes
    media_type: str
    kind: str  # SELECT | ASK | CONSTRUCT | DESCRIBE
    rows: int | None = None


def parse(text: str):
    """The algebra of a read-only query.

    Raises:
        QueryError: empty, too long or not SPARQL.
        QueryRefusedError: an update, ``SERVICE``, or a ``FROM`` / ``FROM NAMED`` dataset.
    """
    from pyparsing import ParseException
    from rdflib.plugins.sparql import parser
    from rdflib.plugins.sparql.algebra import translateQuery

    if not text or not text.strip():
        raise QueryError("query is empty", parameter="query")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"query is longer than {MAX_QUERY_CHARS} characters", parameter="query")
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
    return query


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


def run(graph: Graph, text: str, accept: str | None = None, fmt: str | None = None,
        timeout: float = DEFAULT_TIMEOUT, max_rows: int = DEFAULT_MAX_ROWS) -> SparqlAnswer:
    """Answer ``text`` over ``graph`` in the format asked for (``fmt`` over ``accept``).

    Raises:
        QueryError, QueryRefusedError: see ``parse``.
        QueryLimitError: over ``timeout`` seconds or ``max_rows`` rows, or too many
            queries running.
        BadParameterError: a format that does not fit the query's kind.
    """
    query = parse(text)
    kind = query.algebra.name.replace("Query", "").upper()  # SelectQuery -> SELECT
    if not _SLOTS.acquire(timeout=min(timeout, 1.0)):
        raise QueryLimitError(f"{MAX_RUNNING} queries are already running; try again", limit="running")
    deadline = time.monotonic() + timeout

    def evaluate():
        try:
            result = graph.query(query)
            if result.type in ("SELECT",):
                rows = []
                for row in result:
                    rows.append(tuple(row))
                    if len(rows) > max_rows:
                        raise QueryLimitError(f"more than {max_rows} result rows; add a LIMIT", limit="rows",
                                              max_rows=max_rows)
                    if len(rows) % 256 == 0 and time.monotonic() > deadline:
                        raise QueryLimitError(f"query ran longer than {timeout:g} s", limit="time")
                return result.vars, rows
            if result.type == "ASK":
                return None, bool(result.askAnswer)
            triples = Graph(namespace_manager=graph.namespace_manager)
            for n, triple in enumerate(result.graph, 1):
                triples.add(triple)
                if n > max_rows:
                    raise QueryLimitError(f"more than {max_rows} triples; add a LIMIT", limit="rows",
                                          max_rows=max_rows)
            return None, triples
        finally:
            _SLOTS.release()

    future = _POOL.submit(evaluate)
    try:
        variables, value = future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        raise QueryLimitError(f"query ran longer than {timeout:g} s", limit="time") from None
    if kind in ("SELECT", "ASK"):
        media_type = _result_type(accept, fmt)
        if kind == "ASK":
            return SparqlAnswer(_boolean(value, media_type), media_type, kind)
        return SparqlAnswer(_bindings(variables, value, media_type), media_type, kind, len(value))
    rdf = resolve_format(fmt) if fmt else (negotiate(accept) or resolve_format("turtle"))
    return SparqlAnswer(value.serialize(format=rdf.rdflib, encoding="utf-8"), rdf.media_type, kind, len(value))


def _result_type(accept: str | None, fmt: str | None) -> str:
    if fmt:
        key = fmt.strip().lower()
        media_type = _RESULT_ALIASES.get(key, key)
        if media_type not in RESULT_TYPES:
            raise BadParameterError(f"format {fmt!r} is not a SPARQL results format; use json, xml, csv or tsv",
                                    parameter="format")
        return media_type
    for part in (accept or "").split(","):
        media_type = part.split(";")[0].strip().lower()
        media_type = _RESULT_ALIASES.get(media_type, media_type)
        if media_type in RESULT_TYPES:
            return media_type
    return "application/sparql-results+json"


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

