"""Page benchmarks: server-side rendering over HTTP and the graph drawn in Debian's Chromium,
each beside GET /health measured in the same run (ratios compare across noisy runs)."""

from __future__ import annotations

import random
import shutil
from typing import Any

from api.live import live_server
from benchmarks.http import _percentiles, time_requests
from kg.settings import Settings

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


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
                for path, label in ((f"/concept/{center}?direction=both&depth=2",
                                     f"graph of {center} (depth 2, both ways) drawn in chromium"),
                                    ("/overview", "whole-glossary graph drawn in chromium")):
                    times = []
                    for _ in range(loads + 1):
                        page.goto(url + path)
                        page.wait_for_function("window.kgDrawnMs !== undefined")
                        times.append(page.evaluate("window.kgDrawnMs") / 1000)
                    nodes = page.locator("svg.graph a.node").count()
                    p50, p99 = _percentiles(times[1:])
                    rows.append({"name": label, "p50_ms": p50 * 1000, "p99_ms": p99 * 1000, "ratio": p50 / base,
                                 "note": f"navigation to painted, {loads} loads, {nodes} nodes"})
                browser.close()
        else:
            rows.append({"name": "graph drawn in chromium", "p50_ms": float("nan"), "p99_ms": float("nan"),
                         "ratio": float("nan"), "note": "skipped: needs Debian's chromium and playwright"})
    return rows
