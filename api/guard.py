"""What every request passes through: limits on the request (header size and time, body size,
run time), the security headers of every response, relative redirects, HEAD like GET, CORS when
configured; and the bearer token the admin routes (``api.admin``) need (compared in constant time).

Two layers: ``BoundedHttpToolsProtocol`` (given to uvicorn as its ``http`` class by
``uvicorn_options``) bounds what uvicorn reads before a request reaches the application;
``_Guard`` (pure ASGI, outermost: ``install_guards``) does the rest.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from api.errors import error_response
from kg.errors import ForbiddenError, UnauthorizedError
from kg.settings import Settings

#: The page-wide policy: everything from this server, no inline script or style, no framing.
#: ``img-src`` allows ``data:`` for the icons Swagger UI's style sheet embeds (24 ``data:`` images);
#: KaTeX's fonts are files under /static. KaTeX sets sizes through the DOM (``element.style``),
#: which ``style-src`` does not govern: no ``'unsafe-inline'`` is needed (tests/test_pages.py).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Added to every response (the same constant list each time: no work per request).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


class BodyTooLarge(StarletteHTTPException):
    """A request body (chunked, so with no Content-Length to check first) that went over the limit
    while it was read. An ``HTTPException`` so that FastAPI's body parsing passes it on as is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")
        self.limit = limit


def _too_large(limit: int):
    return error_response(413, "too_large", f"request body over {limit} bytes", headers={"Connection": "close"},
                          limit=limit)


async def _body_too_large(request: Request, exc: BodyTooLarge):
    return _too_large(exc.limit)


def _relative(location: bytes) -> bytes:
    """``http://any.host/a?b`` -> ``/a?b``: a redirect never names a host (Starlette builds
    absolute ones from the request's Host header, which the client chooses).

    >>> _relative(b"http://evil.example/concepts?prefix=a"), _relative(b"//evil.example/x"), _relative(b"/ok")
    (b'/concepts?prefix=a', b'/x', b'/ok')
    >>> _relative(b"/\\\\evil.example/x")
    b'/evil.example/x'
    """
    parts = urlsplit(location.decode("latin-1"))
    path = "/" + parts.path.lstrip("/\\")  # never //host or /\host: browsers read another host there
    return (path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
            ).encode("latin-1")


class _Guard:
    """Pure ASGI (no per-request task or body buffering, unlike BaseHTTPMiddleware), around the
    whole application (its error handlers included, so that their answers get the headers too):

    - a body declared larger than ``limit`` is refused with 413 before it is read, and a chunked
      one as soon as what was received goes over it;
    - a request still running after ``timeout`` seconds gets a 503 (if nothing was sent yet);
    - every response gets ``SECURITY_HEADERS``; a redirect's ``Location`` is made relative;
    - ``HEAD`` is answered as ``GET`` without the body (FastAPI's routes declare GET only).

    A request without a body (no Transfer-Encoding) costs a scan of its headers, one wrapped
    ``send`` and an entry in a dict of requests in flight: what ``/health`` pays. The time limit
    is kept by one watchdog task per event loop that cancels overdue requests, rather than a timer
    per request (``asyncio.timeout`` cost ``/health`` a tenth of its time).
    """

    def __init__(self, app, limit: int, timeout: float) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout
        self._deadlines: dict[asyncio.Task, float] = {}  # requests in flight
        self._overdue: set[asyncio.Task] = set()  # cancelled by the watchdog
        self._watchdog: asyncio.Task | None = None

    def _watch(self, task: asyncio.Task) -> None:
        loop = task.get_loop()
        self._deadlines[task] = loop.time() + self.timeout
        if self._watchdog is None or self._watchdog.done() or self._watchdog.get_loop() is not loop:
            self._watchdog = loop.create_task(self._cancel_overdue(), name="kg-request-watchdog")

    async def _cancel_overdue(self) -> None:
        """Every tick, cancel the requests past their deadline (ticks of a tenth of the limit,
        at most a second: a request gets its time to within that)."""
        tick = min(1.0, self.timeout / 10)
        loop = asyncio.get_running_loop()
        while self._deadlines:
            await asyncio.sleep(tick)
            now = loop.time()
            for task, deadline in list(self._deadlines.items()):
                if now >= deadline and task not in self._overdue and task.get_loop() is loop:
                    self._overdue.add(task)
                    task.cancel()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:  # a copy: the server keeps its own scope, and with it HEAD's rules for the body
            scope = {**scope, "method": "GET"}
        started = False

        async def guarded_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [*message.get("headers", ()), *SECURITY_HEADERS]
                if 300 <= message["status"] < 400:
                    headers = [(k, _relative(v)) if k.lower() == b"location" else (k, v) for k, v in headers]
                message = {**message, "headers": headers}
            elif head and message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": b""}
            await send(message)

        length = chunked = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = value
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(self.limit)(scope, receive, guarded_send)
            return
        if chunked is not None:  # no length to check first: count what arrives
            receive = self._counting(receive)
        task = asyncio.current_task()
        self._watch(task)
        try:
            await self.app(scope, receive, guarded_send)
        except asyncio.CancelledError:
            if task not in self._overdue:
                raise  # the server's own cancellation (shutdown, client gone)
            task.uncancel()
            if not started:
                response = error_response(503, "time_limit", f"the request took longer than {self.timeout:g} s",
                                          limit=self.timeout)
                await response(scope, receive, guarded_send)
        except BodyTooLarge:  # raised where no exception handler saw it
            if not started:
                await _too_large(self.limit)(scope, receive, guarded_send)
        finally:
            self._deadlines.pop(task, None)
            self._overdue.discard(task)

    def _counting(self, receive):
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        return counting_receive


def install_guards(app: FastAPI, settings: Settings) -> None:
    """The guard around the whole of ``app`` (outside even its error handlers, which
    ``add_middleware`` cannot do); CORS only for ``settings.cors_origins``."""
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Accept", "Content-Type"])
    app.add_exception_handler(BodyTooLarge, _body_too_large)
    build = app.build_middleware_stack

    def guarded_stack():
        return _Guard(build(), limit=settings.max_body_bytes, timeout=settings.request_timeout)

    app.build_middleware_stack = guarded_stack


# -- what uvicorn reads before the application sees a request -------------------------------------


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with two bounds it lacks: the bytes of a request line and
    headers (``max_header_bytes``: over it, 431 and the connection closed, before the parser has
    buffered more), and the time to send them (``header_timeout``, from the request's first byte,
    or from the connection for its first request: then 408 and closed; an idle new connection is
    closed silently). uvicorn's keep-alive timeout still closes idle connections between requests.

    Bytes are counted from the end of one request's body to the end of the next one's headers;
    a pipelined request that arrives in the same read as the previous body is counted from the
    next read (at most one read, 256 KiB, over the bound).
    """

    def __init__(self, *args: Any, max_header_bytes: int, header_timeout: float,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_header_bytes = max_header_bytes
        self.header_timeout = header_timeout
        self._reading_headers = True
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._reading_headers:
            super().data_received(data)
            return
        if self._header_timer is None:  # the first bytes of a further request on this connection
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)
        room = self.max_header_bytes - self._header_bytes
        if len(data) <= room:
            self._header_bytes += len(data)
            super().data_received(data)
            return
        # Only what fits goes to the parser; if the headers end within it, the rest is body.
        if room > 0:
            self._header_bytes += room
            super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._reading_headers:
            self._refuse(431, "headers_too_large",
                         f"request line and headers over {self.max_header_bytes} bytes", limit=self.max_header_bytes)
            return
        self.data_received(data[room:])

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._stop_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_headers, self._header_bytes = True, 0

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if not self._reading_headers or self.transport.is_closing():
            return
        if self._header_bytes == 0:
            self.transport.close()  # a connection that never sent a byte: nothing to answer
            return
        self._refuse(408, "header_timeout", f"request line and headers not received within {self.header_timeout:g} s",
                     limit=self.header_timeout)

    def _refuse(self, status: int, code: str, message: str, **details: Any) -> None:
        """Answer in the API's error shape (when no earlier response is still being written) and close."""
        client = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
        self.logger.warning("%s%s: %s", client, status, message)
        if self.cycle is None or self.cycle.response_complete:
            body = json.dumps({"error": {"code": code, "message": message, **details}}).encode()
            headers = [*self.server_state.default_headers, (b"content-type", b"application/json"),
                       (b"content-length", str(len(body)).encode()), (b"connection", b"close"), *SECURITY_HEADERS]
            self.transport.write(b"".join([STATUS_LINE[status], *(k + b": " + v + b"\r\n" for k, v in headers),
                                           b"\r\n", body]))
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config``: the bounded HTTP protocol
    (a ``functools.partial`` of a module-level class, so that it pickles into worker processes)
    and the access log only when ``settings.access_log`` asks for it."""
    return {"http": functools.partial(BoundedHttpToolsProtocol, max_header_bytes=settings.max_header_bytes,
                                      header_timeout=settings.header_timeout),
            "access_log": settings.access_log}


#: The cookie of an admin signed in on the pages (``admin_session``), and what it is derived for.
ADMIN_COOKIE = "kg_admin"


def admin_session(settings: Settings, purpose: str = "session") -> str | None:
    """What an admin's page session carries: an HMAC of ``KG_ADMIN_TOKEN`` for ``purpose``
    (``session`` for the cookie, ``form`` for the field every admin form posts), never the
    token itself; None when the admin routes are off."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        return None
    key = settings.admin_token.get_secret_value().encode()
    return hmac.new(key, f"kg-admin-{purpose}".encode(), "sha256").hexdigest()


def is_admin_page(settings: Settings, cookie: str | None) -> bool:
    """Whether a page request comes from a signed-in admin (the pages then show their controls)."""
    expected = admin_session(settings)
    return bool(expected and cookie and hmac.compare_digest(cookie.encode(), expected.encode()))


def require_admin_form(settings: Settings, cookie: str | None, form_key: str | None) -> None:
    """Raise unless a page's form comes from a signed-in admin: the session cookie (SameSite
    Strict, so no other site's page sends it) and the form's own key."""
    if admin_session(settings) is None:
        raise ForbiddenError("admin routes are off: set KG_ADMIN_TOKEN to use them")
    expected = admin_session(settings, "form") or ""
    if not is_admin_page(settings, cookie) or not hmac.compare_digest((form_key or "").encode(), expected.encode()):
        raise UnauthorizedError("sign in on /review with KG_ADMIN_TOKEN first")


def require_admin(settings: Settings, authorization: str | None) -> None:
    """Raise unless ``authorization`` is ``Bearer <KG_ADMIN_TOKEN>``."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise ForbiddenError("admin routes are off: set KG_ADMIN_TOKEN to use them")
    scheme, _, given = (authorization or "").partition(" ")
    expected = settings.admin_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise UnauthorizedError("admin routes need the header `Authorization: Bearer <KG_ADMIN_TOKEN>`")

