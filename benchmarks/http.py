"""HTTP benchmarks against a real uvicorn server on 127.0.0.1, with /health as the baseline.

/health does no work beyond the HTTP round trip and FastAPI's routing, so each
endpoint's ratio to it is the cost of the endpoint itself, comparable across runs
on a shared, noisy machine.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from api.live import live_server
from kg.settings import Settings


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, int(round(len(ordered) * 0.99)) - 1)]


def time_requests(client, make: Callable[[], tuple[str, dict | None]], rounds: int, warm: int = 20) -> list[float]:
    """Seconds per request for ``rounds`` requests built by ``make`` (after ``warm`` unmeasured ones)."""
    for _ in range(warm):
        path, params = make()
        client.get(path, params=params)
    return [_timed_get(client, *make()) for _ in range(rounds)]


def _timed_get(client, path: str, params: dict | None) -> float:
    """Seconds for one GET (a server error stops the benchmark: its figures would mean nothing).
    The query string is encoded before the clock starts, as a browser has its URL ready: httpx's
    ``params`` cost 30 µs of the client's time a request (in process, /health 247 µs against
    284 µs), which a request with parameters would otherwise be charged beside /health."""
    url = f"{path}?{urlencode(params)}" if params else path
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code >= 500:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")
    return elapsed


def settle(client, window: int = 100, tolerance: float = 0.1, limit: float = 20.0) -> None:
    """Wait for the server's start-up work (SPARQL workers, answers worked out ahead) to end: until
    two windows of /health in a row have medians within ``tolerance`` (at most ``limit`` s)."""
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        median = statistics.median(time_requests(client, lambda: ("/health", None), window, warm=0))
        if last is not None and abs(median - last) <= tolerance * last:
            return
        last = median


def bench_graph_http(settings: Settings, rounds: int = 300, seed: int = 1) -> list[dict[str, Any]]:
    """p50/p99 of the graph endpoints on random concepts (and random pairs for /path), beside
    /health. The requests are interleaved, one of each in turn, so that the machine's drift on
    a shared host (and the server's start-up work, such as the answers it works out ahead,
    ``api.answers.warm``) weighs on every endpoint alike: timed one endpoint after another,
    the same server gave ratios from 1.0x to 1.8x for the same answers.

    Returns:
        Rows: name, p50_ms, p99_ms, ratio (p50 / the baseline's p50).
    """
    import httpx

    rng = random.Random(seed)
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        ids = [hit["id"] for hit in client.get("/concepts", params={"limit": 1000}).json()["results"]]
        settle(client)
        cases: list[tuple[str, Callable[[], tuple[str, dict | None]]]] = [
            ("baseline: GET /health", lambda: ("/health", None)),
            ("GET /concepts/{id}", lambda: (f"/concepts/{rng.choice(ids)}", None)),
            ("GET /concepts/{id}/prerequisites", lambda: (f"/concepts/{rng.choice(ids)}/prerequisites", None)),
            ("GET /path", lambda: ("/path", {"source": rng.choice(ids), "target": rng.choice(ids)})),
            ("GET /concepts/{id}/related", lambda: (f"/concepts/{rng.choice(ids)}/related", None)),
        ]
        times: dict[str, list[float]] = {name: [] for name, _ in cases}
        for round_ in range(20 + rounds):  # the first 20 rounds are not timed
            for name, make in cases:
                elapsed = _timed_get(client, *make())
                if round_ >= 20:
                    times[name].append(elapsed)
    rows = []
    for name, _ in cases:
        p50, p99 = _percentiles(times[name])
        rows.append({"name": name, "p50_ms": p50 * 1000, "p99_ms": p99 * 1000,
                     "note": f"{rounds} requests, interleaved, {len(ids)} concepts"})
    for row in rows:
        row["ratio"] = row["p50_ms"] / rows[0]["p50_ms"]
    return rows


def format_latency(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["name"]) for r in rows)
    lines = [f"{'request':<{width}}  {'p50':>8}  {'p99':>8}  {'x base':>7}  note"]
    for r in rows:
        lines.append(
            f"{r['name']:<{width}}  {r['p50_ms']:>6.2f}ms  {r['p99_ms']:>6.2f}ms  {r['ratio']:>7.2f}  {r['note']}"
        )
    return "\n".join(lines)
