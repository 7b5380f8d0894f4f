"""What a client cannot do to a real server (uvicorn on 127.0.0.1, with the HTTP protocol of
`kg serve`): send headers without end, or slowly, or a chunked body over the limit; get a
redirect to a host of its choosing. And what every answer carries: the security headers, and
HEAD answered like GET."""
from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from api.errors import install_error_handlers
from api.guard import CONTENT_SECURITY_POLICY, install_guards, uvicorn_options
from api.live import LiveServer
from kg import Settings
from kg.store.versions import update_store

MAX_HEADER_BYTES = 8192
HEADER_TIMEOUT = 1.0
MAX_BODY_BYTES = 4096
SECURITY = {"content-security-policy": CONTENT_SECURITY_POLICY, "x-content-type-options": "nosniff",
            "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


class Item(BaseModel):
    text: str


def _settings(**extra) -> Settings:
    return Settings(model="fake", reload_interval=0, max_header_bytes=MAX_HEADER_BYTES, header_timeout=HEADER_TIMEOUT,
                    max_body_bytes=MAX_BODY_BYTES, **extra)


@pytest.fixture(scope="module")
def server(serve, tmp_path_factory, fixtures) -> Iterator[str]:
    settings = _settings(store=tmp_path_factory.mktemp("limits") / "store")
    assert update_store([fixtures / "glossary"], settings).version
    url = serve(settings)
    yield url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _read_all(sock: socket.socket, deadline: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or ``deadline`` seconds), and when it closed."""
    start, data = time.monotonic(), b""
    sock.settimeout(deadline)
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {deadline} s; it sent {data[:200]!r}")
    return data, time.monotonic() - start


def _error(raw: bytes) -> tuple[int, dict, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


def test_headers_over_the_limit_get_431_and_the_connection_closed(server):
    with _connect(server) as sock:
        # An endless header: without the bound, uvicorn would keep reading (and buffering) it.
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES * 2))
        raw, _ = _read_all(sock, 5)
    status, headers, body = _error(raw)
    assert status == 431 and headers["connection"] == "close"
    assert body["error"]["code"] == "headers_too_large" and body["error"]["limit"] == MAX_HEADER_BYTES
    assert headers["x-content-type-options"] == "nosniff"
    # Headers under the bound are served, and the server is none the worse.
    ok = httpx.get(server + "/health", headers={"X-Fine": "a" * (MAX_HEADER_BYTES // 2)})
    assert ok.status_code == 200 and ok.json()["status"] == "ok"


def test_a_request_line_over_the_limit_gets_431(server):
    with _connect(server) as sock:
        sock.sendall(b"GET /concepts?prefix=" + b"a" * (MAX_HEADER_BYTES * 2))
        raw, _ = _read_all(sock, 5)
    assert _error(raw)[0] == 431


def test_headers_sent_slowly_are_cut_after_the_header_timeout(server):
    with _connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        try:
            for n in range(int(HEADER_TIMEOUT * 10)):  # one header line every 0.25 s, never the end
                time.sleep(0.25)
                sock.sendall(f"X-Slow-{n}: a\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # cut: what this test wants
        raw, _ = _read_all(sock, 5)
        elapsed = time.monotonic() - start
    status, headers, body = _error(raw)
    assert status == 408 and body["error"]["code"] == "header_timeout" and headers["connection"] == "close"
    assert elapsed < HEADER_TIMEOUT + 2, elapsed


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server):
    with _connect(server) as sock:
        raw, elapsed = _read_all(sock, HEADER_TIMEOUT + 4)
    assert raw == b"" and elapsed < HEADER_TIMEOUT + 2


def test_a_kept_alive_connection_gets_a_fresh_header_budget_per_request(server):
    # Many requests on one connection add up to more header bytes and time than one may have.
    with httpx.Client(base_url=server) as client:
        for _ in range(6):
            response = client.get("/health", headers={"X-Pad": "a" * (MAX_HEADER_BYTES // 2)})
            assert response.status_code == 200
            time.sleep(HEADER_TIMEOUT / 3)


def _chunks(total: int, size: int = 512) -> Iterator[bytes]:
    yield b"ASK {}"
    for _ in range(total // size):
        yield b" " * size


def test_a_chunked_body_over_the_limit_is_refused_like_a_declared_one(server):
    sparql = {"Content-Type": "application/sparql-query"}
    declared = httpx.post(server + "/sparql", content=b"ASK {}" + b" " * (MAX_BODY_BYTES * 2), headers=sparql)
    chunked = httpx.post(server + "/sparql", content=_chunks(MAX_BODY_BYTES * 2), headers=sparql)
    assert "content-length" not in chunked.request.headers  # it was sent chunked
    assert chunked.status_code == declared.status_code == 413, chunked.text
    assert chunked.json() == declared.json() == {"error": {"code": "too_large", "limit": MAX_BODY_BYTES,
                                                           "message": f"request body over {MAX_BODY_BYTES} bytes"}}
    assert chunked.headers["connection"] == "close"


def test_the_chunked_body_limit_holds_for_any_route_that_reads_a_body():
    """FastAPI's own body parsing (a JSON model) and a route reading the stream: both refuse."""
    app = FastAPI()
    install_error_handlers(app)
    settings = _settings()
    install_guards(app, settings)

    @app.post("/model")
    def model(item: Item) -> dict:
        return {"length": len(item.text)}

    @app.post("/raw")
    async def raw(request: Request) -> dict:
        return {"length": len(await request.body())}

    def body(n: int) -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(n // 256):
            yield b"a" * 256
        yield b'"}'

    with LiveServer(app, **uvicorn_options(settings)) as server, httpx.Client(base_url=server.url) as client:
        for path in ("/model", "/raw"):
            small = client.post(path, content=body(1024), headers={"Content-Type": "application/json"})
            assert small.status_code == 200, small.text
            big = client.post(path, content=body(MAX_BODY_BYTES * 4), headers={"Content-Type": "application/json"})
            assert big.status_code == 413 and big.json()["error"]["code"] == "too_large", (path, big.text)


def test_redirects_never_name_the_host_the_client_sent(server):
    response = httpx.get(server + "/concepts/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/concepts"
    followed = httpx.get(server + "/concepts/", follow_redirects=True)
    assert followed.status_code == 200 and followed.url.path == "/concepts"


@pytest.mark.parametrize("path", ["/health", "/concepts/Deep%20Learning", "/", "/concept/Deep%20Learning",
                                  "/openapi.json", "/static/app.css", "/docs"])
def test_head_is_answered_like_get_without_a_body(server, path):
    get = httpx.get(server + path)
    head = httpx.head(server + path)
    assert get.status_code == head.status_code == 200, (path, head.status_code, head.text)
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"]


def test_head_on_a_post_only_route_is_still_405(server):
    assert httpx.head(server + "/admin/reload").status_code == 405


def test_every_response_carries_the_security_headers(server):
    responses = [
        httpx.get(server + "/health"),  # JSON
        httpx.get(server + "/"),  # a page
        httpx.get(server + "/static/app.js"),  # a static file
        httpx.get(server + "/concepts/no-such-thing"),  # 404
        httpx.get(server + "/concepts", params={"limit": 0}),  # 422
        httpx.delete(server + "/health"),  # 405
        httpx.post(server + "/sparql", content=b" " * (MAX_BODY_BYTES + 1)),  # 413 from the guard
        httpx.get(server + "/concepts/", follow_redirects=False),  # a redirect
        httpx.head(server + "/health"),
    ]
    for response in responses:
        for name, value in SECURITY.items():
            assert response.headers.get(name) == value, (response.request.method, response.request.url,
                                                         response.status_code, name)


def test_the_policy_allows_nothing_inline_and_nothing_from_elsewhere():
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY


def test_a_405_names_every_method_the_path_answers(server):
    # Starlette named only the first route's method: GET for /sparql, which also takes POST.
    answer = httpx.request("OPTIONS", server + "/sparql")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
