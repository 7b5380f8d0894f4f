"""How cost grows with size: synthetic glossaries of N concepts, our pipeline beside a naive one.

``python -m benchmarks scale`` runs, for each N, in a fresh process (so that one size's memory does
not weigh on the next):

* ours: ``kg ingest`` with the fake encoder (no Japanese glossing: it serves English-only
  models), stage by stage with wall time and peak resident memory; the store's size on
  disk; a cold start in a new process (open the store, first search answered); in-process
  p50/p99 of search (with the fake encoder, and without it: query vectors encoded
  beforehand), learning path and related terms;
* the naive baseline the issue names, on the same concepts and the same encoder: an
  rdflib in-memory graph parsed from the SKOS N-Triples, a NetworkX link graph, and
  exact numpy search; its learning path is every concept reachable by links, its
  related terms the link neighbours plus the nearest definitions.

``vector_bench`` measures the vector part alone up to a million vectors: our index
against exact numpy search, with recall@10 of ours against exact in the same run.
Absolute times are those of the machine it ran on; compare the ratios.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ingest_search import percentile

_PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLES = 200  # queries and concepts timed per size


def _rss() -> int:
    """Resident memory of this process and of every process it started (ingest's parse
    workers and their forkserver), in bytes, as far as Linux's /proc lists children. Pages
    two of them share count twice: the figure errs high."""
    total, pending, seen = 0, [os.getpid()], set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * _PAGE
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):  # it ended while we looked
            continue
    return total


class PeakMemory:
    """Peak resident memory of this process and its children during a block, sampled every 5 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        self.peak = _rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


class Stages:
    """Times and weighs named stages: ``with stages("parse"): ...``."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, float]] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        with PeakMemory() as memory:
            start = time.perf_counter()
            yield
            seconds = time.perf_counter() - start
        self.rows[name] = {"seconds": seconds, "peak_mb": memory.peak / 2**20}


def _latencies(fn, items) -> dict[str, float]:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99)}


def _directory_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _queries(concepts, rng: random.Random) -> list[str]:
    """Half labels, half a few words from the middle of a definition (a paraphrase stand-in)."""
    queries = []
    for concept in rng.sample(concepts, min(SAMPLES, len(concepts))):
        if len(queries) % 2 or not concept.sentences[0]:
            queries.append(concept.labels[0][0])
        else:
            words = concept.sentences[0].split()
            queries.append(" ".join(words[len(words) // 3: len(words) // 3 + 6]) or concept.sentences[0][:20])
    return queries


def _cold_start(code: str) -> float:
    """Seconds from starting a Python process to ``code`` having answered (imports included)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=dict(os.environ))
    return time.perf_counter() - start


def measure_size(n: int, work: Path, seed: int = 0) -> dict[str, Any]:
    """Every figure for one size (call in a fresh process: peaks are per process)."""
    from benchmarks.synth import generate, write_markdown, write_ntriples
    from kg.glossary import Glossary
    from kg.settings import Settings
    from kg.store.versions import Store, update_store

    rng = random.Random(seed)
    corpus = generate(n, seed=seed)
    write_markdown(corpus, work / "md")
    write_ntriples(corpus, work / "glossary.nt")
    queries = _queries(corpus, rng)
    settings = Settings(store=work / "store", model="fake", gloss_japanese=False, embedding_cache=work / "cache",
                        reload_interval=0)
    os.environ.update({"KG_STORE": str(settings.store), "KG_MODEL": "fake", "KG_GLOSS_JAPANESE": "false",
                       "KG_EMBEDDING_CACHE": str(work / "cache")})
    stages = Stages()
    with PeakMemory() as total_memory:
        start = time.perf_counter()
        update_store([work / "md"], settings, stage=stages)
        total = time.perf_counter() - start
    ours: dict[str, Any] = {"stages": stages.rows, "ingest_seconds": total,
                            "ingest_peak_mb": total_memory.peak / 2**20}
    store = Store(settings.store)
    ours["store_mb"] = _directory_mb(store.version_dir())
    ours["cold_start_seconds"] = _cold_start(
        "from kg.glossary import Glossary; g = Glossary.open(); g.prerequisites; g.search('start')")
    glossary = Glossary.open(settings)
    glossary.warm_up()  # loaded before timing, as the server does
    from kg.heap import settle

    settle()
    engine = glossary.engine
    from benchmarks.ingest_search import caches_bypassed

    with caches_bypassed(engine):
        ours["search"] = _latencies(lambda q: engine.search(q, k=10), queries)
    # Without the encoder (the acceptance's measure): each query's vector is encoded once,
    # then every search is timed with only the answer cache set aside.
    for query in queries:
        engine.search(query, k=10)
    with caches_bypassed(engine, vectors=False):
        ours["search_no_encoder"] = _latencies(lambda q: engine.search(q, k=10), queries)
    ids = rng.sample(list(glossary.concepts), min(SAMPLES, len(glossary.concepts)))
    ours["learning_path"] = _latencies(glossary.learning_path, ids)
    ours["related"] = _latencies(lambda cid: glossary.related(cid, k=10), ids)
    ours["memory_after_start_mb"] = _rss() / 2**20
    return {"n": n, "ours": ours}


def measure_naive(n: int, work: Path, seed: int = 0) -> dict[str, Any]:
    """The baseline on the files ``measure_size`` wrote into ``work`` (in a process of its own):
    rdflib in memory + NetworkX + exact numpy search, on the same concepts and encoder."""
    import networkx as nx
    import rdflib
    from rdflib.namespace import SKOS

    from benchmarks.synth import generate
    from kg.search.encoders.fake import FakeEncoder

    rng = random.Random(seed)
    queries = _queries(generate(n, seed=seed), rng)  # the same queries as ours were asked
    encoder = FakeEncoder()
    stages = Stages()
    with PeakMemory() as total_memory:
        start = time.perf_counter()
        with stages("parse"):
            graph = rdflib.Graph()
            graph.parse(work / "glossary.nt", format="nt")
        with stages("graph"):
            links = nx.DiGraph()
            links.add_edges_from((str(a), str(b)) for a, b in graph.subject_objects(SKOS.related))
            ids = sorted({str(s) for s in graph.subjects(SKOS.prefLabel)})
            links.add_nodes_from(ids)
        with stages("embed"):
            texts = {str(s): str(o) for s, o in graph.subject_objects(SKOS.definition)}
            matrix = encoder.encode([texts.get(cid, "") for cid in ids])
            matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
            np.save(work / "naive-vectors.npy", matrix)
        total = time.perf_counter() - start
    naive: dict[str, Any] = {"stages": stages.rows, "ingest_seconds": total,
                             "ingest_peak_mb": total_memory.peak / 2**20,
                             "store_mb": ((work / "glossary.nt").stat().st_size
                                          + (work / "naive-vectors.npy").stat().st_size) / 2**20}
    naive["cold_start_seconds"] = _cold_start(
        "import rdflib, networkx as nx, numpy as np; from rdflib.namespace import SKOS; "
        f"g = rdflib.Graph(); g.parse({str(work / 'glossary.nt')!r}, format='nt'); "
        "d = nx.DiGraph((str(a), str(b)) for a, b in g.subject_objects(SKOS.related)); "
        f"m = np.load({str(work / 'naive-vectors.npy')!r}); "
        "from kg.search.encoders.fake import FakeEncoder; q = FakeEncoder().encode(['start'])[0]; (m @ q).argmax()")

    def best(scores: np.ndarray) -> Any:
        top = np.argpartition(-scores, 10)[:10]
        return top[np.argsort(-scores[top])]

    def search(query: str) -> Any:
        return best(matrix @ encoder.encode([query])[0])

    row = {cid: i for i, cid in enumerate(ids)}
    sample = rng.sample(ids, min(SAMPLES, len(ids)))
    naive["search"] = _latencies(search, queries)
    encoded = {query: encoder.encode([query])[0] for query in queries}
    naive["search_no_encoder"] = _latencies(lambda query: best(matrix @ encoded[query]), queries)
    naive["learning_path"] = _latencies(lambda cid: nx.descendants(links, cid), sample)

    def related(cid: str) -> Any:
        scores = matrix @ matrix[row[cid]]
        top = np.argpartition(-scores, 11)[:11]
        return set(links.successors(cid)) | set(links.predecessors(cid)) | {ids[i] for i in top}

    naive["related"] = _latencies(related, sample)
    naive["memory_after_start_mb"] = _rss() / 2**20
    return naive


def vector_bench(n: int, seed: int = 0, queries: int = SAMPLES) -> dict[str, Any]:
    """Our index (chosen by size, as ingest chooses it) against exact numpy search over the
    fake vectors of ``n`` synthetic definitions: build time, memory, p50/p99, recall@10."""
    from benchmarks.synth import synthetic_texts
    from kg.search.encoders.fake import FakeEncoder
    from kg.search.semantic import hnsw_params
    from kg.search.vectors import VectorIndex
    from kg.settings import Settings

    texts = synthetic_texts(n + queries, seed=seed)
    vectors = FakeEncoder().encode(texts)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    data, probes = vectors[:n], vectors[n:]
    settings = Settings()
    with PeakMemory() as memory:
        start = time.perf_counter()
        index = VectorIndex.build(data, **hnsw_params(settings))
        build = time.perf_counter() - start
    found = [index.search(q, 10)[1] for q in probes]
    ours = _latencies(lambda q: index.search(q, 10), probes)
    ours.update({"index": index.index_type, "build_seconds": build, "peak_mb": memory.peak / 2**20})

    def exact(q: np.ndarray) -> np.ndarray:
        scores = data @ q
        top = np.argpartition(-scores, 10)[:10]
        return top[np.argsort(-scores[top])]

    truth = [exact(q) for q in probes]
    naive = _latencies(exact, probes)
    ours["recall_at_10"] = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    return {"n": n, "ours": ours, "baseline": naive}


def run(sizes: list[int], vector_sizes: list[int], out: Path, baseline_max: int = 100_000,
        progress=print) -> dict[str, Any]:
    """Every size in its own process; results written to ``out/scale.json`` and returned."""
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"sizes": [], "vectors": [], "machine": {"cpus": os.cpu_count()},
                               "note": "fake encoder, no Japanese glossing; times in seconds, memory in MiB"}
    for n in sizes:
        progress(f"glossary of {n:,} concepts ...")
        results["sizes"].append(_in_child("size", n, baseline=n <= baseline_max))
    for n in vector_sizes:
        progress(f"{n:,} vectors ...")
        results["vectors"].append(_in_child("vectors", n))
    (out / "scale.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def _in_child(kind: str, n: int, baseline: bool = True) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"kg-scale-{n}-") as work:
        if kind == "vectors":
            return _child(f"b.vector_bench({n})")
        row = _child(f"b.measure_size({n}, Path({work!r}))")
        if baseline:
            row["baseline"] = _child(f"b.measure_naive({n}, Path({work!r}))")
        return row


def _child(call: str) -> dict[str, Any]:
    """``call`` of this module run in a new Python process; its JSON result."""
    code = f"import json; from pathlib import Path; from benchmarks import scale as b; print(json.dumps({call}))"
    checkout = str(Path(__file__).resolve().parent.parent)  # benchmarks/ is not installed: found from here
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{call} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def format_table(results: dict[str, Any]) -> str:
    """Markdown tables: ours beside the baseline, and the ratio."""

    def pair(row: dict, path: tuple[str, ...], digits: int = 1) -> str:
        def get(side: str) -> float | None:
            value: Any = row.get(side)
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            return value

        ours, naive = get("ours"), get("baseline")
        if ours is None:
            return "–"
        text = f"{ours:,.{digits}f}"
        if naive:
            text += f" / {naive:,.{digits}f} ({ours / naive:.2f}x)"
        return text

    lines = [
        "| N | ingest s | ingest peak MiB | store MiB | cold start s | search p50 / p99 ms | "
        "search without encoder p50 / p99 ms | learning path p50 / p99 ms | related p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["sizes"]:
        lines.append(
            f"| {row['n']:,} | {pair(row, ('ingest_seconds',))} | {pair(row, ('ingest_peak_mb',), 0)} | "
            f"{pair(row, ('store_mb',))} | {pair(row, ('cold_start_seconds',))} | "
            f"{pair(row, ('search', 'p50_ms'), 2)}; {pair(row, ('search', 'p99_ms'), 2)} | "
            f"{pair(row, ('search_no_encoder', 'p50_ms'), 2)}; {pair(row, ('search_no_encoder', 'p99_ms'), 2)} | "
            f"{pair(row, ('learning_path', 'p50_ms'), 2)}; {pair(row, ('learning_path', 'p99_ms'), 2)} | "
            f"{pair(row, ('related', 'p50_ms'), 2)}; {pair(row, ('related', 'p99_ms'), 2)} |")
    lines += ["", "Stages of our ingest (seconds, peak MiB):", "",
              "| N | " + " | ".join(("parse", "prerequisites", "lexical", "embed", "write")) + " |",
              "|---|---|---|---|---|---|"]
    for row in results["sizes"]:
        stages = row["ours"]["stages"]
        lines.append(f"| {row['n']:,} | " + " | ".join(
            f"{stages[s]['seconds']:.1f} s, {stages[s]['peak_mb']:,.0f}" if s in stages else "–"
            for s in ("parse", "prerequisites", "lexical", "embed", "write")) + " |")
    if results.get("vectors"):
        lines += ["", "| vectors | our index | build s | p50 / p99 ms (exact numpy) | recall@10 |",
                  "|---|---|---|---|---|"]
        for row in results["vectors"]:
            ours, naive = row["ours"], row["baseline"]
            lines.append(f"| {row['n']:,} | {ours['index']} | {ours['build_seconds']:.1f} | "
                         f"{ours['p50_ms']:.2f} / {ours['p99_ms']:.2f} ({naive['p50_ms']:.2f} / "
                         f"{naive['p99_ms']:.2f}) | {ours['recall_at_10']:.3f} |")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Time and memory against N, ours and the baseline, log-log (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    panels = (("ingest time (s)", ("ingest_seconds",)), ("ingest peak memory (MiB)", ("ingest_peak_mb",)),
              ("latency p99 (ms)", None))
    for axis, (title, key) in zip(axes, panels, strict=True):
        if key:
            for side, style in (("ours", "o-"), ("baseline", "s--")):
                points = [(row["n"], row[side][key[0]]) for row in sizes if side in row]
                if points:
                    axis.plot(*zip(*points, strict=True), style, label=side)
        else:
            for what, colour in (("search", "C0"), ("learning_path", "C1"), ("related", "C2")):
                for side, style in (("ours", "o-"), ("baseline", "s--")):
                    points = [(row["n"], row[side][what]["p99_ms"]) for row in sizes if side in row]
                    if points:
                        axis.plot(*zip(*points, strict=True), style, color=colour, label=f"{what} ({side})")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("concepts")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle("kg at scale: synthetic glossaries, fake encoder (ours: solid; naive rdflib + NetworkX + "
                    "numpy: dashed)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
