"""Glossaries kept in documentation sites (ingest.dialects): Hugo/Docsy, MkDocs Material,
Docusaurus/MDX, mdBook and GitHub wikis. One committed fixture per dialect (tests/fixtures/dialects)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rdflib import Graph
from rdflib.compare import isomorphic

from api.app import create_app
from api.cli import cli
from ingest import ingest_paths
from ingest.dialects import MarkdownReader, canonical, choose, detect, module, names
from ingest.dialects._common import Options, Site
from ingest.reader import InputFile, discover
from ingest.skos import parse_skos
from kg import Glossary
from kg.errors import ConfigurationError
from kg.rdf.formats import EXPORT_FORMATS, serialize
from kg.rdf.skos import to_rdf
from kg.settings import Settings

DIALECTS = Path(__file__).resolve().parent / "fixtures" / "dialects"
HUGO, MKDOCS, DOCUSAURUS, MDBOOK = (DIALECTS / name for name in ("hugo", "mkdocs", "docusaurus", "mdbook"))
ALL = {"hugo": HUGO, "mkdocs": MKDOCS, "docusaurus": DOCUSAURUS, "mdbook": MDBOOK}
# What must never reach clean text: template markup, HTML comments, character references.
LEAKS = re.compile(r"\{\{|\{%|<!--|&#|&[a-z]+;")


@pytest.fixture(scope="module")
def ingested() -> dict[str, Glossary]:
    settings = Settings(model="fake")
    return {name: Glossary.from_ingest(ingest_paths([folder], settings), settings) for name, folder in ALL.items()}


def _result(folder: Path, **settings):
    return ingest_paths([folder], Settings(model="fake", **settings))


def _labels(glossary: Glossary, concept_id: str) -> set[str]:
    return {label.text for label in glossary.concepts[concept_id].labels}


def _targets(glossary: Glossary, concept_id: str, kinds: tuple[str, ...] = ("id", "link", "site")) -> set[str]:
    return {link.target for link in glossary.concepts[concept_id].links if link.kind in kinds}


def _members(glossary: Glossary, collection_id: str) -> set[str]:
    return {c.id for c in glossary.concepts.values() if collection_id in c.collections}


def _front(path: Path) -> dict:
    """A Hugo file's front matter, read here independently of the reader under test."""
    text = path.read_text(encoding="utf-8")
    if text.startswith("+++"):
        return tomllib.loads(text.split("+++")[1])
    if text.startswith("{"):
        return json.loads(text[: text.index("\n}") + 2])
    return yaml.safe_load(text.split("---")[1]) or {}


# -- Hugo / Docsy -------------------------------------------------------------------------------


def test_hugo_terms_ids_and_every_aka(ingested):
    glossary = ingested["hugo"]
    terms = [p for p in sorted((HUGO / "glossary").glob("*.md")) if p.name != "index.md"]
    assert len(terms) == 13
    assert set(glossary.concepts) == {_front(p)["id"] for p in terms}  # the stated id is the concept id
    for path in terms:
        front = _front(path)
        aka = front.get("aka") or []
        aka = [a.strip() for a in aka.split(",")] if isinstance(aka, str) else aka
        concept = glossary.concepts[front["id"]]
        assert concept.pref_labels()["en"] == front["title"]
        assert set(aka) <= {label.text for label in concept.alt_labels()}, path.name
    # Hugo's `aliases` are old URLs, not names.
    assert not any(label.text.startswith("/") for c in glossary.concepts.values() for label in c.labels)
    assert "index" not in glossary.concepts and "glossary" not in glossary.concepts  # the landing page


def test_hugo_every_term_id_is_a_link(ingested):
    glossary = ingested["hugo"]
    term_link = re.compile(r"term_id\s*=\s*[\"']([^\"']+)[\"']")
    for path in (HUGO / "glossary").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        if path.name == "index.md":
            continue
        own = _front(path)["id"]
        expected = {t for t in term_link.findall(text) if t != own}
        assert expected <= _targets(glossary, own, ("id",)), path.name
    # Istio-style anchors into the glossary page and Hugo ref shortcodes link terms too.
    assert "consumer" in _targets(glossary, "backpressure", ("id",))
    assert "record" in _targets(glossary, "schema-registry", ("link",))
    link = next(l for l in glossary.concepts["retention-policy"].links if l.target == "broker")
    assert link.text == "broker" and "{{" not in link.sentence


def test_hugo_collections_urls_and_the_summary_divider(ingested):
    glossary = ingested["hugo"]
    assert _members(glossary, "tag-fundamental") == {"broker", "topic", "partition", "record", "exactly-once"}
    assert _members(glossary, "tag-client") == {"producer", "consumer", "consumer-group"}
    assert glossary.collections["tag-fundamental"].label == "fundamental"
    broker = glossary.concepts["broker"]
    # `<!--more-->`: the short definition first, then the long explanation; both kept.
    assert [d.text.split()[0] for d in broker.definitions] == ["A", "Several"]
    assert broker.definitions[0].source.line < broker.definitions[1].source.line
    assert "production clusters" in broker.definitions[1].text  # the {{< note >}} keeps its content
    assert "cluster — each" in broker.definitions[1].text  # &mdash;
    # full_link: a site path joins baseURL of hugo.toml; a full URL stays.
    assert broker.sources[0].url == "https://docs.example.org/docs/concepts/broker/"
    assert glossary.concepts["topic"].sources[0].url == "https://docs.example.org/docs/concepts/topic/"


def test_hugo_empty_body_takes_short_description(ingested):
    offset = ingested["hugo"].concepts["offset"]
    assert [d.text for d in offset.definitions] == ["The position of a record inside a partition, counted from zero."]
    assert "partition" in {link.target for link in offset.links if link.kind == "id"}


def test_hugo_removed_shortcodes_are_reported_with_file_and_line():
    result = _result(HUGO)
    removed = {(i.file, i.line, i.severity) for i in result.issues if i.kind == "removed_markup"}
    assert ("glossary/consumer-group.md", 11, "info") in removed  # {{< feature-state >}}
    assert ("glossary/broker.md", 23, "info") in removed  # {{< note >}}
    assert any(i.file == "glossary/dead-letter-queue.md" and "comment" in i.message for i in result.issues)
    assert not [i for i in result.issues if i.severity != "info"], [str(i) for i in result.issues]
    code = next(c for c in result.concepts if c.id == "dead-letter-queue").definition_text
    assert "```\ndeadLetterTopic: orders.dlq\n```" in code and "runbook" not in code  # highlight; hidden comment


def test_hugo_term_mostly_shortcodes_is_found_by_a_natural_query(ingested):
    hits = ingested["hugo"].search("how long do records stay before they are deleted", k=3)
    assert "retention-policy" in [hit.id for hit in hits]
    assert all(not LEAKS.search(hit.snippet) for hit in hits)


def test_hugo_variants_of_real_glossaries(tmp_path):
    """What real Hugo glossaries write: TOML/JSON front matter, `aka` as a string, `{{% %}}`,
    single quotes, term_id before text, text-less tooltips, unclosed shortcodes."""
    folder = tmp_path / "glossary"
    folder.mkdir()
    (folder / "alpha.md").write_text(
        "---\ntitle: Alpha\nid: alpha\naka: First One\nshort_description: >\n  x\ntags:\n---\n"
        "Uses {{< glossary_tooltip term_id=\"beta\">}} and {{% glossary_tooltip term_id='gamma' text='Gammas' %}},"
        " {{< glossary_tooltip text=\"a >}} b\" term_id=\"beta\" >}}.\n{{< unclosed\n", encoding="utf-8")
    (folder / "beta.md").write_text('+++\ntitle = "Beta"\nid = "beta"\n+++\nSecond. <!-- hidden -->\n',
                                    encoding="utf-8")
    (folder / "gamma.md").write_text('{\n"title": "Gamma",\n"id": "gamma"\n}\nThird &hellip; &#8212; end.\n',
                                     encoding="utf-8")
    glossary = Glossary.from_ingest(ingest_paths([folder]))
    alpha = glossary.concepts["alpha"]
    assert _labels(glossary, "alpha") == {"Alpha", "First One"}
    assert {(l.target, l.text) for l in alpha.links if l.kind == "id"} == {
        ("beta", "beta"), ("gamma", "Gammas"), ("beta", "a >}} b")}
    for concept in glossary.concepts.values():
        assert not LEAKS.search(concept.definition_text), concept.definition_text
    assert glossary.concepts["gamma"].definition_text == "Third … — end."
    assert any(i.kind == "removed_markup" and i.severity == "warning" for i in glossary.issues)


# -- MkDocs Material ---------------------------------------------------------------------------


def test_mkdocs_definition_lists_abbreviations_and_synonyms(ingested):
    glossary = ingested["mkdocs"]
    assert set(glossary.concepts) == {
        "bandwidth", "content-delivery-network", "cache", "load-balancer", "packet", "proxy", "reverse-proxy",
        "router", "tls-handshake", "latency", "jitter", "throughput", "transport-layer-security",
        "domain-name-system", "round-trip-time"}
    assert _labels(glossary, "cache") == {"Cache", "Edge Cache"}  # two terms over one definition
    assert _labels(glossary, "reverse-proxy") == {"Reverse Proxy", "Gateway"}
    assert _labels(glossary, "content-delivery-network") == {"Content Delivery Network", "CDN"}  # *[CDN]
    assert _labels(glossary, "latency") == {"Latency", "Delay", "Lag"}
    assert _labels(glossary, "jitter") == {"Jitter", "Packet Delay Variation", "PDV"}
    assert [d.text for d in glossary.concepts["domain-name-system"].definitions] == ["Domain Name System"]
    # The empty page takes its description.
    assert glossary.concepts["latency"].definition_text.startswith("The time a packet takes")


def test_mkdocs_links_collections_and_blocks(ingested):
    glossary = ingested["mkdocs"]
    assert {"proxy", "load-balancer"} <= _targets(glossary, "reverse-proxy")
    assert "latency" in _targets(glossary, "bandwidth")  # terms/latency.md
    assert "bandwidth" in _targets(glossary, "throughput")  # ../glossary.md#bandwidth
    assert "cache" in _targets(glossary, "content-delivery-network")
    assert glossary.collections["docs-glossary--r"].label == "R"  # `## R` groups its terms
    assert _members(glossary, "docs-glossary--r") == {"reverse-proxy", "router"}
    assert _members(glossary, "tag-performance") == {"latency", "jitter", "throughput"}
    cache = glossary.concepts["cache"].definition_text
    assert "Invalidation:\nEntries expire" in cache and "???" not in cache  # a collapsible admonition
    assert "compress responses & cache" in glossary.concepts["reverse-proxy"].definition_text  # a content tab
    router = glossary.concepts["router"].definition_text
    assert router.endswith("address.") and "annotate" not in router  # attribute list
    assert ":material" not in glossary.concepts["load-balancer"].definition_text


def test_mkdocs_snippets_and_icons_are_reported():
    result = _result(MKDOCS)
    removed = [(i.file, i.line) for i in result.issues if i.kind == "removed_markup"]
    assert ("docs/glossary.md", 70) in removed and ("docs/terms/jitter.md", 13) in removed  # --8<--
    assert ("docs/glossary.md", 37) in removed  # :material-scale-balance:


# -- Docusaurus / MDX --------------------------------------------------------------------------


def test_docusaurus_terms_synonyms_and_collections(ingested):
    glossary = ingested["docusaurus"]
    assert set(glossary.concepts) == {
        "transaction", "isolation-level", "deadlock", "lock", "index-structure", "query-planner", "replica",
        "write-ahead-log", "sharding", "primary-key", "foreign-key", "materialized-view"}
    assert _labels(glossary, "transaction") == {"Transaction", "Unit of Work", "Txn"}  # synonyms, sidebar_label
    assert _labels(glossary, "lock") == {"Lock", "Latch", "Mutex"}
    assert _labels(glossary, "write-ahead-log") == {"Write-Ahead Log", "WAL"}
    assert _members(glossary, "tag-concurrency") == {"transaction", "isolation-level", "deadlock", "lock"}


def test_docusaurus_every_kind_of_link(ingested):
    glossary = ingested["docusaurus"]
    assert "isolation-level" in _targets(glossary, "transaction")  # ./isolation-level.md
    assert "transaction" in _targets(glossary, "isolation-level")  # /docs/glossary/transaction
    assert {"transaction", "lock"} <= _targets(glossary, "deadlock")  # transaction.mdx, ./lock.md
    assert "deadlock" in _targets(glossary, "lock")  # <Link to="/docs/glossary/deadlock">
    assert "query-planner" in _targets(glossary, "index-structure")  # <Term id="query-planner">
    assert "index-structure" in _targets(glossary, "query-planner")  # by slug /glossary/database-index
    assert "write-ahead-log" in _targets(glossary, "replica")  # ./write-ahead-log.mdx
    assert "replica" in _targets(glossary, "sharding")  # a relative page name
    transaction = glossary.concepts["transaction"].definition_text
    assert "BEGIN and ends with COMMIT" in transaction  # text inside <TabItem>, not code
    assert "import" not in transaction and "<Tabs" not in transaction and "{/*" not in transaction
    assert "Anomalies:\nWeaker levels" in glossary.concepts["isolation-level"].definition_text  # :::note Title


def test_docusaurus_outside_pages_are_not_broken_links_and_components_are_reported():
    result = _result(DOCUSAURUS)
    assert not [i for i in result.issues if i.kind == "broken_link"]  # /docs/guides/tuning is a page
    components = {i.message.split("<")[1].split(">")[0] for i in result.issues if "JSX component" in i.message}
    assert components == {"Tabs", "TabItem", "Admonition", "Since"}
    assert all(i.line for i in result.issues if i.kind == "removed_markup")


# -- mdBook / GitHub wiki ----------------------------------------------------------------------


def test_mdbook_sections_references_and_synonyms(ingested):
    glossary = ingested["mdbook"]
    assert len(glossary.concepts) == 13 and "a" not in glossary.concepts  # `## A` groups, it is no term
    assert _labels(glossary, "abstract-syntax-tree") == {"Abstract Syntax Tree", "AST"}
    assert _labels(glossary, "garbage-collector") == {"Garbage Collector", "GC"}
    assert _targets(glossary, "parser") == {"lexer", "abstract-syntax-tree"}  # [tokens][lexer], [AST][...]
    assert _targets(glossary, "bytecode") == {"intermediate-representation", "just-in-time-compiler"}  # {#ir}
    assert _targets(glossary, "inlining") == {"dead-code-elimination"}
    assert _members(glossary, "src-glossary--i") == {"inlining", "intermediate-representation"}
    assert not glossary.concepts["reachability"].definitions  # an empty body stays empty
    assert "Summary" not in {c.name for c in glossary.concepts.values()}  # SUMMARY.md is no glossary


def test_mdbook_directives_are_reported():
    result = _result(MDBOOK)
    removed = {(i.file, i.line) for i in result.issues if i.kind == "removed_markup"}
    assert removed == {("src/glossary.md", 3), ("src/glossary.md", 70)}


def test_github_wiki_links_name_the_page_after_the_pipe(tmp_path):
    (tmp_path / "_Sidebar.md").write_text("* [[Home]]\n", encoding="utf-8")
    (tmp_path / "Glossary.md").write_text(
        "# Glossary\n\n## Cache Line\n\nThe unit a [[cache|CPU-Cache]] moves.\n\n## CPU Cache\n\nFast memory.\n",
        encoding="utf-8")
    result = ingest_paths([tmp_path])
    line = next(c for c in result.concepts if c.id == "cache-line")
    assert [(l.target, l.text) for l in line.links if l.kind == "wikilink"] == [("cpu-cache", "cache")]
    assert line.definitions[0].text == "The unit a cache moves."


# -- choosing the dialect ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ALL))
def test_each_fixture_is_detected_by_its_site_configuration(name):
    files, _ = discover([ALL[name]])
    pending = [(item, item.path.read_text(encoding="utf-8")) for item in files if item.kind == "markdown"]
    assert {choice.dialect for choice in choose(pending)} == {name}


@pytest.mark.parametrize("name", list(ALL))
def test_without_configuration_the_files_themselves_say_it(name, tmp_path):
    for path in ALL[name].rglob("*"):
        if path.suffix in (".md", ".mdx") and path.name != "SUMMARY.md":
            target = tmp_path / path.relative_to(ALL[name])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    files, _ = discover([tmp_path])
    pending = [(item, item.path.read_text(encoding="utf-8")) for item in files]
    choices = choose(pending)
    assert {choice.dialect for choice in choices} == {name}, [(c.dialect, c.reasons) for c in choices]


def test_plain_glossaries_stay_plain(fixtures):
    files, _ = discover([fixtures / name for name in ("glossary", "plain", "vault", "english")])
    pending = [(item, item.path.read_text(encoding="utf-8")) for item in files]
    assert {choice.dialect for choice in choose(pending)} == {"plain"}
    assert detect("## Term\n\n- text\n", "x.md") == "plain"
    assert detect("Hi {{< note >}}", "x.md") == "hugo" and detect("", "x.mdx") == "docusaurus"


def test_dialect_names_aliases_and_unknown_names():
    assert names() == ["auto", "plain", "hugo", "mkdocs", "docusaurus", "mdbook"]
    assert canonical("Docsy") == "hugo" and canonical("github-wiki") == "mdbook"
    with pytest.raises(ConfigurationError, match="known dialects: auto, plain, hugo"):
        canonical("jekyll")
    with pytest.raises(ConfigurationError):
        ingest_paths([HUGO], Settings(dialect="jekyll"))


def test_a_forced_dialect_wins_over_evidence():
    plain = _result(HUGO, dialect="plain")
    # Read plainly, shortcodes leak and Hugo's old URLs become labels: what the dialect is for.
    broker = next(c for c in plain.concepts if c.id == "broker")
    assert "{{<" in broker.definition_text and "Message Broker" not in {l.text for l in broker.labels}
    assert not [i for i in plain.issues if i.kind == "dialect"]
    forced = _result(HUGO / "glossary", dialect="docsy")
    note = next(i for i in forced.issues if i.kind == "dialect")
    assert "read as hugo (--dialect)" in note.message


@pytest.fixture
def run(settings):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, [*args, "--store", str(settings.store)], obj=settings, catch_exceptions=False)

    return invoke


def test_cli_detects_and_dialect_overrides(run):
    detected = run("ingest", str(HUGO), "--json")
    assert detected.exit_code == 0, detected.output
    notes = [i for i in json.loads(detected.stdout)["issues"] if i["kind"] == "dialect"]
    assert len(notes) == 1 and "read as hugo" in notes[0]["message"]
    shown = json.loads(run("show", "broker", "--json").stdout)
    assert shown["labels"]["en"]["alt"] == ["Message Broker"]
    # The store records the dialect: another one re-reads unchanged files, the same one does not.
    forced = run("ingest", str(HUGO), "--dialect", "plain", "--json")
    assert forced.exit_code == 0 and json.loads(forced.stdout)["changed"] is True
    assert "Message Broker" not in json.loads(run("show", "broker", "--json").stdout)["labels"]["en"]["alt"]
    again = run("ingest", str(HUGO), "--dialect", "plain", "--json")
    assert json.loads(again.stdout)["changed"] is False
    back = run("ingest", str(HUGO), "--json")
    assert json.loads(back.stdout)["changed"] is True


def test_cli_unknown_dialect_lists_the_known_ones(run):
    result = run("ingest", str(HUGO), "--dialect", "jekyll")
    assert result.exit_code == 2
    assert "unknown dialect 'jekyll'" in result.stderr and "hugo, mkdocs, docusaurus, mdbook" in result.stderr


# -- nothing leaks -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ALL))
def test_no_markup_leaks_into_clean_text(ingested, name):
    glossary = ingested[name]
    for concept in glossary.concepts.values():
        texts = [d.text for d in concept.definitions] + [l.text for l in concept.labels]
        texts += [link.sentence for link in concept.links] + [link.text for link in concept.links]
        for text in texts:
            assert not LEAKS.search(text), (concept.id, text)
    for collection in glossary.collections.values():
        assert not LEAKS.search(collection.label)


@pytest.fixture(scope="module", params=list(ALL))
def api(request, tmp_path_factory) -> Iterator[tuple[TestClient, str]]:
    settings = Settings(store=tmp_path_factory.mktemp(request.param) / "store", default_glossary=ALL[request.param],
                        reload_interval=0, model="fake")
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        yield http, request.param


def test_no_markup_leaks_into_api_answers(api, ingested):
    client, name = api
    glossary = ingested[name]
    answers = []
    for concept in glossary.concepts.values():
        for path in (f"/concepts/{concept.id}", f"/concepts/{concept.id}/prerequisites",
                     f"/concepts/{concept.id}/related"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            answers.append(response.text)
        for words in (concept.name, concept.definition_text[:60]):
            response = client.get("/search", params={"q": words or concept.name, "k": 5})
            assert response.status_code == 200, response.text
            answers.append(response.text)
    answers.append(client.get("/concepts", params={"prefix": ""}).text)
    for text in answers:
        assert not LEAKS.search(text), LEAKS.search(text).group()
    assert any('"evidence"' in text for text in answers)  # prerequisite evidence was looked at


# -- SKOS round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ALL))
def test_each_dialect_round_trips_through_skos(ingested, name):
    glossary = ingested[name]
    graph = to_rdf(glossary)
    for fmt in EXPORT_FORMATS:
        data, _ = serialize(graph, fmt.name)
        assert isomorphic(graph, Graph().parse(data=data, format=fmt.rdflib)), fmt.name
        imported = parse_skos(data, f"export{fmt.suffixes[0]}", namespace=glossary.settings.namespace)
        assert not [i for i in imported.issues if i.severity == "error"], fmt.name
        again = Glossary(imported.concepts, imported.collections, settings=glossary.settings)
        assert isomorphic(graph, to_rdf(again)), fmt.name
        assert {c.id: sorted(l.text for l in c.labels) for c in again.concepts.values()} == {
            c.id: sorted(l.text for l in c.labels) for c in glossary.concepts.values()}


# -- robustness --------------------------------------------------------------------------------

_MARKUP = st.sampled_from([
    "---", "+++", "{", "}", "title: T", "aka: [A, B]", "id: x", "tags: [t]", 'title = "T"', "{{< note >}}",
    "{{< /note >}}", "{{% alert %}}", '{{< glossary_tooltip text="a" term_id="b" >}}', "{{<", ">}}", "<!--more-->",
    "<!--", "-->", "*[HTML]: Hyper Text", "!!! note \"T\"", "??? tip", "=== \"Tab\"", ":   def", "--8<--",
    "import X from '@theme/X';", "export const a = 1;", "<Tabs>", "</Tabs>", '<Link to="/docs/x">x</Link>',
    ":::note T", ":::", "{/* c */}", "{x}", "[a]: #b", "[[a|b]]", "{{#include x}}", "## Term {#id}", "# A", "## B",
    "### C", "```", "    code", "&mdash;", "&#8212;", "$x$", "- item", "\\", "\u0000", "",
])
_DOC = st.lists(st.one_of(_MARKUP, st.text(max_size=8)), max_size=30).map("\n".join)


@hypothesis_settings(max_examples=int(os.environ.get("KG_FUZZ_EXAMPLES", "300")), deadline=None,
                     suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.lists(_DOC, min_size=1, max_size=3), st.sampled_from(["hugo", "mkdocs", "docusaurus", "mdbook"]))
def test_dialect_readers_never_crash(documents, dialect):
    for n, text in enumerate(documents):
        parsed = module(dialect).read(text, f"d/f{n}.mdx", Site(), Options())
        for entry in parsed.entries:
            assert entry.labels and all(label.text.strip() for label in entry.labels)
            assert all(0 <= ref.start <= ref.end <= len(entry.definition) for ref in entry.refs)
    reader = MarkdownReader(dialect)
    for n, text in enumerate(documents):
        reader.add(InputFile(Path(f"/nonexistent/f{n}.md"), f"f{n}.md", "markdown"), text)
    parsed, issues = reader.read()
    assert not [i for i in issues if i.kind == "parse_error"], [str(i) for i in issues]
