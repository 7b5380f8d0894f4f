"""A small client for any SPARQL 1.1 store over the standard HTTP protocols (stdlib only).

Three protocols, three endpoints (``Endpoints``):

* Graph Store HTTP Protocol: ``PUT``/``GET``/``DELETE`` of one named graph by indirect
  identification (``?graph=IRI``), or of the default graph (``?default``);
* Query: ``POST`` of ``query=`` (URL-encoded), answers as SPARQL JSON results;
* Update: ``POST`` of ``update=`` (URL-encoded).

The URL users give (``kg ingest --to URL``, ``kg serve --from URL``) is the store's base;
``LAYOUTS`` says where each family of stores puts the three endpoints below it, and
``KG_SPARQL_QUERY_URL``, ``KG_SPARQL_UPDATE_URL``, ``KG_SPARQL_GSP_URL`` override any of
them. URL-encoded POST is used for queries and updates because every store of the table
accepts it. Every failure (connection refused, timeout, HTTP 4xx/5xx, an answer that is
not what the protocol says) is a ``RemoteStoreError`` that names the URL and what to check.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from kg.errors import ConfigurationError, RemoteStoreError
from kg.settings import Settings

#: Endpoints below the base URL per store family: (query, update, graph store).
#: Oxigraph: ``oxigraph serve``. Fuseki: the base is the dataset (``http://host:3030/ds``).
#: GraphDB (RDF4J's REST API): the base is the repository (``http://host:7200/repositories/ID``).
#: Virtuoso: the base is the server; its Graph Store endpoint with authentication is
#: ``/sparql-graph-crud-auth`` (used when a user is set), without it ``/sparql-graph-crud``.
LAYOUTS: dict[str, tuple[str, str, str]] = {
    "oxigraph": ("/query", "/update", "/store"),
    "fuseki": ("/sparql", "/update", "/data"),
    "graphdb": ("", "/statements", "/rdf-graphs/service"),
    "virtuoso": ("/sparql", "/sparql", "/sparql-graph-crud"),
}

NTRIPLES = "application/n-triples"
_RESULTS_JSON = "application/sparql-results+json"
_BODY_CHARS = 300  # of an error answer, quoted in the message


@dataclass(frozen=True)
class Endpoints:
    """Where the three protocols are served."""

    query: str
    update: str
    gsp: str

    @classmethod
    def from_url(cls, url: str | None, settings: Settings) -> Endpoints:
        """The endpoints of the store at ``url`` (see ``LAYOUTS``), with the settings' overrides.

        Args:
            url: the store's base URL; may be None when all three endpoints are set explicitly.
            settings: ``sparql_layout`` and the ``sparql_*_url`` overrides.

        Raises:
            ConfigurationError: no URL and not every endpoint set, or a URL that is not http(s).

        >>> e = Endpoints.from_url("http://127.0.0.1:7878/", Settings())
        >>> e.query, e.update, e.gsp
        ('http://127.0.0.1:7878/query', 'http://127.0.0.1:7878/update', 'http://127.0.0.1:7878/store')
        >>> Endpoints.from_url("http://h:3030/ds", Settings(sparql_layout="fuseki")).gsp
        'http://h:3030/ds/data'
        >>> Endpoints.from_url("http://h:7200/repositories/kg", Settings(sparql_layout="graphdb")).query
        'http://h:7200/repositories/kg'
        """
        explicit = (settings.sparql_query_url, settings.sparql_update_url, settings.sparql_gsp_url)
        if not url and not all(explicit):
            raise ConfigurationError("no SPARQL store URL: give one (--to URL / --from URL) or set all of "
                                     "KG_SPARQL_QUERY_URL, KG_SPARQL_UPDATE_URL and KG_SPARQL_GSP_URL")
        derived: list[str] = ["", "", ""]
        if url:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise ConfigurationError(f"{url!r} is not an http(s) URL of a SPARQL store")
            base = url.rstrip("/")
            query, update, gsp = LAYOUTS[settings.sparql_layout]
            if settings.sparql_layout == "virtuoso" and settings.sparql_user:
                gsp += "-auth"
            derived = [base + query, base + update, base + gsp]
        return cls(*(mine or theirs for mine, theirs in zip(explicit, derived, strict=True)))


class SparqlStore:
    """One SPARQL 1.1 store: its endpoints, credentials and time limit.

    Args:
        endpoints: where the protocols are served.
        timeout: seconds each request may take.
        user, password: for the store's HTTP Basic or Digest authentication (whichever it asks for).
    """

    def __init__(self, endpoints: Endpoints, timeout: float = 60.0, user: str | None = None,
                 password: str | None = None) -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        handlers: list[urllib.request.BaseHandler] = []
        if user:
            passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            for endpoint in {endpoints.query, endpoints.update, endpoints.gsp}:
                passwords.add_password(None, endpoint, user, password or "")
            handlers += [urllib.request.HTTPBasicAuthHandler(passwords),
                         urllib.request.HTTPDigestAuthHandler(passwords)]
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def from_settings(cls, url: str | None, settings: Settings) -> SparqlStore:
        """The store at ``url`` as the settings describe it (layout, overrides, credentials, timeout)."""
        password = settings.sparql_password.get_secret_value() if settings.sparql_password else None
        return cls(Endpoints.from_url(url, settings), settings.sparql_timeout, settings.sparql_user, password)

    def __repr__(self) -> str:
        return f"SparqlStore({self.endpoints.query!r})"

    # -- Graph Store HTTP Protocol ----------------------------------------------------------

    def put_graph(self, graph: str | None, data: bytes, content_type: str = NTRIPLES) -> None:
        """Replace a named graph (``graph``) or the default graph (None) with ``data``, atomically."""
        self._request("PUT", _graph_url(self.endpoints.gsp, graph), data, {"Content-Type": content_type})

    def get_graph(self, graph: str | None, accept: str = NTRIPLES) -> bytes | None:
        """The content of a named graph (or of the default graph); None when the store has no such graph."""
        return self._request("GET", _graph_url(self.endpoints.gsp, graph), None, {"Accept": accept},
                             missing_ok=True)

    def delete_graph(self, graph: str | None) -> bool:
        """Remove a named graph (or empty the default one); False when there was none."""
        return self._request("DELETE", _graph_url(self.endpoints.gsp, graph), None, {},
                             missing_ok=True) is not None

    # -- Query and Update -----------------------------------------------------------------

    def select(self, query: str) -> list[dict[str, str]]:
        """Rows of a SELECT query, each variable bound to the value of its term (unbound ones left out)."""
        answer = self._query(query)
        try:
            rows = answer["results"]["bindings"]
            return [{name: term["value"] for name, term in row.items()} for row in rows]
        except (KeyError, TypeError, AttributeError) as error:
            raise RemoteStoreError(f"{self.endpoints.query} answered a SELECT without results ({error!r}): is it "
                                   "a SPARQL query endpoint? Check KG_SPARQL_LAYOUT or KG_SPARQL_QUERY_URL",
                                   url=self.endpoints.query) from None

    def ask(self, query: str) -> bool:
        """The answer of an ASK query."""
        answer = self._query(query)
        if not isinstance(answer, dict) or not isinstance(answer.get("boolean"), bool):
            raise RemoteStoreError(f"{self.endpoints.query} answered an ASK without a boolean: is it a SPARQL "
                                   "query endpoint? Check KG_SPARQL_LAYOUT or KG_SPARQL_QUERY_URL",
                                   url=self.endpoints.query)
        return answer["boolean"]

    def update(self, update: str) -> None:
        """Run a SPARQL 1.1 Update request."""
        self._request("POST", self.endpoints.update, urlencode({"update": update}).encode("utf-8"),
                      {"Content-Type": "application/x-www-form-urlencoded"})

    def check(self) -> None:
        """Ask the query endpoint something trivial: raises ``RemoteStoreError`` when it does not answer."""
        self.ask("ASK {}")

    def _query(self, query: str) -> Any:
        data = self._request("POST", self.endpoints.query, urlencode({"query": query}).encode("utf-8"),
                             {"Content-Type": "application/x-www-form-urlencoded", "Accept": _RESULTS_JSON})
        try:
            return json.loads(data or b"")
        except ValueError:
            raise RemoteStoreError(f"{self.endpoints.query} did not answer SPARQL JSON results: is it a SPARQL "
                                   "query endpoint? Check KG_SPARQL_LAYOUT or KG_SPARQL_QUERY_URL",
                                   url=self.endpoints.query) from None

    # -- HTTP ------------------------------------------------------------------------------

    def _request(self, method: str, url: str, data: bytes | None, headers: dict[str, str],
                 missing_ok: bool = False) -> bytes | None:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if missing_ok and error.code == 404:
                return None
            body = _excerpt(error)
            raise RemoteStoreError(
                f"{method} {url} failed: HTTP {error.code} {error.reason}{': ' + body if body else ''}; "
                f"{_hint(error.code, method)}", url=url, status=error.code) from None
        except TimeoutError:  # socket.timeout is TimeoutError
            raise RemoteStoreError(f"{method} {url}: no answer within {self.timeout:g} s; is the store overloaded? "
                                   "(KG_SPARQL_TIMEOUT sets the limit)", url=url) from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, TimeoutError):
                raise RemoteStoreError(f"{method} {url}: no answer within {self.timeout:g} s; is the store "
                                       "overloaded? (KG_SPARQL_TIMEOUT sets the limit)", url=url) from None
            raise RemoteStoreError(f"cannot reach the SPARQL store at {url} ({reason}): is it running, and is the "
                                   "URL right?", url=url) from None
        except OSError as error:  # a connection reset half-way, and the like
            raise RemoteStoreError(f"{method} {url} failed ({error}): is the SPARQL store running?",
                                   url=url) from None


def _graph_url(gsp: str, graph: str | None) -> str:
    """The Graph Store URL of a named graph (``?graph=``) or of the default graph (``?default``).

    >>> _graph_url("http://h/store", "https://example.org/g/#x")
    'http://h/store?graph=https%3A%2F%2Fexample.org%2Fg%2F%23x'
    >>> _graph_url("http://h/store", None)
    'http://h/store?default'
    """
    separator = "&" if "?" in gsp else "?"
    return gsp + separator + (urlencode({"graph": graph}) if graph is not None else "default")


def _excerpt(error: urllib.error.HTTPError) -> str:
    try:
        text = error.read(4096).decode("utf-8", "replace")
    except OSError:
        return ""
    return " ".join(text.split())[:_BODY_CHARS]


def _hint(status: int, method: str) -> str:
    if status in (401, 403):
        return "the store wants credentials or refuses this user: set KG_SPARQL_USER and KG_SPARQL_PASSWORD"
    if status in (404, 405) and method in ("PUT", "POST", "DELETE"):
        return ("the endpoint does not take this request: is the store writable (Fuseki: --update), and are "
                "the endpoints right (KG_SPARQL_LAYOUT, KG_SPARQL_*_URL)?")
    if status in (404, 405):
        return "check the endpoints (KG_SPARQL_LAYOUT, KG_SPARQL_*_URL)"
    if status == 400 or status == 415:
        return "the store did not accept the request as sent"
    return "see the store's log"
