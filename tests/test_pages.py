"""The web pages: server-side rendering, layout and SVG, and a real headless Chromium
driving search, a concept page, the graph and the keyboard.

Browser tests use Debian's ``chromium`` (``/usr/bin/chromium``; ``.ci/run`` installs it)
through Playwright, never a downloaded browser. They are skipped when it is absent,
except in CI. Screenshots go to ``test-artifacts/screenshots/``.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import networkx as nx
import pytest

from api.guard import CONTENT_SECURITY_POLICY
from api.pages import http_url
from api.render import definition_html
from ingest import ingest_paths
from kg import Glossary, Settings
from kg.prereqs.layout import layered_layout
from kg.store.versions import update_store
from kg.text import unescape_tex

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and none of the background traffic this machine's closed network would refuse.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(serve, tmp_path_factory, linked_corpus) -> Iterator[str]:
    settings = Settings(store=tmp_path_factory.mktemp("pages") / "store", model="fake", reload_interval=0)
    assert update_store([linked_corpus], settings).version
    url = serve(settings)
    yield url


# -- pieces ------------------------------------------------------------------------------------


def test_definition_html_nests_lists_links_and_keeps_math():
    html = definition_html("- top $\\\\eta$ uses B\n  - child\n    - grandchild\n- next `code` B\n$$\n\\\\theta\n$$",
                           [("B", "b-id")])
    assert html.count("<ul>") == 3 and html.count("<li>") == 4
    assert html.count('href="/concept/b-id"') == 1  # the first occurrence only
    assert '<span class="math">$\\eta$</span>' in html and "<code>code</code>" in html
    assert '<div class="math display">$$\\theta$$</div>' in html
    assert "<script" not in definition_html("- <script>alert(1)</script>")
    assert unescape_tex("$a \\\\\\\\ b$") == "$a \\\\ b$"  # a real TeX line break stays


def test_layered_layout_puts_basics_on_top():
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c"), ("x", "c")])
    layout = layered_layout(graph)
    for u, v in graph.edges:
        assert layout.boxes[u].y < layout.boxes[v].y
    boxes = sorted(layout.boxes.values(), key=lambda b: (b.y, b.x))
    for left, right in zip(boxes, boxes[1:], strict=False):  # no two boxes of a layer overlap
        assert left.y != right.y or left.x + left.width <= right.x


# -- server-side pages -------------------------------------------------------------------------


def test_pages_render_with_titles_landmarks_and_nothing_external(server):
    with httpx.Client(base_url=server) as client:
        for path, title in (("/", "Search"), ("/?q=overfitting", "overfitting"),
                            ("/concept/overfitting", "Overfitting"), ("/concept/過学習", "Overfitting"),
                            ("/overview", "whole glossary"), ("/docs", "API")):
            response = client.get(path)
            assert response.status_code == 200, path
            html = response.text
            assert re.search(rf"<title>[^<]*{re.escape(title)}", html), path
            if path != "/docs":
                for landmark in ("<header", "<nav", "<main", "<footer"):
                    assert landmark in html, (path, landmark)
            # Everything loaded comes from this server (links to the published pages are links).
            for attribute in re.findall(r'(?:src|href)="([^"]+)"', html):
                if urlsplit(attribute).scheme:
                    assert 'rel="external"' in html.split(attribute)[1][:40], (path, attribute)
        results = client.get("/", params={"q": "過学習"}).text
        assert '<a href="/concept/overfitting"' in results
        missing = client.get("/concept/Overfiting")
        assert missing.status_code == 404 and "/concept/overfitting" in missing.text
        unrelated = client.get("/concept/nonexistent-term")  # spelt like no label: nothing offered
        assert unrelated.status_code == 404 and "Did you mean" not in unrelated.text
        assert "Search for it" in unrelated.text
        assert client.get("/overview", params={"collection": "nope"}).status_code == 422
        docs = client.get("/docs").text
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
        assert '<a href="/">Back to the glossary</a>' in docs  # a way back from the API pages
        icon = client.get("/favicon.ico")  # browsers ask for it whatever the page says
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
        assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").text
        assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
        assert "openapi" in client.get("/openapi.json").json()


def test_concept_page_graph_matches_the_prerequisite_view(server, linked_corpus):
    glossary = Glossary.from_ingest(ingest_paths([linked_corpus]), Settings(semantic_index=False))
    expected = glossary.prerequisite_view("overfitting", None, "path")
    path = {step["id"] for step in glossary.learning_path("overfitting")["path"]}
    assert set(expected) == path | {"overfitting"} | set(glossary.prerequisites.successors("overfitting"))
    html = httpx.get(f"{server}/concept/overfitting").text
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert set(re.findall(r'<a href="/concept/[^"]+" class="node[^"]*" data-id="([^"]+)"', svg)) == set(expected)
    assert 'class="node center" data-id="overfitting"' in svg
    assert len(re.findall(r'<path class="edge', svg)) == expected.number_of_edges()
    assert 'role="img"' in svg and "<desc" in svg and "<title" in svg
    wider = httpx.get(f"{server}/concept/overfitting", params={"direction": "both", "depth": 2}).text
    assert wider.count('class="node') == glossary.prerequisite_view("overfitting", 2, "both").number_of_nodes()


# -- what the store says never runs as script ------------------------------------------------------

HOSTILE_URLS = ["javascript:alert(document.domain)", "JavaScript:alert(1)", "java\tscript:alert(1)",
                "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.example/x",
                "https:evil.example", "http://", " javascript:alert(1)", 'https://x.org/"onmouseover="alert(1)']


def test_http_url_lets_only_http_and_https_through():
    for url in HOSTILE_URLS:
        assert http_url(url) is None, url
    for url in ("https://github.com/a/b/blob/main/x.md", "http://example.org/?q=1#f", "HTTPS://EXAMPLE.ORG/"):
        assert http_url(url) == url


def test_a_javascript_source_url_is_no_link_on_the_concept_page(serve, tmp_path):
    """The glossary file's `記事URL` comment is whatever its author (or an attacker) wrote."""
    (tmp_path / "bad.md").write_text("<!-- 記事URL: javascript:alert(document.domain) -->\n\n"
                                     "## 悪意 | Payload\n- A term whose page must not run script.\n", encoding="utf-8")
    (tmp_path / "good.md").write_text("<!-- 記事URL:https://example.org/good.md# -->\n\n"
                                      "## 善意 | Benign\n- A term with a published page.\n", encoding="utf-8")
    settings = Settings(store=tmp_path / "store", model="fake", reload_interval=0)
    assert update_store([tmp_path / "bad.md", tmp_path / "good.md"], settings).version
    url = serve(settings)
    bad = httpx.get(url + "/concept/Payload")
    good = httpx.get(url + "/concept/Benign")
    # The ingest keeps whatever URL the comment has (today); the page must be safe whatever the store holds.
    assert bad.status_code == good.status_code == 200
    hrefs = re.findall(r'href="([^"]*)"', bad.text)
    assert hrefs and not [h for h in hrefs if not h.startswith(("/", "#"))], hrefs
    assert "javascript:" not in bad.text.lower()
    assert '<a href="https://example.org/good.md" rel="external">published page</a>' in good.text


# -- in a real browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing: .ci/run installs it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data folder
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(server) else outside.append(request.url))
    yield page
    page.close()
    assert not outside, f"the page fetched from elsewhere: {outside}"


# Every violation of the Content-Security-Policy, whether Chromium reports it as an event or only logs it.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || "")));
"""


def test_every_page_runs_under_the_content_security_policy_without_a_violation(browser, server):
    page = browser.new_page()
    page.add_init_script(CSP_LISTENER)
    logged: list[str] = []
    page.on("console", lambda m: logged.append(m.text) if "Content Security Policy" in m.text else None)
    for path, ready in (("/", "html[data-ready=true]"), ("/?q=overfitting", "#results a.hit"),
                        ("/concept/optimizer", ".definition .katex"), ("/concept/overfitting", "svg.graph a.node"),
                        ("/overview", "section.explorer[data-ready=true]"), ("/concept/Overfiting", "h1"),
                        ("/docs", ".swagger-ui .opblock")):
        response = page.goto(server + path)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
        page.wait_for_selector(ready, timeout=15_000)
        if path == "/docs":  # Swagger UI draws an operation, and loads the schema from here
            page.locator(".swagger-ui .opblock-summary").first.click()
            page.wait_for_selector(".swagger-ui .opblock-body", timeout=10_000)
        if path == "/":  # autocomplete and results as you type: script that fetches
            page.fill("#q", "過学")
            page.wait_for_selector("#suggestions [role=option]")
        page.wait_for_timeout(200)
        violations = page.evaluate("window.__cspViolations")
        assert not violations and not logged, (path, violations, logged)
    html = httpx.get(server + "/docs").text  # no inline script left on the page FastAPI would write
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), html
    page.close()


def test_search_finds_overfitting_in_both_languages_and_opens_it(page, server):
    page.goto(server + "/")
    assert page.title().startswith("Search")
    for query in ("overfitting", "過学習"):
        page.fill("#q", query)
        hit = page.locator("#results a.hit", has_text="Overfitting").first
        hit.wait_for(timeout=10_000)
        assert "過学習" in hit.inner_text()
        assert page.locator("#suggestions [role=option]").count() >= 1  # autocomplete too
    score = page.locator("#results li .score").first.inner_text()
    assert re.fullmatch(r"(0\.\d\d|1\.00) · (label|meaning|words)", score), score  # one 0-1 scale, and what found it
    page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)
    page.fill("#q", "qqqq zzzz xxxx")  # nothing in the glossary is close
    page.locator("#results-status", has_text="No close match").wait_for(timeout=10_000)
    assert page.locator("#results li").count() == 0
    weak = page.locator("#weak-results")
    assert weak.is_visible() and weak.get_attribute("open") is None  # shown apart, folded
    page.fill("#q", "XGBoost hyperparameters")  # a name the glossary never uses: said so
    page.locator("#results-status", has_text="the glossary never mentions XGBoost").wait_for(timeout=10_000)
    page.fill("#q", "Overfiting")  # a label misspelt is found as such
    page.locator("#results a.hit", has_text="Overfitting").first.wait_for(timeout=10_000)
    page.fill("#q", "Epohc")  # too short to be called a typo: the label spelt like it is offered
    page.wait_for_selector("#did-you-mean a[href='/concept/epoch']", timeout=10_000)
    page.screenshot(path=str(SCREENSHOTS / "no-close-match.png"), full_page=True)
    page.fill("#q", "overfitting")
    hit = page.locator("#results a.hit", has_text="Overfitting").first
    hit.wait_for(timeout=10_000)
    hit.click()
    page.wait_for_url(re.compile(r".*/concept/overfitting$"))
    assert "Overfitting" in page.title()


def test_concept_page_renders_definition_math_and_graph_then_a_node_click_navigates(page, server):
    page.goto(server + "/concept/optimizer")
    page.wait_for_selector("html[data-ready=true]")
    assert page.locator(".definition ul ul li").count() >= 3  # nested lists
    assert page.locator(".definition .katex").count() >= 2  # math by the bundled KaTeX
    assert "η" in page.locator(".definition").first.inner_text()
    assert "\\eta" not in page.locator(".definition").first.inner_text()
    assert page.locator("h1").inner_text() == "Optimizer"
    path_items = page.locator(".learning-path li")
    assert path_items.count() >= 2 and all(t.strip() for t in path_items.locator(".why").all_inner_texts())

    page.goto(server + "/concept/overfitting")
    page.wait_for_selector("html[data-ready=true]")
    svg = page.locator("svg.graph")
    assert svg.get_attribute("role") == "img"
    assert page.locator("#graph-title").text_content() and page.locator("#graph-desc").text_content()
    nodes = set(page.locator("svg.graph a.node").evaluate_all("els => els.map(e => e.dataset.id)"))
    assert {"overfitting", "dropout", "generalization-performance"} <= nodes
    page.screenshot(path=str(SCREENSHOTS / "concept.png"), full_page=True)
    page.locator('svg.graph a.node[data-id="dropout"]').click()
    page.wait_for_url(re.compile(r".*/concept/dropout$"))
    assert page.locator("h1").inner_text() == "Dropout"


def test_a_tall_concept_graph_starts_readable_on_its_concept(page, server):
    """A graph too tall to fit at a readable size starts at its drawn size, centred on the
    concept (labels >= 11 px on screen); Fit then shows it whole."""
    tallest = max(("transformer", "large-language-model", "deep-learning", "neural-network", "overfitting"),
                  key=lambda cid: httpx.get(f"{server}/concept/{cid}").text.count('class="node'))
    page.goto(f"{server}/concept/{tallest}")
    page.wait_for_selector("html[data-ready=true]")
    scale = page.evaluate("document.querySelector('svg.graph').getScreenCTM().a")
    assert 12 * scale >= 11, (tallest, scale)
    frame = page.locator(".graph-frame").bounding_box()
    centre = page.locator("svg.graph .node.center").bounding_box()
    assert frame["x"] <= centre["x"] + centre["width"] / 2 <= frame["x"] + frame["width"]
    assert frame["y"] <= centre["y"] + centre["height"] / 2 <= frame["y"] + frame["height"]
    page.locator("[data-zoom=reset]").click()  # Fit: the whole graph, smaller if it must be
    assert page.evaluate("document.querySelector('svg.graph').getScreenCTM().a") <= scale


def test_keyboard_only(page, server):
    page.goto(server + "/concept/dropout")
    page.keyboard.press("Tab")  # the skip link comes first, and leads to the content
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(server + "/")
    assert page.evaluate("document.activeElement.id") == "q"  # the search box has the focus
    page.keyboard.type("過学", delay=30)
    page.wait_for_selector("#suggestions [role=option]")
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#suggestions [role=option] >> nth=0", "aria-selected") == "true"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/concept/.+"))
    # Results are links in the tab order: type, Tab past the search button and filters, Enter.
    page.goto(server + "/?q=")
    page.focus("#q")
    page.keyboard.type("dropout", delay=20)
    page.locator("#results a.hit").first.wait_for()
    page.keyboard.press("Escape")  # close the suggestions
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('hit')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('hit')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/concept/.+"))
    # Landmarks and a title on every page.
    for role in ("banner", "navigation", "main", "contentinfo"):
        assert page.get_by_role(role).count() >= 1, role
    assert page.title()
    # Links of the definition are reachable with Tab and open with Enter.
    first_link = page.locator(".definition a").first
    target = first_link.get_attribute("data-id")
    first_link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/concept/{re.escape(target)}$"))
    # The graph frame takes focus and zooms with the keyboard.
    page.focus(".graph-frame")
    before = page.get_attribute("svg.graph", "viewBox")
    page.keyboard.press("+")
    assert page.get_attribute("svg.graph", "viewBox") != before


def test_overview_draws_the_whole_glossary_and_filters_by_collection(page, server):
    page.goto(server + "/overview")
    page.wait_for_selector("section.explorer[data-ready=true]", state="attached")
    assert page.evaluate("window.kgGraph.nodes().length") == 218
    # Depth and direction only mean something around a term: off until one is given.
    assert page.is_disabled("select[name=depth]") and page.is_disabled("select[name=direction]")
    page.fill("input[name=center]", "Dropout")
    assert page.is_enabled("select[name=depth]") and page.is_enabled("select[name=direction]")
    page.fill("input[name=center]", "")
    page.select_option("select[name=collection]", index=1)
    page.click("form.graph-controls button[type=submit]")
    page.wait_for_selector("section.explorer[data-ready=true]", state="attached")
    assert 0 < page.evaluate("window.kgGraph.nodes().length") < 218


def test_overview_without_script_has_the_layered_svg_and_the_graph_as_text(server):
    html = httpx.get(server + "/overview").text
    noscript = html[html.index("<noscript>") : html.index("</noscript>")]
    assert noscript.count('class="node') == 218 and 'role="img"' in noscript
    text = html[html.index('<details class="graph-text">') :]
    assert text.count("<li>") == len(re.findall(r'<path class="edge', noscript)) > 100
    assert '<section class="explorer"' in html and "hidden>" in html.split('<section class="explorer"')[1][:400]
    assert '<script defer src="/static/vendor/cytoscape/cytoscape.min.js"></script>' in html
    assert 'href="/overview?focus=overfitting">Explore in the graph</a>' in httpx.get(
        server + "/concept/overfitting").text


# -- the graph explorer on /overview (static/explorer.js, Cytoscape.js) ----------------------------

# Each node whose position lies in the current view: its id, rendered label size (font-size x zoom,
# in CSS px) and label text.
NODES_IN_VIEW = """() => {
  const cy = window.kgGraph, box = cy.extent();
  return cy.nodes().filter(n => { const p = n.position();
    return p.x >= box.x1 && p.x <= box.x2 && p.y >= box.y1 && p.y <= box.y2; })
    .map(n => ({id: n.id(), px: parseFloat(n.style("font-size")) * cy.zoom(), label: n.style("label")}));
}"""


@pytest.fixture
def explorer(browser, server):
    """/overview in Chromium, drawn: no console error, no CSP violation, nothing fetched from elsewhere."""
    page = browser.new_page()
    page.add_init_script(CSP_LISTENER)
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda r: None if urlsplit(r.url).hostname == "127.0.0.1" else outside.append(r.url))
    page.goto(server + "/overview")
    page.wait_for_selector("section.explorer[data-ready=true]", state="attached")
    yield page
    assert not page.evaluate("window.__cspViolations")
    page.close()
    assert not errors, errors
    assert not outside, f"the explorer fetched from elsewhere: {outside}"


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll ``expression`` until true (``page.wait_for_function`` evaluates its text with eval(),
    which the pages' Content-Security-Policy refuses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)


def rendered_point(page, node_id: str) -> tuple[float, float]:
    """Where a node is drawn, in page coordinates."""
    box = page.locator("#graph-canvas").bounding_box()
    point = page.evaluate("id => window.kgGraph.getElementById(id).renderedPosition()", node_id)
    return box["x"] + point["x"], box["y"] + point["y"]


def a_node_in_view_with_neighbours(page) -> str:
    """A node well inside the view with both prerequisites and dependents."""
    return page.evaluate("""() => {
      const cy = window.kgGraph, w = cy.width(), h = cy.height();
      return cy.nodes().filter(n => { const p = n.renderedPosition();
          return p.x > 0.15 * w && p.x < 0.85 * w && p.y > 0.15 * h && p.y < 0.85 * h
            && n.incomers("node").length && n.outgoers("node").length; })
        .sort((a, b) => b.degree() - a.degree())[0].id();
    }""")


def test_explorer_labels_are_legible_at_the_default_zoom(explorer):
    in_view = explorer.evaluate(NODES_IN_VIEW)
    assert len(in_view) >= 10, in_view
    small = [node for node in in_view if node["px"] < 11]
    assert not small, small
    assert all(node["label"] for node in in_view)  # every concept in view is labelled
    explorer.screenshot(path=str(SCREENSHOTS / "overview.png"))
    # Zoomed far out, labels hide rather than shrink below legibility (min-zoomed-font-size).
    assert explorer.evaluate("window.kgGraph.nodes()[0].style('min-zoomed-font-size')") == "11px"


def test_explorer_hover_highlights_prerequisites_and_dependents(explorer):
    node = a_node_in_view_with_neighbours(explorer)
    explorer.mouse.move(*rendered_point(explorer, node))
    wait_until(explorer, f"window.kgGraph.getElementById({node!r}).hasClass('hovered')")
    classes = explorer.evaluate("""id => {
      const cy = window.kgGraph, n = cy.getElementById(id);
      return {name: n.data("name"), prereqs: n.incomers("node").every(m => m.hasClass("prerequisite")),
              dependents: n.outgoers("node").every(m => m.hasClass("dependent")),
              inEdges: n.incomers("edge").every(e => e.hasClass("to-prerequisite")),
              faded: cy.nodes(".faded").length, others: cy.nodes().length - n.closedNeighborhood("node").length};
    }""", node)
    assert classes["prereqs"] and classes["dependents"] and classes["inEdges"]
    assert classes["faded"] == classes["others"] > 0  # the rest dims
    assert classes["name"] in explorer.locator("#graph-status").inner_text()  # said, for screen readers


def test_explorer_click_opens_the_concept(explorer):
    node = a_node_in_view_with_neighbours(explorer)
    explorer.mouse.click(*rendered_point(explorer, node))
    explorer.wait_for_url(re.compile(rf".*/concept/{re.escape(node)}$"))


def test_explorer_search_centres_and_selects_the_concept_and_its_learning_path(explorer, server):
    explorer.fill("#graph-find", "過学習")
    wait_until(explorer, "window.kgGraph.$(':selected').map(n => n.id()).join() === 'overfitting'")
    where = explorer.evaluate("""() => { const cy = window.kgGraph, n = cy.getElementById('overfitting');
      return {x: n.renderedPosition().x, y: n.renderedPosition().y, w: cy.width(), h: cy.height(),
              px: parseFloat(n.style('font-size')) * cy.zoom()}; }""")
    assert abs(where["x"] - where["w"] / 2) < 2 and abs(where["y"] - where["h"] / 2) < 2  # centred
    assert where["px"] >= 11
    path = httpx.get(server + "/concepts/overfitting/prerequisites").json()["path"]
    explorer.wait_for_selector("#graph-path li")
    gold = set(explorer.evaluate("window.kgGraph.nodes('.on-path').map(n => n.id())"))
    assert gold == {"overfitting", *(step["id"] for step in path)}
    assert explorer.locator("#graph-path li").count() == len(path)
    explorer.screenshot(path=str(SCREENSHOTS / "overview-search.png"))


def test_explorer_focus_parameter_opens_on_the_concept_with_its_path(page, server):
    page.goto(server + "/overview?focus=dropout")
    page.wait_for_selector("#graph-path li, #graph-path p", state="attached")
    assert page.evaluate("window.kgGraph.$(':selected').id()") == "dropout"
    assert "dropout" in page.evaluate("window.kgGraph.nodes('.on-path').map(n => n.id())")


def test_explorer_filters_hide_low_confidence_and_unticked_relations(explorer):
    edges = "window.kgGraph.edges().map(e => [e.data('confidence'), e.data('relation')])"
    before = explorer.evaluate(edges)
    set_slider = "v => { const s = document.getElementById('graph-confidence'); s.value = v; " \
                 "s.dispatchEvent(new Event('input')); }"
    explorer.evaluate(set_slider, "0.8")
    after = explorer.evaluate(edges)
    assert 0 < len(after) < len(before) and all(confidence >= 0.8 for confidence, _ in after)
    assert len(after) == sum(confidence >= 0.8 for confidence, _ in before)
    explorer.evaluate(set_slider, "0")
    assert len(explorer.evaluate(edges)) == len(before)
    explorer.locator("#graph-relations input[value=uses]").uncheck()
    shown = explorer.evaluate(edges)
    assert shown and "uses" not in {relation for _, relation in shown}


def test_explorer_keyboard_zooms_pans_and_opens_a_concept(explorer):
    explorer.focus("#graph-canvas")
    zoom = explorer.evaluate("window.kgGraph.zoom()")
    explorer.keyboard.press("+")
    assert explorer.evaluate("window.kgGraph.zoom()") > zoom
    explorer.keyboard.press("0")
    assert explorer.evaluate("window.kgGraph.zoom()") == zoom
    pan = explorer.evaluate("window.kgGraph.pan()")
    explorer.keyboard.press("ArrowRight")
    assert explorer.evaluate("window.kgGraph.pan()")["x"] < pan["x"]
    explorer.keyboard.press("]")
    focused = explorer.evaluate("window.kgGraph.nodes('.focused').map(n => n.id())")
    assert len(focused) == 1 and explorer.locator("#graph-status").inner_text()
    explorer.keyboard.press("Enter")
    explorer.wait_for_url(re.compile(rf".*/concept/{re.escape(focused[0])}$"))


@pytest.fixture(scope="module")
def large_server(serve, tmp_path_factory) -> str:
    """3,000 synthetic concepts (benchmarks.synth): past the explorer's LARGE_GRAPH, so that it holds
    in Cytoscape only the concepts near the view."""
    from benchmarks.pages import synthetic_store

    return serve(synthetic_store(3000, tmp_path_factory.mktemp("synthetic")))


def test_a_large_graph_holds_what_is_near_the_view_and_stays_legible(browser, large_server):
    page = browser.new_page()
    page.add_init_script(CSP_LISTENER)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(large_server + "/overview")
    page.wait_for_selector("section.explorer[data-ready=true]", state="attached")
    held = page.evaluate("window.kgGraph.nodes().length")
    assert 0 < held < 3000  # the first view and its neighbours, not the whole glossary
    in_view = page.evaluate(NODES_IN_VIEW)
    assert len(in_view) >= 10 and all(node["px"] >= 11 and node["label"] for node in in_view), in_view
    page.screenshot(path=str(SCREENSHOTS / "overview-large.png"))
    # "Whole graph": more concepts in view than a frame can visit, so the best-linked stand for the
    # rest (their labels are hidden at that zoom anyway); back to the first view, its concepts return.
    nodes = httpx.get(large_server + "/graph/layout", timeout=60).json()["elements"]["nodes"]
    degree = {n["data"]["id"]: n["data"]["degree"] for n in nodes}
    hubs = sorted(degree, key=degree.get, reverse=True)[:100]
    page.click("[data-graph-zoom=fit]")
    wait_until(page, f"{hubs!r}.every(id => window.kgGraph.getElementById(id).length) && "
                     "window.kgGraph.nodes().length <= 1600")
    far_out = set(page.evaluate("window.kgGraph.nodes().map(n => n.id())"))
    assert min(degree[i] for i in far_out) >= max(degree[i] for i in degree if i not in far_out)
    page.focus("#graph-canvas")
    page.keyboard.press("0")
    wait_until(page, "window.kgGraph.zoom() >= 0.85")
    wait_until(page, f"({NODES_IN_VIEW})().length >= 10")  # the holder fills after the view moves
    in_view = page.evaluate(NODES_IN_VIEW)
    assert len(in_view) >= 10 and all(node["px"] >= 11 and node["label"] for node in in_view), in_view
    # Search finds a concept the graph does not hold yet, and centres it.
    box = page.evaluate("window.kgGraph.extent()")
    view = ((box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2)
    held = set(page.evaluate("window.kgGraph.nodes().map(n => n.id())"))
    far = max((n for n in nodes if n["data"]["id"] not in held),
              key=lambda n: math.dist(view, (n["position"]["x"], n["position"]["y"])))["data"]
    page.fill("#graph-find", far["name"])
    wait_until(page, f"window.kgGraph.$(':selected').map(n => n.id()).join() === {far['id']!r}")
    x, y = page.evaluate("id => Object.values(window.kgGraph.getElementById(id).renderedPosition())", far["id"])
    width, height = page.evaluate("[window.kgGraph.width(), window.kgGraph.height()]")
    assert abs(x - width / 2) < 2 and abs(y - height / 2) < 2
    assert not page.evaluate("window.__cspViolations") and not errors, errors
    page.close()


@pytest.mark.slow
def test_the_bundled_glossary_with_the_default_model(serve, browser, tmp_path):
    """What the README's run command serves (data/, the default encoder), searched in Chromium."""
    settings = Settings(store=tmp_path / "store", model=Settings.model_fields["model"].default, reload_interval=0)
    url = serve(settings)
    page = browser.new_page()
    page.goto(url + "/")
    for query in ("overfitting", "過学習"):
        page.fill("#q", query)
        hit = page.locator("#results a.hit", has_text="Overfitting").first
        hit.wait_for(timeout=20_000)
        assert "過学習" in hit.inner_text()
    hit.click()
    page.wait_for_url(re.compile(r".*/concept/overfitting$"))
    assert page.locator(".definition li").count() >= 1 and page.locator("svg.graph a.node").count() >= 2
    node = page.locator("svg.graph a.node:not(.center)").first
    target = node.get_attribute("data-id")
    node.click()
    page.wait_for_url(re.compile(rf".*/concept/{re.escape(target)}$"))
    page.close()


def test_the_index_of_terms_lists_both_scripts_and_is_keyboard_usable(page, server):
    page.goto(server + "/terms")
    letters = page.locator("nav.letters a").all_inner_texts()
    assert "A" in letters and "か" in letters and letters.index("Z" if "Z" in letters else "A") < letters.index("か")
    # A kanji label sits under the kana row of its reading: 深層学習 (しんそうがくしゅう) under さ.
    row = page.locator("section.index-group", has=page.locator("h2", has_text="さ"))
    assert "深層学習" in row.inner_text() and "しんそうがくしゅう" in row.inner_text()
    assert "Deep Learning" in page.locator("section.index-group", has=page.locator("h2", has_text="D")).inner_text()
    page.focus("nav.letters a >> nth=0")
    page.keyboard.press("Enter")
    assert page.url.endswith("#group-1")
    page.screenshot(path=str(SCREENSHOTS / "terms.png"), full_page=False)


def test_the_hierarchy_opens_narrower_terms_from_the_keyboard(page, server):
    page.goto(server + "/hierarchy")
    tops = page.locator("ul.hierarchy > li")
    assert tops.count() >= 3
    closed = page.locator("ul.hierarchy details:not([open]) > summary").first
    closed.focus()
    page.keyboard.press("Enter")  # on the summary (not its link): opens the branch
    assert page.locator("ul.hierarchy details[open]").count() >= 2
    page.screenshot(path=str(SCREENSHOTS / "hierarchy.png"), full_page=False)
    # The concept page says the same: a narrower term of a top names it as broader.
    child = page.locator("ul.hierarchy > li > details > ul > li a").first
    name = page.locator("ul.hierarchy > li > details > summary a").first.inner_text()
    child.click()
    page.wait_for_selector("nav.thesaurus")
    assert name in page.locator("nav.thesaurus").inner_text()


# -- review in the browser, behind the admin token ------------------------------------------------


@pytest.fixture(scope="module")
def review_server(serve, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A server over a copy of the bundled glossary with an admin token: answers are written there."""
    folder = tmp_path_factory.mktemp("review")
    source = folder / "glossary"
    shutil.copytree(ROOT / "data", source)
    settings = Settings(store=folder / "store", model="fake", reload_interval=0, admin_token="s3cret-token")
    assert update_store([source], settings).version
    yield serve(settings), source


def test_review_in_the_browser_answers_three_questions_and_the_concept_page_shows_it(browser, review_server):
    url, source = review_server
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(url) else outside.append(request.url))
    page.goto(url + "/review")
    assert page.locator("form.answer").count() == 0  # not signed in: no review controls
    page.fill("#token", "s3cret-token")
    page.click("form.sign-in button")
    page.wait_for_selector("ol.questions li.question")
    first = page.locator("li.question").first
    asked = first.locator("input[name=prerequisite]").get_attribute("value"), \
        first.locator("input[name=concept]").get_attribute("value")
    first.locator("button[value=yes]").click()  # 1: yes
    page.wait_for_selector("ol.questions li.question")
    page.locator("li.question").first.locator("button[value=no]").click()  # 2: no
    page.wait_for_selector("ol.questions li.question")
    page.locator("li.question").first.locator("button[value=skip]").click()  # 3: skip
    page.wait_for_selector("ol.questions li.question")
    overrides = (source / "kg-prerequisites.yaml").read_text(encoding="utf-8")
    assert "confirm:" in overrides and "reject:" in overrides
    page.screenshot(path=str(SCREENSHOTS / "review.png"), full_page=False)
    # The concept page, reloaded, lists the confirmed prerequisite as curated.
    prerequisite, concept = asked
    page.goto(url + f"/concept/{concept}")
    item = page.locator(".learning-path li", has=page.locator(f'a[href="/concept/{prerequisite}"]'))
    assert item.count() == 1 and "curated" in item.inner_text()
    assert page.locator("form.add-prerequisite").count() == 1  # an admin's controls
    page.close()
    assert not outside, outside


def test_without_the_token_no_write_route_exists_and_no_control_shows(client_for, tmp_path):
    settings = Settings(store=tmp_path / "store", model="fake", reload_interval=0)
    assert update_store([ROOT / "data"], settings).version
    http = client_for(settings)
    page = http.get("/review")
    assert page.status_code == 200 and "Review is off" in page.text and "/admin/review/answer" not in page.text
    assert "/admin/review/answer" not in http.get("/concept/optimizer").text
    form = {"prerequisite": "weight", "concept": "optimizer", "answer": "no", "form_key": "x"}
    assert http.post("/admin/review/answer", data=form).status_code == 403
    assert http.post("/admin/session", data={"token": "guess"}).status_code == 403


def test_with_the_token_a_form_needs_the_signed_in_session(review_server):
    url, _source = review_server
    with httpx.Client(base_url=url, follow_redirects=False) as http:
        form = {"prerequisite": "weight", "concept": "optimizer", "answer": "no", "form_key": "x"}
        assert http.post("/admin/review/answer", data=form).status_code == 401
        assert http.post("/admin/session", data={"token": "wrong"}).status_code == 401
        signed = http.post("/admin/session", data={"token": "s3cret-token", "next": "https://evil.example/"})
        assert signed.status_code == 303 and signed.headers["location"] == "/review"  # never off-site
        cookie = signed.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and "s3cret-token" not in cookie
        assert http.post("/admin/review/answer", data=form).status_code == 401  # the cookie alone is not enough


def test_the_api_docs_page_has_a_way_back(page, server):
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=15_000)
    page.screenshot(path=str(SCREENSHOTS / "docs.png"), full_page=False)
    page.click("text=Back to the glossary")
    page.wait_for_url(server + "/")
