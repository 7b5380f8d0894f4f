"""Synthetic glossaries, the scale benchmark, and what keeps large ingests near-linear."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time

import networkx as nx
import pytest
from click.testing import CliRunner

from api.cli import cli
from benchmarks.__main__ import bench
from benchmarks.synth import DEFAULT_PROFILE, Profile, file_of, generate, write_markdown, write_ntriples
from ingest import ingest_paths
from kg.glossary import Glossary
from kg.prereqs.learning import _break_cycles, prerequisite_graph
from kg.prereqs.saved import DAG_FILE, load_dag
from kg.settings import Settings
from kg.store.versions import Store, update_store


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    concepts = generate(600, seed=7)
    write_markdown(concepts, out / "md")
    write_ntriples(concepts, out / "glossary.nt")
    return concepts, out


def test_the_same_seed_gives_the_same_glossary_and_another_seed_another():
    first, again, other = generate(50, seed=1), generate(50, seed=1), generate(50, seed=2)
    assert [(c.labels, c.sentences, c.links) for c in first] == [(c.labels, c.sentences, c.links) for c in again]
    assert [c.labels for c in first] != [c.labels for c in other]


def test_markdown_ingests_whole_with_every_link_resolved(synthetic):
    concepts, out = synthetic
    result = ingest_paths([out / "md"])
    assert len(result.concepts) == len(concepts)
    assert not [i for i in result.issues if i.kind == "broken_link"]
    by_heading = {c.heading: c for c in concepts}
    ids = {c.name: c.id for c in result.concepts}
    expected = sum(len(c.links) for c in concepts)
    written = sum(1 for c in result.concepts for link in c.links if link.kind == "link")
    assert written == expected
    # A sample of links lands on the concept the generator meant.
    glossary = Glossary.from_ingest(result)
    for concept in concepts[:50]:
        source = glossary.get(concept.labels[0][0])
        targets = {link.target for link in source.links if link.kind == "link"}
        assert targets == {glossary.get(concepts[t].labels[0][0]).id for t in concept.links}
    assert by_heading and ids


def test_skos_form_holds_the_same_concepts_and_links(synthetic):
    concepts, out = synthetic
    result = ingest_paths([out / "glossary.nt"])
    assert len(result.concepts) == len(concepts)
    assert sum(len({link.target for link in c.links}) for c in result.concepts) == \
        sum(len(c.links) for c in concepts)


def test_shape_follows_the_profile(synthetic):
    concepts, out = synthetic
    result = ingest_paths([out / "md"])
    measured = Profile.measure(result.concepts, result.files_read)
    assert abs(measured.ja_label_share - DEFAULT_PROFILE.ja_label_share) < 0.08
    assert abs(measured.ja_definition_share - DEFAULT_PROFILE.ja_definition_share) < 0.03
    assert abs(measured.mutual_share - DEFAULT_PROFILE.mutual_share) < 0.08
    assert measured.labels_per_concept[4] == DEFAULT_PROFILE.labels_per_concept[4]  # the median
    assert abs(measured.terms_per_file - DEFAULT_PROFILE.terms_per_file) < 1.5
    # At least as many Japanese characters as the corpus has: not a few dozen characters used
    # everywhere (a stop-word alphabet for character n-gram search).
    assert measured.ja_characters >= DEFAULT_PROFILE.ja_characters
    # Heavy-tailed in-degree: a few hubs far above the typical term; and cycles, as real glossaries have.
    indegree = [d for _, d in Glossary.from_ingest(result).graph.in_degree()]
    assert max(indegree) >= 10 * max(1, statistics.median(indegree))
    assert not nx.is_directed_acyclic_graph(Glossary.from_ingest(result).graph)


def test_default_profile_is_what_the_linked_corpus_measures(linked_corpus):
    result = ingest_paths([linked_corpus])
    assert Profile.measure(result.concepts, result.files_read) == DEFAULT_PROFILE


def test_files_hold_about_as_many_terms_as_the_corpus_does():
    assert file_of(0) == file_of(10) != file_of(11)
    assert file_of(11_000).startswith("part-0001/")


def test_cycle_breaking_keeps_strongest_edges_and_leaves_a_dag():
    rng = random.Random(3)
    for _ in range(30):
        dag = nx.DiGraph()
        nodes = [f"n{i}" for i in range(rng.randint(3, 40))]
        for _ in range(len(nodes) * 3):
            a, b = rng.sample(nodes, 2)
            dag.add_edge(a, b, confidence=rng.random(), curated=rng.random() < 0.1)
        before = nx.DiGraph(dag)
        _break_cycles(dag)
        assert nx.is_directed_acyclic_graph(dag)
        removed = set(before.edges) - set(dag.edges)
        for a, b in removed:
            # Dropped only when edges at least as strong, kept, lead back from its end to its start.
            data = before.edges[a, b]
            strength = (data["curated"], data["confidence"])
            stronger = nx.DiGraph((x, y) for x, y, d in dag.edges(data=True)
                                  if (d["curated"], d["confidence"]) >= strength)
            assert b in stronger and a in stronger and nx.has_path(stronger, b, a)
        # Curated edges survive unless curated edges alone make a cycle.
        curated = nx.DiGraph((x, y) for x, y, d in before.edges(data=True) if d["curated"])
        if nx.is_directed_acyclic_graph(curated):
            assert set(curated.edges) <= set(dag.edges)


def test_the_prerequisite_dag_is_saved_at_ingest_and_loaded_at_start(tmp_path, synthetic):
    _, out = synthetic
    settings = Settings(store=tmp_path / "store", model="fake", gloss_japanese=False)
    update_store([out / "md"], settings)
    store = Store(settings.store)
    assert (store.version_dir() / DAG_FILE).is_file()
    loaded = store.load(settings)
    saved = load_dag(loaded.directory)
    assert saved is not None
    inferred = prerequisite_graph(Glossary(loaded.concepts.values(), settings=settings))
    assert set(saved.edges) == set(inferred.edges)
    for a, b, data in inferred.edges(data=True):
        assert saved.edges[a, b]["confidence"] == pytest.approx(data["confidence"], abs=1e-6)
        assert saved.edges[a, b]["evidence"] == data["evidence"]
    assert set(loaded.prerequisites.edges) == set(inferred.edges)
    # Another model's DAG is not used: it is inferred again.
    path = store.version_dir() / DAG_FILE
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["model"] = "another model"
    path.write_text(json.dumps(payload), encoding="utf-8")
    assert load_dag(store.version_dir()) is None


def test_changing_one_definition_re_encodes_only_it_and_says_so(tmp_path, synthetic):
    _, out = synthetic
    corpus = tmp_path / "corpus"
    concepts = generate(120, seed=11)
    write_markdown(concepts, corpus)
    env = {"KG_STORE": str(tmp_path / "store"), "KG_MODEL": "fake"}
    runner = CliRunner()
    first = runner.invoke(cli, ["ingest", str(corpus), "--json"], env=env)
    assert json.loads(first.output)["embedded"] == {"encoded": 120, "from_cache": 0}
    page = corpus / file_of(5)
    text = page.read_text(encoding="utf-8")
    heading = f"## {concepts[5].heading}\n\n- "
    assert heading in text
    page.write_text(text.replace(heading, heading + "書き換えた定義。", 1), encoding="utf-8")
    second = runner.invoke(cli, ["ingest", str(corpus)], env=env)
    assert second.exit_code == 0, second.output
    assert "embedded 1 new text(s), 119 from the cache" in second.output


def test_bench_scale_writes_table_json_and_plot(tmp_path):
    result = CliRunner().invoke(bench, ["scale", "--sizes", "150", "--vectors", "3000",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "scale.json").read_text(encoding="utf-8"))
    (row,) = data["sizes"]
    assert row["n"] == 150
    for side in ("ours", "baseline"):
        assert row[side]["ingest_seconds"] > 0 and row[side]["ingest_peak_mb"] > 0
        assert 0 < row[side]["search"]["p50_ms"] <= row[side]["search"]["p99_ms"]
        assert 0 < row[side]["search_no_encoder"]["p50_ms"] <= row[side]["search_no_encoder"]["p99_ms"]
    assert set(row["ours"]["stages"]) == {"parse", "prerequisites", "lexical", "embed", "write"}
    (vectors,) = data["vectors"]
    assert vectors["ours"]["index"] == "flat" and vectors["ours"]["recall_at_10"] == 1.0
    assert "| 150 |" in (tmp_path / "scale.md").read_text(encoding="utf-8")
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 150 |" in result.output


def test_cycle_breaking_gives_the_same_dag_in_every_process():
    """Which edges a giant tangle keeps must not depend on a process's string hashing (set
    order): two processes with different hash seeds keep the same edges."""
    code = (
        "import random, networkx as nx, kg.prereqs.learning as p\n"
        "p.SEARCH_LIMIT = 6\n"  # a small limit, so that the order of the search decides
        "rng = random.Random(5); dag = nx.DiGraph()\n"
        "nodes = [f'node-{i}' for i in range(1000)]\n"
        "for _ in range(2500):\n"
        "    a, b = rng.sample(nodes, 2); dag.add_edge(a, b, confidence=round(rng.random(), 2), curated=False)\n"
        "p._break_cycles(dag); print(sorted(dag.edges()))\n"
    )
    runs = {seed: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert runs["1"] == runs["2"] == runs["3"] and runs["1"].startswith("[(")


def test_peak_memory_counts_the_processes_a_stage_starts():
    """Ingest parses in worker processes: their memory is part of a stage's peak."""
    from benchmarks.scale import PeakMemory, _rss

    own = _rss()
    hold = ("import sys, time; b = bytearray(300 * 2**20); sys.stdout.write('ready\\n'); sys.stdout.flush(); "
            "time.sleep(60)")
    with PeakMemory() as memory:
        child = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline() == "ready\n"
            with_child = _rss()
            time.sleep(0.05)  # a few of the sampler's 5 ms rounds
        finally:
            child.kill()
            child.wait()
    assert with_child - own > 250 * 2**20
    assert memory.peak - own > 250 * 2**20
    assert _rss() - own < 100 * 2**20  # an ended child no longer counts
