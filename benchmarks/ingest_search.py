"""Benchmarks that print our figures beside a baseline measured in the same run.

Absolute times on shared machines are noise; the ratio to a baseline run
side by side is what to compare between commits. Three benchmarks:

- ``bench_ingest``: parse and build the graph, against markdown-it tokenising alone;
- ``bench_search``: encode throughput and in-process search latency (with the encoder,
  without it, and for a repeated query) of our engine, against a naive
  ``sentence_transformers.util.semantic_search`` over the raw texts;
- ``bench_http``: ``GET /search`` on a real uvicorn server on 127.0.0.1, against the
  same searches made in-process on the glossary it serves.
"""
from __future__ import annotations

import math
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.live import LiveServer

if TYPE_CHECKING:
    from kg.glossary import Glossary
    from kg.search.engine import SearchEngine
    from kg.search.semantic import SemanticIndex
    from kg.settings import Settings

#: What ``python -m benchmarks search|http`` asks when no ``--queries`` file is given: paraphrases
#: and labels, English and Japanese, a few of which name concepts of the bundled glossary.
DEFAULT_QUERIES = (
    "how do I stop a model from overfitting?",
    "algorithm that updates weights by following the negative gradient",
    "many layers of neural networks",
    "split text into subword units",
    "measure of difference between two probability distributions",
    "Deep Learning",
    "勾配降下法",
    "過学習を防ぐ方法",
    "多層のニューラルネットワーク",
    "学習率を徐々に下げる",
)

#: From the issue: GET /search with the encoder, and a repeated query (milliseconds).
TARGETS_MS = {"p50": 15.0, "p99": 30.0, "repeated_p50": 2.0}


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median and best wall time of ``repeat`` calls (after one warm-up call)."""
    value = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), value


def bench_ingest(paths: list[Path], repeat: int = 5) -> list[dict[str, Any]]:
    """Time the ingest of ``paths`` (parse, merge, links, NetworkX and RDF graph; no embeddings).

    Baseline: markdown-it-py tokenising the same files and nothing else, the floor
    any Markdown ingest pays.

    Returns:
        One row per measurement: name, median and best seconds, ratio to baseline, note.
    """
    from ingest import ingest_paths
    from ingest.markdown import make_parser
    from ingest.reader import discover
    from kg import Glossary

    files, _ = discover(paths)
    texts = [item.path.read_text(encoding="utf-8", errors="replace") for item in files if item.kind == "markdown"]
    parser = make_parser()

    def baseline() -> int:
        return sum(len(parser.parse(text)) for text in texts)

    def ingest_only():
        return ingest_paths(paths)

    def full():
        glossary = Glossary.from_ingest(ingest_paths(paths))
        _ = glossary.graph
        return glossary, len(glossary.to_rdf())

    base_median, base_best, _ = _timed(baseline, repeat)
    rows = [{"name": "baseline: markdown-it tokenize only", "median_s": base_median, "best_s": base_best,
             "ratio": 1.0, "note": f"{len(texts)} files"}]
    median, best, result = _timed(ingest_only, repeat)
    rows.append({"name": "ingest (parse, merge, links, mentions)", "median_s": median, "best_s": best,
                 "ratio": median / base_median, "note": f"{len(result.concepts)} concepts"})
    median, best, (glossary, triples) = _timed(full, repeat)
    rows.append({"name": "ingest + NetworkX + RDF graph", "median_s": median, "best_s": best,
                 "ratio": median / base_median,
                 "note": f"{glossary.graph.number_of_edges()} edges, {triples} triples"})
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The ingest rows as a table."""
    width = max(len(r["name"]) for r in rows)
    lines = [f"{'measurement':<{width}}  {'median':>9}  {'best':>9}  {'x base':>7}  note"]
    for r in rows:
        lines.append(f"{r['name']:<{width}}  {r['median_s'] * 1000:>7.1f}ms  {r['best_s'] * 1000:>7.1f}ms  "
                     f"{r['ratio']:>7.2f}  {r['note']}")
    return "\n".join(lines)



# -- search --------------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``q`` % of the values at or below it.

    >>> percentile([4, 1, 3, 2], 50), percentile([4, 1, 3, 2], 99), percentile(range(1, 101), 99)
    (2, 4, 99)
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def load_queries(paths: Sequence[Path | str]) -> list[str]:
    """The queries of ``query<TAB>labels`` files (``kg eval`` format), without duplicates;
    ``DEFAULT_QUERIES`` when no file is given."""
    from kg.search.evaluate import read_queries

    queries = [item.query for path in paths for item in read_queries(path)]
    return list(dict.fromkeys(queries)) or list(DEFAULT_QUERIES)


class _NoCache:
    """Stands in for an ``LRUCache``: every value is computed."""

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        return compute()


def _bypass(engine: SearchEngine, vectors: bool = True) -> list[tuple[Any, str, Any]]:
    """Set aside the engine's answer LRU (and, with ``vectors``, the dense index's query-vector
    LRU); returns what to put back.

    Reaches into ``SearchEngine._answers`` and ``SemanticIndex._queries`` on purpose: the point
    is to time the very path a new query takes, not a copy of it. An attribute renamed there
    fails here loudly rather than silently timing cache hits.
    """
    owners = [(engine, "_answers")]
    if vectors and engine.semantic is not None:
        owners.append((engine.semantic, "_queries"))
    saved = [(owner, name, getattr(owner, name)) for owner, name in owners]
    for owner, name, _ in saved:
        setattr(owner, name, _NoCache())
    return saved


@contextmanager
def caches_bypassed(engine: SearchEngine, vectors: bool = True) -> Iterator[None]:
    """Every search inside is computed afresh (see ``_bypass``); the caches are put back untouched."""
    saved = _bypass(engine, vectors)
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def _latency_row(group: str, name: str, samples: list[float], note: str = "") -> dict[str, Any]:
    return {
        "group": group,
        "name": name,
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "mean_ms": statistics.fmean(samples) * 1000,
        "samples": len(samples),
        "ratio": None,
        "note": note,
    }


def _set_ratios(rows: list[dict[str, Any]], reference: dict[str, Any], groups: Iterable[str]) -> None:
    wanted = set(groups)
    for row in rows:
        if row["group"] in wanted:
            row["ratio"] = row["p50_ms"] / reference["p50_ms"]


def _interleaved(variants: Sequence[tuple[str, Callable[[str], Any]]], queries: Sequence[str],
                 rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each variant on each query, ``rounds`` times; the variants take
    turns on every query, so a burst of load on a shared machine hits all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name, _ in variants}
    for _ in range(rounds):
        for query in queries:
            for name, call in variants:
                start = time.perf_counter()
                call(query)
                samples[name].append(time.perf_counter() - start)
    return samples


def _baseline_texts(glossary: Glossary) -> list[str]:
    """The naive texts: every label, then the definition as written (no glossing, no cleaning)."""
    texts = []
    for concept in glossary.concepts.values():
        labels = "; ".join(label.text for label in concept.labels)
        definition = concept.definition_text
        texts.append(f"{labels}. {definition}" if definition else labels)
    return texts


def _sentence_transformer(spec: str) -> Any:
    """The torch ``SentenceTransformer`` behind ``spec`` (the naive baseline runs it as anyone would),
    or None for the fake encoder, whose baseline is the fake encoder itself."""
    from kg.search.encoders import get_encoder, resolve_spec

    backend, argument = resolve_spec(spec)
    if backend == "fake":
        return None
    if backend.startswith("openvino"):  # the same model, as sentence-transformers runs it
        spec = argument or "default"
    return getattr(get_encoder(spec), "_model", None)


def bench_search(paths: list[Path], queries: Sequence[str], settings: Settings, repeat: int = 3,
                 k: int = 10) -> list[dict[str, Any]]:
    """Encode throughput and search latency of our engine beside a naive baseline, in one run.

    The baseline is what one would write first: ``model.encode`` over every concept's
    labels and raw definition, then for a query ``model.encode(query)`` and
    ``sentence_transformers.util.semantic_search`` over those embeddings.

    Args:
        paths: the glossary to ingest (Markdown/SKOS files or folders).
        queries: searched in turn, ``repeat`` rounds; each variant takes its turn on each query.
        settings: ``settings.model`` is the encoder (pass it explicitly: tests set
            ``KG_MODEL=fake`` in the environment); glossing and HNSW settings are used too.
        repeat: timed builds, and rounds over the queries.
        k: hits per search.

    Returns:
        Rows, each with a ``group``. ``encode`` rows: median and best seconds of embedding the
        whole glossary, ``concepts_per_s`` and ``ratio`` (time over the baseline's). Latency rows
        (groups ``with encoder``, ``without encoder`` and ``repeated query``): ``p50_ms``,
        ``p99_ms``, ``mean_ms``, ``samples`` and ``ratio`` (p50 over the baseline's p50 with,
        or without, the encoder).
    """
    import torch
    from sentence_transformers import util

    from ingest import ingest_paths
    from kg.glossary import Glossary
    from kg.search.encoders import get_encoder
    from kg.search.engine import SearchEngine, clean_query
    from kg.search.lexical import LabelMatcher, LexicalIndex
    from kg.search.semantic import SemanticIndex, glosser_for, hnsw_params

    if not queries:
        raise ValueError("no queries to time")
    glossary = Glossary.from_ingest(ingest_paths(paths), settings)
    concepts = list(glossary.concepts.values())
    if not concepts:
        raise ValueError(f"no concepts in {', '.join(map(str, paths))}")
    encoder = get_encoder(settings.model)
    glosser = glosser_for(settings)
    model = _sentence_transformer(settings.model)

    # -- encode throughput: the whole glossary, ours (gloss + encode + index) vs model.encode
    texts = _baseline_texts(glossary)

    def baseline_encode() -> Any:
        if model is not None:
            return model.encode(texts, batch_size=settings.encode_batch_size, convert_to_tensor=True,
                                show_progress_bar=False)
        return torch.from_numpy(encoder.encode(texts, batch_size=settings.encode_batch_size))

    def build() -> SemanticIndex:
        return SemanticIndex.build(glossary, encoder, glosser, hnsw=hnsw_params(settings),
                                   batch_size=settings.encode_batch_size)

    base_median, base_best, corpus = _timed(baseline_encode, repeat)
    median, best, semantic = _timed(build, repeat)
    n = len(concepts)
    rows: list[dict[str, Any]] = [
        {"group": "encode", "name": "baseline: model.encode(labels + raw definition)", "median_s": base_median,
         "best_s": base_best, "concepts_per_s": n / base_median, "ratio": 1.0,
         "note": f"{n} concepts, {'sentence-transformers (torch)' if model is not None else encoder.name}"},
        {"group": "encode", "name": "ours: SemanticIndex.build (gloss + encode + index)", "median_s": median,
         "best_s": best, "concepts_per_s": n / median, "ratio": median / base_median,
         "note": f"{len(semantic.passages)} passages, glossing {'on' if glosser else 'off'}, {encoder.name}"},
    ]

    # -- search latency: the same passages and vectors behind three query paths
    labels, lexical = LabelMatcher(concepts), LexicalIndex(concepts)

    def engine(index: SemanticIndex) -> SearchEngine:
        return SearchEngine(glossary, labels, lexical, index)

    def twin() -> SemanticIndex:  # the same passages and vectors, with a query-vector LRU of its own
        return SemanticIndex(semantic.passages, semantic.index, encoder, glosser)

    with_encoder = engine(twin())
    _bypass(with_encoder)  # every query encoded, every answer computed
    given = twin()
    vectors = {text: semantic.query_vector(text) for text in (clean_query(query) for query in queries)}
    given.query_vector = vectors.__getitem__  # the vector is handed over: gloss + encode skipped
    without_encoder = engine(given)
    _bypass(without_encoder, vectors=False)
    answers, vectors_only = engine(twin()), engine(twin())  # caches as served
    _bypass(vectors_only, vectors=False)

    def baseline_query(query: str) -> Any:
        if model is not None:
            return model.encode(query, convert_to_tensor=True, show_progress_bar=False)
        return torch.from_numpy(encoder.encode([query])[0])

    query_tensors = {query: baseline_query(query) for query in queries}

    def search(searcher: SearchEngine, mode: str) -> Callable[[str], Any]:
        return lambda query: searcher.search(query, k=k, mode=mode)

    groups = ("with encoder", "without encoder (vector given)", "repeated query (LRU hit)")
    variants: list[tuple[str, str, Callable[[str], Any]]] = [
        (groups[0], "baseline: model.encode + util.semantic_search",
         lambda q: util.semantic_search(baseline_query(q), corpus, top_k=k)),
        (groups[0], "ours: hybrid (labels + dense + BM25)", search(with_encoder, "hybrid")),
        (groups[0], "ours: dense only", search(with_encoder, "dense")),
        (groups[1], "baseline: util.semantic_search",
         lambda q: util.semantic_search(query_tensors[q], corpus, top_k=k)),
        (groups[1], "ours: hybrid", search(without_encoder, "hybrid")),
        (groups[1], "ours: dense only", search(without_encoder, "dense")),
        (groups[1], "ours: lexical only (never encodes)", search(without_encoder, "lexical")),
        (groups[2], "ours: hybrid, same query again (answer LRU)", search(answers, "hybrid")),
        (groups[2], "ours: hybrid, answer recomputed (vector LRU)", search(vectors_only, "hybrid")),
    ]
    for _, _, call in variants:  # warm every path, and fill the LRU of the repeated-query engine
        call(queries[0])
    for query in queries:  # asked before: the served engine's caches hold them
        answers.search(query, k=k)
        vectors_only.search(query, k=k)
    samples = _interleaved([(f"{g}|{name}", call) for g, name, call in variants], queries, repeat)
    note = f"{len(queries)} queries x {repeat}, k={k}"
    latency = [_latency_row(g, name, samples[f"{g}|{name}"], note) for g, name, _ in variants]
    base_with, base_without = latency[0], latency[3]
    _set_ratios(latency, base_with, (groups[0], groups[2]))
    _set_ratios(latency, base_without, (groups[1],))
    for row in latency:
        if row["group"] == groups[2]:
            row["note"] += "; x base: against the baseline with the encoder (it caches nothing)"
    return rows + latency


# -- HTTP ------------------------------------------------------------------------------------


def bench_http(paths: list[Path], queries: Sequence[str], settings: Settings,
               app_factory: Callable[[Settings], Any], repeat: int = 3, k: int = 10) -> list[dict[str, Any]]:
    """``GET /search`` over loopback HTTP beside the same searches made in-process.

    Ingests ``paths`` into a temporary store (with ``settings.model``), serves it with
    uvicorn on 127.0.0.1 (a free port) in a thread of this process, and times requests
    from an ``httpx`` keep-alive client: every query once per round with the query cache
    set aside (so each is encoded), then every query again with the cache filled (a
    repeated query). Loops are bounded: ``len(queries) * repeat`` requests per row.

    Args:
        app_factory: ``api.app.create_app`` (passed in, so ``kg`` never imports the web layer);
            the app it returns must put its state on ``app.state.kg`` with a ``glossary``.
        settings: its ``store`` is replaced by a temporary one.

    Returns:
        Rows as ``bench_search``'s latency rows (``ratio``: p50 over the in-process p50 of
        the same search), then ``startup`` rows: ingest, server start (seconds) and the first
        request after startup (milliseconds), each with a ``seconds`` or ``p50_ms`` figure.
    """
    try:
        import httpx
    except ImportError as error:
        from kg.errors import ConfigurationError

        raise ConfigurationError(f"the HTTP benchmark needs httpx ({error}): run `pip install httpx` "
                                 "(or `pip install kg-glossary[test]`)") from error
    from kg.store.versions import update_store

    if not queries:
        raise ValueError("no queries to time")
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmp:
        settings = settings.model_copy(update={"store": Path(tmp) / "store", "embedding_cache": None,
                                               "reload_interval": 0, "default_glossary": Path(paths[0])})
        start = time.perf_counter()
        outcome = update_store(list(paths), settings)
        ingest_s = time.perf_counter() - start
        if outcome.exit_code == 2:
            raise ValueError(f"nothing could be ingested from {', '.join(map(str, paths))}")
        app = app_factory(settings)
        start = time.perf_counter()
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            startup_s = time.perf_counter() - start

            def get(path: str, **params: Any) -> Any:
                response = http.get(path, params=params)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path} {params} answered {response.status_code}: {response.text[:200]}")
                return response

            start = time.perf_counter()
            get("/search", q=queries[0], k=k)
            first_ms = (time.perf_counter() - start) * 1000
            glossary = app.state.kg.glossary
            for query in queries[:3]:
                get("/search", q=query, k=k)
                glossary.search(query, k=k)
            variants = [
                ("in-process: glossary.search (hybrid)", lambda q: glossary.search(q, k=k)),
                ("HTTP: GET /search (hybrid)", lambda q: get("/search", q=q, k=k)),
                ("HTTP: GET /search?mode=lexical (never encodes)", lambda q: get("/search", q=q, k=k, mode="lexical")),
                ("HTTP: GET /health (the HTTP floor)", lambda q: get("/health")),
            ]
            # The server also keeps serialized answers (app.state.search_answers): set aside too.
            answers, app.state.search_answers = app.state.search_answers, _NoCache()
            try:
                with caches_bypassed(glossary.engine):
                    fresh = _interleaved(variants, queries, repeat)
            finally:
                app.state.search_answers = answers
            for query in queries:  # now every query has been asked: the caches answer
                glossary.search(query, k=k)
            repeated = _interleaved(variants[:2], queries, repeat)
    note = f"{len(queries)} queries x {repeat}, k={k}"
    group, again = "with encoder (each query encoded)", "repeated query (LRU hit)"
    rows = [_latency_row(group, name, fresh[name], note) for name, _ in variants]
    rows += [_latency_row(again, name, repeated[name], note) for name, _ in variants[:2]]
    _set_ratios(rows, rows[0], (group,))
    _set_ratios(rows, rows[4], (again,))
    http_fresh, http_again = rows[1], rows[5]
    met = http_fresh["p50_ms"] <= TARGETS_MS["p50"] and http_fresh["p99_ms"] <= TARGETS_MS["p99"]
    http_fresh["note"] += (f"; target p50 <= {TARGETS_MS['p50']:g} ms and p99 <= {TARGETS_MS['p99']:g} ms: "
                           f"{'met' if met else 'NOT met'}")
    http_again["note"] += (f"; target p50 <= {TARGETS_MS['repeated_p50']:g} ms: "
                           f"{'met' if http_again['p50_ms'] <= TARGETS_MS['repeated_p50'] else 'NOT met'}")
    startup = "startup"
    rows += [
        {"group": startup, "name": "ingest into a new store (parse, gloss, encode, index)", "seconds": ingest_s,
         "note": f"{len(glossary)} concepts, {settings.model}"},
        {"group": startup, "name": "server start (load the store version, warm up)", "seconds": startup_s,
         "note": "from thread start to accepting connections"},
        {"group": startup, "name": "first GET /search after startup", "seconds": first_ms / 1000,
         "note": f"vs {http_fresh['p50_ms']:.1f} ms p50 once warm"},
    ]
    return rows


def format_search_rows(rows: list[dict[str, Any]]) -> str:
    """``bench_search`` or ``bench_http`` rows as one table per group."""
    width = max(len(r["name"]) for r in rows)
    lines: list[str] = []
    for group in dict.fromkeys(r["group"] for r in rows):
        members = [r for r in rows if r["group"] == group]
        if lines:
            lines.append("")
        if group == "encode":
            lines.append(f"{'encode the glossary':<{width}}  {'median':>9}  {'best':>9}  {'concepts/s':>10}  "
                         f"{'x base':>7}  note")
            for r in members:
                lines.append(f"{r['name']:<{width}}  {r['median_s'] * 1000:>7.0f}ms  {r['best_s'] * 1000:>7.0f}ms  "
                             f"{r['concepts_per_s']:>10.1f}  {r['ratio']:>7.2f}  {r['note']}")
        elif group == "startup":
            lines.append(f"{group:<{width}}  {'time':>9}  note")
            for r in members:
                lines.append(f"{r['name']:<{width}}  {_duration(r['seconds']):>9}  {r['note']}")
        else:
            lines.append(f"{'search: ' + group:<{width}}  {'p50':>8}  {'p99':>8}  {'mean':>8}  {'x base':>7}  note")
            for r in members:
                ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}" if r["ratio"] >= 0.1 else f"{r['ratio']:.3f}"
                ratio = f"{ratio:>7}"
                lines.append(f"{r['name']:<{width}}  {r['p50_ms']:>6.2f}ms  {r['p99_ms']:>6.2f}ms  "
                             f"{r['mean_ms']:>6.2f}ms  {ratio}  {r['note']}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.2f}s" if seconds >= 1 else f"{seconds * 1000:.1f}ms"
