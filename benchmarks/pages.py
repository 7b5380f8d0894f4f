"""Page benchmarks: server-side rendering over HTTP and the graph drawn in Debian's Chromium,
each beside GET /health measured in the same run (ratios compare across noisy runs); and the
graph explorer of /overview at 10,000 synthetic concepts beside the linked corpus
(``bench_graph_explorer``: time to the first frame, frame times while panning)."""

from __future__ import annotations

import random
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from api.live import live_server
from benchmarks.http import _percentiles, time_requests
from kg.settings import Settings

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def wait_until(page, expression: str, timeout: float = 60.0) -> None:
    """Poll ``expression`` in the page until true (``page.wait_for_function`` evaluates its text
    with eval(), which the pages' Content-Security-Policy refuses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(20)


def most_connected(settings: Settings) -> str:
    """The concept with the most prerequisite edges (in and out): the largest graph a page draws."""
    from kg.glossary import Glossary

    dag = Glossary.open(settings).prerequisites
    return max(sorted(dag), key=lambda n: dag.degree(n))


def bench_pages_http(settings: Settings, rounds: int = 200, loads: int = 10, seed: int = 1) -> list[dict[str, Any]]:
    """p50/p99 of each page rendered by the server, and (when Debian's chromium and Playwright
    are here) the time from navigation to the drawn graph of the most connected concept.

    Returns:
        Rows: name, p50_ms, p99_ms, ratio (p50 / the /health p50 of this run), note.
    """
    import tempfile

    import httpx

    rng = random.Random(seed)
    center = most_connected(settings)
    rows: list[dict[str, Any]] = []
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        ids = [hit["id"] for hit in client.get("/concepts", params={"limit": 1000}).json()["results"]]
        words = ["overfitting", "過学習", "attention", "学習率", "codec", "token", "loss"]
        cases = [
            ("baseline: GET /health", lambda: ("/health", None)),
            ("GET / (search page)", lambda: ("/", None)),
            ("GET /?q= (results, server-side)", lambda: ("/", {"q": rng.choice(words) + str(rng.randint(0, 9))})),
            ("GET /concept/{id}", lambda: (f"/concept/{rng.choice(ids)}", None)),
            (f"GET /concept/{center} (most connected)", lambda: (f"/concept/{center}", None)),
            ("GET /overview (whole glossary)", lambda: ("/overview", None)),
        ]
        base = None
        for name, make in cases:
            p50, p99 = _percentiles(time_requests(client, make, rounds, warm=5))
            base = base or p50
            rows.append({"name": name, "p50_ms": p50 * 1000, "p99_ms": p99 * 1000, "ratio": p50 / base,
                         "note": f"{rounds} requests"})
        chromium = shutil.which("chromium")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            sync_playwright = None
        if chromium and sync_playwright:
            with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
                browser = playwright.chromium.launch_persistent_context(
                    profile, executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page()
                for path, label, drawn, count in (
                    (f"/concept/{center}?direction=both&depth=2",
                     f"graph of {center} (depth 2, both ways) drawn in chromium", "window.kgDrawnMs",
                     "document.querySelectorAll('svg.graph a.node').length"),
                    ("/overview", "whole-glossary explorer drawn in chromium", "window.kgGraphReady",
                     "window.kgGraph.nodes().length"),
                ):
                    times = []
                    for _ in range(loads + 1):
                        page.goto(url + path)
                        wait_until(page, f"{drawn} !== undefined")
                        times.append(page.evaluate(drawn) / 1000)
                    nodes = page.evaluate(count)
                    p50, p99 = _percentiles(times[1:])
                    rows.append({"name": label, "p50_ms": p50 * 1000, "p99_ms": p99 * 1000, "ratio": p50 / base,
                                 "note": f"navigation to painted, {loads} loads, {nodes} nodes"})
                browser.close()
        else:
            rows.append({"name": "graph drawn in chromium", "p50_ms": float("nan"), "p99_ms": float("nan"),
                         "ratio": float("nan"), "note": "skipped: needs Debian's chromium and playwright"})
    return rows


# -- the graph explorer of /overview, at the linked corpus's size and at 10,000 concepts ---------------

#: rAF deltas while the page pans itself by ``cy.panBy`` every frame: Cytoscape's fast modes
#: (a bitmap and no edges while the viewport moves) only start for the reader's own gestures,
#: so this is the worst case; ``DRAG_FRAMES`` records a mouse drag, which gets them.
PAN_FRAMES = """async (frames) => {
  const cy = window.kgGraph, deltas = [];
  await new Promise((resolve) => requestAnimationFrame((first) => {
    let last = first;
    const step = (now) => {
      deltas.push(now - last);
      last = now;
      if (deltas.length >= frames) return resolve();
      cy.panBy({ x: 7, y: 3 });
      requestAnimationFrame(step);
    };
    cy.panBy({ x: 7, y: 3 });
    requestAnimationFrame(step);
  }));
  return deltas;
}"""
FRAME_RECORDER = """() => {
  window.__frames = [];
  let last = performance.now();
  const step = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (window.__recording) requestAnimationFrame(step);
  };
  window.__recording = true;
  requestAnimationFrame(step);
}"""


def synthetic_store(n: int, work: Path, seed: int = 0) -> Settings:
    """Settings of a store of ``n`` synthetic concepts (``benchmarks.synth``) under ``work``, with
    the fake encoder; built unless ``work`` holds it already."""
    from benchmarks.synth import generate, write_markdown
    from kg.store.versions import Store, update_store

    settings = Settings(
        store=work / "store", model="fake", gloss_japanese=False, embedding_cache=work / "cache", reload_interval=0
    )
    if Store(settings.store).current_version() is None:
        write_markdown(generate(n, seed=seed), work / "md")
        update_store([work / "md"], settings)
    return settings


def bench_graph_explorer(stores: list[tuple[str, Settings]], loads: int = 5, frames: int = 120) -> list[dict[str, Any]]:
    """Per store: the layout answer (first, computed; then cached), the time from navigation to
    the explorer's first frame, frame times while panning (the page panning itself, a mouse drag,
    the whole graph in view) and the "Whole graph" button until every concept is drawn.

    Returns:
        Rows: store, name, p50_ms, p95_ms, max_ms, note.
    """
    import tempfile

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        for label, settings in stores:
            rows.append(_layout_in_process_row(label, settings))
            with live_server(settings) as url:
                _wait_for_warm_up()
                rows += _layout_rows(label, url)
                page = browser.new_page()
                rows += _draw_rows(label, page, url, loads)
                rows += _pan_rows(label, page, frames)
                page.close()
        browser.close()
    return rows


def _row(store: str, name: str, times_ms: list[float], note: str) -> dict[str, Any]:
    ordered = sorted(times_ms)
    p95 = ordered[min(len(ordered) - 1, max(0, int(round(len(ordered) * 0.95)) - 1))]
    return {
        "store": store,
        "name": name,
        "p50_ms": statistics.median(ordered),
        "p95_ms": p95,
        "max_ms": ordered[-1],
        "note": note,
    }


def _wait_for_warm_up(timeout: float = 300.0) -> None:
    """Until the server (in this process) has prepared its SPARQL workers: that thread builds the
    RDF graph, seconds at 10,000 concepts, and would share the CPU with what is measured."""
    import threading

    deadline = time.monotonic() + timeout
    while any(t.name == "kg-sparql-prepare" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.2)


def _layout_in_process_row(store: str, settings: Settings) -> dict[str, Any]:
    """``overview_elements`` on the whole glossary, in this process before any server runs in it
    (a server's threads would share the GIL)."""
    from kg.glossary import Glossary
    from kg.prereqs.overview_layout import overview_elements

    glossary = Glossary.open(settings)
    view = glossary.prerequisite_view(None, None)
    labels = {c.id: c.label for c in glossary.collections.values()}
    times = []
    for _ in range(3):
        start = time.perf_counter()
        overview_elements(view, labels)
        times.append((time.perf_counter() - start) * 1000)
    return _row(store, "layout in-process (overview_elements)", times, f"3 runs, {len(view)} concepts")


def _layout_rows(store: str, url: str) -> list[dict[str, Any]]:
    """GET /graph/layout: the first answer lays out (the server's prerequisite graph loaded
    before, so that only the view and the layout are timed), later ones come from the answer cache."""
    import httpx

    with httpx.Client(base_url=url, timeout=120) as client:
        some = client.get("/concepts", params={"limit": 1}).json()["results"][0]["id"]
        client.get("/graph", params={"format": "dot", "center": some, "depth": 0}).raise_for_status()
        start = time.perf_counter()
        first = client.get("/graph/layout")
        cold = (time.perf_counter() - start) * 1000
        cached = []
        for _ in range(5):
            start = time.perf_counter()
            client.get("/graph/layout").raise_for_status()
            cached.append((time.perf_counter() - start) * 1000)
    size = len(first.content) / 2**20
    return [
        _row(store, "GET /graph/layout, first (view + layout)", [cold], f"{size:.1f} MiB of JSON"),
        _row(store, "GET /graph/layout, cached", cached, "5 requests"),
    ]


def _draw_rows(store: str, page, url: str, loads: int) -> list[dict[str, Any]]:
    """Navigation start to the first frame with the graph (``kgGraphReady``), over ``loads`` page
    loads after one unmeasured."""
    ready = []
    for _ in range(loads + 1):
        page.goto(url + "/overview")
        wait_until(page, "window.kgGraphReady !== undefined")
        ready.append(page.evaluate("window.kgGraphReady"))
    held = page.evaluate("[window.kgGraph.nodes().length, window.kgGraph.edges().length]")
    note = f"{loads} loads; {held[0]} concepts, {held[1]} edges held around the first view"
    return [_row(store, "/overview: navigation to first frame", ready[1:], note)]


def _pan_rows(store: str, page, frames: int) -> list[dict[str, Any]]:
    rows = [
        _row(
            store,
            "pan by cy.panBy each frame, default zoom",
            page.evaluate(PAN_FRAMES, frames),
            f"{frames} frames (rAF deltas)",
        )
    ]
    box = page.locator("#graph-canvas").bounding_box()
    x, y = box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3
    page.evaluate(FRAME_RECORDER)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + box["width"] * 0.5, y + box["height"] * 0.3, steps=frames)
    page.mouse.up()
    page.evaluate("window.__recording = false")
    drag = page.evaluate("window.__frames")
    rows.append(_row(store, "pan by mouse drag, default zoom", drag, f"{len(drag)} frames (rAF deltas)"))
    rows.append(_whole_graph_row(store, page))
    rows.append(
        _row(
            store,
            "pan by cy.panBy each frame, whole graph in view",
            page.evaluate(PAN_FRAMES, frames),
            f"{frames} frames (rAF deltas), zoom {page.evaluate('window.kgGraph.zoom()'):.3f}",
        )
    )
    return rows


def _whole_graph_row(store: str, page) -> dict[str, Any]:
    """The "Whole graph" button: the time until what the explorer holds at that zoom is drawn
    (every concept of a small graph; the best-linked of a large one) and stays so."""
    total = int(page.evaluate("document.querySelector('section.explorer').dataset.concepts"))
    start = time.perf_counter()
    page.click("[data-graph-zoom=fit]")
    held, settled = -1, time.perf_counter()
    # Unchanged for 0.3 s (three times the holder's throttle after a move of the view): done.
    while time.perf_counter() - settled < 0.3:
        now = page.evaluate("window.kgGraph.nodes().length")
        if now != held:
            held, settled = now, time.perf_counter()
        page.wait_for_timeout(20)
    took = (settled - start) * 1000
    return _row(store, "'Whole graph' button to drawn", [took], f"{held} of {total} concepts held")


def format_explorer(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["name"]) for r in rows)
    store_width = max(len(r["store"]) for r in rows)
    lines = [f"{'store':<{store_width}}  {'measure':<{width}}  {'p50':>9}  {'p95':>9}  {'max':>9}  note"]
    for r in rows:
        lines.append(
            f"{r['store']:<{store_width}}  {r['name']:<{width}}  {r['p50_ms']:>7.1f}ms  "
            f"{r['p95_ms']:>7.1f}ms  {r['max_ms']:>7.1f}ms  {r['note']}"
        )
    return "\n".join(lines)
