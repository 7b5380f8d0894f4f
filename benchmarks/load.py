"""``python -m benchmarks load``: a bounded load run against a real ``kg serve`` on 127.0.0.1.

The server runs as its own process (``--workers``), so its memory can be read before
and after from ``/proc``. The load comes from ``wrk`` (Debian's package; a C load
generator that is not the bottleneck) when it is installed, else from an asyncio
client. Each scenario is one run of ``seconds`` at ``connections`` connections over
one kind of request, with a rotating list of paths (every concept; new search queries
built from the glossary's own words so that the answer cache never serves them).
``--reload`` writes a new store version half-way through the first scenario and checks
that no request failed while the server swapped to it. Loopback only, bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from api.live import free_port
from kg.settings import Settings

_WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("KG_PATHS")) do paths[#paths + 1] = line end
local n = 0
local step = tonumber(os.getenv("KG_STEP") or "7919")
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n * step) % #paths + 1])
end
"""


def _rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its children (the uvicorn workers)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (OSError, AttributeError, ValueError):
            continue
    return total


def scenarios(settings: Settings, seed: int = 7) -> dict[str, list[str]]:
    """Paths per scenario: graph endpoints over every concept, search with new queries, export."""
    from kg.glossary import Glossary
    from kg.search.lexical import tokenize

    glossary = Glossary.open(settings)
    ids = sorted(glossary.concepts)
    rng = random.Random(seed)
    words = sorted({w for c in glossary.concepts.values() for l in c.labels for w in tokenize(l.text)
                    if len(w) > 2 and w.isascii()})
    queries = {" ".join(rng.sample(words, 3)) for _ in range(20_000)}
    searches = ["/search?" + urlencode({"q": q}) for q in sorted(queries)]
    sparql = ["/sparql?" + urlencode({"query": "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?c ?l "
                                               f"WHERE {{ ?c a skos:Concept ; skos:prefLabel ?l }} LIMIT {n % 50 + 1} "
                                               f"OFFSET {n % len(ids)}"}) for n in range(2000)]
    prerequisites = [f"/concepts/{quote(c)}/prerequisites" for c in ids]
    mixed = [kind[n % len(kind)] for n in range(3000) for kind in (prerequisites, searches[::-1], sparql)]
    return {
        "graph": [f"/concepts/{quote(c)}" for c in ids] + prerequisites
        + [f"/concepts/{quote(c)}/related" for c in ids],
        "search": searches,
        "export": ["/export?format=turtle", "/export?format=nt", "/graph?format=graphml"],
        "sparql": sparql,
        "mixed": mixed,
    }


#: Queries an attacker sends (python -m benchmarks load --attack): each must end in a bounded 4xx or 503.
HOSTILE_QUERIES = [
    'ASK { FILTER(regex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "^(a+)+$")) }',
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f",
    'SELECT ?x WHERE { BIND("' + "a" * 64 + '" AS ?x0) '
    + " ".join(f"BIND(CONCAT(?x{i}, ?x{i}, ?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(15)) + " BIND(?x15 AS ?x) }",
]


class _Attack:
    """While a run lasts: the hostile queries sent one after another, ``/health`` timed every
    20 ms on a connection of its own, and the server's memory sampled every 100 ms."""

    def __init__(self, url: str, pid: int, hostile: bool) -> None:
        self.url, self.pid, self.hostile = url, pid, hostile
        self.health: list[float] = []
        self.answers: dict[int, int] = {}
        self.peak = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=t, daemon=True) for t in
                         (self._probe, self._sample, *([self._attack] if hostile else []))]

    def __enter__(self) -> _Attack:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def _probe(self) -> None:
        import httpx

        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                start = time.perf_counter()
                client.get("/health")
                self.health.append(time.perf_counter() - start)
                self._stop.wait(0.02)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes(self.pid))
            self._stop.wait(0.1)

    def _attack(self) -> None:
        import httpx

        with httpx.Client(base_url=self.url, timeout=120) as client:
            for n in range(10**6):
                if self._stop.is_set():
                    return
                status = client.get("/sparql", params={"query": HOSTILE_QUERIES[n % len(HOSTILE_QUERIES)]}).status_code
                self.answers[status] = self.answers.get(status, 0) + 1

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.health) or [float("nan")]
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
        return {"health_p50_ms": pick(0.5), "health_p99_ms": pick(0.99), "health_probes": len(self.health),
                "memory_peak_mb": self.peak / 2**20, "hostile_answers": dict(sorted(self.answers.items()))}


def _wrk(url: str, paths: list[str], seconds: float, connections: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "paths.txt").write_text("\n".join(paths), encoding="utf-8")
        (Path(tmp) / "paths.lua").write_text(_WRK_SCRIPT, encoding="utf-8")
        env = {**os.environ, "KG_PATHS": str(Path(tmp) / "paths.txt")}
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s",
                              str(Path(tmp) / "paths.lua"), url], env=env, capture_output=True, text=True,
                             timeout=seconds + 60).stdout

    def ms(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return {"requests": requests, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": ms("50"), "p99_ms": ms("99"), "errors": errors, "generator": "wrk"}


def _asyncio_client(url: str, paths: list[str], seconds: float, connections: int) -> dict[str, Any]:
    import httpx

    async def main() -> dict[str, Any]:
        latencies: list[float] = []
        errors = 0
        stop = time.monotonic() + seconds
        counter = iter(range(10**9))
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            async def worker() -> None:
                nonlocal errors
                while time.monotonic() < stop:
                    path = paths[(next(counter) * 7919) % len(paths)]
                    start = time.perf_counter()
                    try:
                        response = await client.get(path)
                        errors += response.status_code >= 400
                    except httpx.HTTPError:
                        errors += 1
                    latencies.append(time.perf_counter() - start)
            begin = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.monotonic() - begin
        latencies.sort()
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
        return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": pick(0.5),
                "p99_ms": pick(0.99), "errors": errors, "generator": "asyncio"}

    return asyncio.run(main())


@contextmanager
def served(command: list[str], env: dict[str, str], port: int) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``command`` (a server on ``port`` of 127.0.0.1) in its own session until ``/health``
    answers; yields (base URL, process) and stops the whole session after."""
    import httpx

    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{command[0]} did not start within 300 s")
        yield url, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _kg_serve(settings: Settings, workers: int, reload: bool = False):
    port = free_port()
    env = {**os.environ, "KG_STORE": str(settings.store), "KG_MODEL": settings.model,
           "KG_RELOAD_INTERVAL": "0.5" if reload else "0"}
    kg = Path(sys.executable).with_name("kg")
    return served([str(kg), "serve", "--port", str(port), "--workers", str(workers)], env, port)


def bench_load(settings: Settings, seconds: float = 30, connections: int = 32, workers: int = 2,
               only: list[str] | None = None, reload: bool = False, warmup: float = 0, boot: bool = False,
               attack: bool = False) -> list[dict[str, Any]]:
    """One row per scenario: requests/s, p50/p99, errors, the server's memory before and after,
    and ``/health`` timed on a connection of its own all along (p50/p99) with the peak memory.

    ``warmup`` seconds of the same load run first, unmeasured, so that "before" is the memory of
    a server whose bounded caches (answers, query vectors) are already full: growth after that
    is what a leak would show. ``boot`` starts the first run the moment the server answers, with
    nothing warmed. ``attack`` sends hostile SPARQL queries (``HOSTILE_QUERIES``) all along."""
    import httpx

    paths = scenarios(settings)
    rows = []
    with _kg_serve(settings, workers, reload) as (url, server):
        run = _wrk if shutil.which("wrk") else _asyncio_client
        for name in only or list(paths):
            for path in [] if boot and not rows else paths[name][:50]:  # warm the first requests (model, DAG)
                httpx.get(url + path, timeout=60)
            if warmup:
                run(url, paths[name][::-1], warmup, connections)  # other paths than the measured run's start
            before = _rss_bytes(server.pid)
            swapper, written = None, []
            if reload and not rows:  # a new version, written and swapped in while the load runs
                swapper = threading.Timer(1.0, lambda into=written: into.append(_new_version(settings)))
                swapper.start()
            with _Attack(url, server.pid, attack) as watch:
                result = run(url, paths[name], seconds, connections)
            result.update(watch.figures())
            if swapper is not None:
                swapper.join()
                served = httpx.get(url + "/health").json()["store_version"]
                result["reloaded_to"] = served if written and served == written[0] else None
                if result["reloaded_to"] is None:
                    result["note"] = f"the new version {written[:1]} was not served before the run ended"
            after = _rss_bytes(server.pid)
            rows.append({"name": name, **result, "seconds": seconds, "connections": connections,
                         "memory_before_mb": before / 2**20, "memory_after_mb": after / 2**20,
                         "memory_growth": (after - before) / before if before else float("nan")})
    return rows


#: The floor ``GET /health`` is measured against: FastAPI and uvicorn with nothing of ours.
_BARE_APP = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()
@app.get("/health")
async def health():
    return {"status": "ok"}
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def bench_health(settings: Settings, seconds: float = 10, connections: int = 32, rounds: int = 3
                 ) -> list[dict[str, Any]]:
    """``GET /health`` of ``kg serve`` (one process) beside a bare FastAPI app's, both served by
    uvicorn at once and loaded in turn, ``rounds`` times: requests/s and p50, and their ratios."""
    rows = []
    port = free_port()
    bare = served([sys.executable, "-c", _BARE_APP, str(port)], dict(os.environ), port)
    with _kg_serve(settings, workers=1) as (ours_url, _), bare as (bare_url, _):
        run = _wrk if shutil.which("wrk") else _asyncio_client
        for _ in range(rounds):
            for name, url in (("kg serve", ours_url), ("bare FastAPI", bare_url)):
                rows.append({"name": name, **run(url, ["/health"], seconds, connections), "seconds": seconds,
                             "connections": connections})
    ours = [r for r in rows if r["name"] == "kg serve"]
    base = [r for r in rows if r["name"] != "kg serve"]
    for mine, theirs in zip(ours, base, strict=True):
        mine["rps_ratio"] = mine["rps"] / theirs["rps"]
        mine["p50_ratio"] = mine["p50_ms"] / theirs["p50_ms"]
    return rows


def format_health(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'server':<13}  {'req/s':>8}  {'p50':>8}  {'p99':>8}  {'x bare req/s':>12}  {'x bare p50':>10}"]
    for r in rows:
        ratios = f"{r['rps_ratio']:>12.2f}  {r['p50_ratio']:>10.2f}" if "rps_ratio" in r else f"{'':>12}  {'':>10}"
        lines.append(f"{r['name']:<13}  {r['rps']:>8.0f}  {r['p50_ms']:>6.2f}ms  {r['p99_ms']:>6.2f}ms  {ratios}")
    return "\n".join(lines)


def _new_version(settings: Settings) -> str | None:
    """Re-ingest the store's inputs as a new version (the served one is swapped under load)."""
    from kg.store.versions import Store, update_store

    inputs = Store(settings.store).manifest().get("inputs") or []
    return update_store([Path(p) for p in inputs], settings, force=True).version


def format_load(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'scenario':<8}  {'req/s':>8}  {'p50':>8}  {'p99':>8}  {'errors':>6}  {'memory MB':>17}  "
             f"{'/health p50 / p99':>18}  {'peak MB':>7}  note"]
    for r in rows:
        note = f"{r['requests']} requests, {r['connections']} connections, {r['seconds']:g} s, {r['generator']}"
        if r.get("reloaded_to"):
            note += f", reloaded to {r['reloaded_to']} during the run"
        if r.get("hostile_answers"):
            note += f", hostile SPARQL answered {r['hostile_answers']}"
        if r.get("note"):
            note += f", {r['note']}"
        lines.append(f"{r['name']:<8}  {r['rps']:>8.0f}  {r['p50_ms']:>6.1f}ms  {r['p99_ms']:>6.1f}ms  "
                     f"{r['errors']:>6}  {r['memory_before_mb']:>7.0f} -> {r['memory_after_mb']:>5.0f}  "
                     f"({r['memory_growth']:+.1%})  {r['health_p50_ms']:>6.1f} / {r['health_p99_ms']:>6.1f}ms  "
                     f"{r['memory_peak_mb']:>7.0f}  {note}")
    return "\n".join(lines)
