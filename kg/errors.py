"""One exception tree for the whole product; the HTTP layer maps it in one place."""

from __future__ import annotations

from typing import Any


class KGError(Exception):
    """Base of every error the core raises on purpose.

    ``status`` is the HTTP status the API answers with and ``code`` the stable
    machine-readable name in the error body; ``details`` carries context fields
    (file, line, parameter, suggestions...).
    """

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class NotFoundError(KGError):
    """A concept, label or resource that does not exist (carries suggestions)."""

    status = 404
    code = "not_found"


class NoPathError(KGError):
    """Two concepts exist but nothing connects them."""

    status = 404
    code = "no_path"


class BadParameterError(KGError):
    """A query parameter or argument that cannot be used as given."""

    status = 422
    code = "bad_parameter"


class ParseError(KGError):
    """Input that cannot be read or parsed; names the file and, when known, the line."""

    status = 422
    code = "parse_error"

    def __init__(self, message: str, file: str | None = None, line: int | None = None, **details: Any) -> None:
        super().__init__(message, file=file, line=line, **details)
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else (self.file or "")
        return f"{where}: {self.message}" if where else self.message


class ConfigurationError(KGError):
    """Settings that cannot work (unknown format, missing model, wrong store...)."""

    status = 500
    code = "configuration_error"


class StoreError(KGError):
    """The store is missing, empty, corrupt or was built by something incompatible."""

    status = 503
    code = "store_unavailable"


class QueryError(KGError):
    """A SPARQL query that cannot be parsed."""

    status = 400
    code = "bad_query"


class QueryRefusedError(KGError):
    """A SPARQL request the read-only endpoint does not run (update, SERVICE, FROM)."""

    status = 403
    code = "query_refused"


class QueryLimitError(KGError):
    """A SPARQL query over the time or result-size limit, or too many running at once."""

    status = 503
    code = "query_limit"


class UnauthorizedError(KGError):
    """An admin request without the right token."""

    status = 401
    code = "unauthorized"


class ForbiddenError(KGError):
    """A request this service does not allow (admin routes when no token is configured)."""

    status = 403
    code = "forbidden"


class TimeLimitError(KGError):
    """A request that ran past the service's per-request time limit."""

    status = 503
    code = "time_limit"


class RemoteStoreError(KGError):
    """A SPARQL store that cannot be reached, refuses a request or answers something unusable;
    the message names the URL and what to check."""

    status = 502
    code = "sparql_store_error"
