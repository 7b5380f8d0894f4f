"""``python -m benchmarks``: every benchmark, each printing its figures beside a baseline timed in
the same run (docs/benchmarks.md). Not part of the installed product: run from a checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from api.cli_util import KGGroup, json_option, load_glossary, pass_settings, print_json
from kg.settings import Settings


class _BenchGroup(KGGroup):
    """``python -m benchmarks [PATHS]`` (no target named) means ``python -m benchmarks ingest [PATHS]``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["ingest", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_BenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
def bench() -> None:
    """Benchmarks printed beside a baseline timed in the same run: ingest (the default),
    search (encode throughput, search latency with and without the encoder) and http."""


_bench_paths = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
_bench_repeat = click.option("--repeat", type=click.IntRange(1, 100), default=3, show_default=True,
                             help="Timed builds, and rounds over the queries.")


def _bench_search_options(command):
    """Options shared by ``bench search`` and ``bench http``."""
    for option in reversed([
        _bench_paths,
        click.option("--queries", "query_files", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Queries TSV (`kg eval` format); repeatable. Default: a built-in mixed set."),
        _bench_repeat,
        click.option("--k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="Hits per search."),
        click.option("--model", default=Settings.model_fields["model"].default, show_default=True,
                     help="Embedding model (KG_MODEL is ignored here, so a real model is timed; "
                          "`default` is the same model on torch)."),
        json_option,
    ]):
        command = option(command)
    return command


def _bench_settings(model: str) -> Settings:
    base = click.get_current_context().find_object(Settings) or Settings()
    return base.model_copy(update={"model": model})


def _print_bench(rows: list[dict[str, Any]], as_json: bool, formatter) -> None:
    if as_json:
        print_json(rows)
    else:
        click.echo(formatter(rows))


@bench.command(name="ingest")
@_bench_paths
@click.option("--repeat", type=click.IntRange(1, 100), default=5, show_default=True, help="Timed runs per figure.")
@json_option
def bench_ingest_command(paths: tuple[Path, ...], repeat: int, as_json: bool) -> None:
    """Time ingest of PATHS (default: the bundled glossary) beside a baseline run alongside."""
    from benchmarks.ingest_search import bench_ingest, format_rows
    from kg.settings import BUNDLED_DATA

    _print_bench(bench_ingest(list(paths) or [BUNDLED_DATA], repeat=repeat), as_json, format_rows)


@bench.command(name="search")
@_bench_search_options
def bench_search_command(paths: tuple[Path, ...], query_files: tuple[Path, ...], repeat: int, k: int, model: str,
                         as_json: bool) -> None:
    """Encode throughput and search latency (with and without the encoder, repeated query)
    of PATHS (default: the bundled glossary) beside sentence-transformers' semantic_search."""
    from benchmarks.ingest_search import bench_search, format_search_rows, load_queries
    from kg.settings import BUNDLED_DATA

    rows = bench_search(list(paths) or [BUNDLED_DATA], load_queries(query_files), _bench_settings(model),
                        repeat=repeat, k=k)
    _print_bench(rows, as_json, format_search_rows)


@bench.command(name="http")
@_bench_search_options
def bench_http_command(paths: tuple[Path, ...], query_files: tuple[Path, ...], repeat: int, k: int, model: str,
                       as_json: bool) -> None:
    """GET /search on a server on 127.0.0.1 (a temporary store of PATHS) beside the same
    searches in-process."""
    from api.app import create_app
    from benchmarks.ingest_search import bench_http, format_search_rows, load_queries
    from kg.settings import BUNDLED_DATA

    rows = bench_http(list(paths) or [BUNDLED_DATA], load_queries(query_files), _bench_settings(model), create_app,
                      repeat=repeat, k=k)
    _print_bench(rows, as_json, format_search_rows)


@bench.command(name="graph")
@click.option("--rounds", type=click.IntRange(5, 10_000), default=300, show_default=True, help="Requests per endpoint.")
@json_option
@pass_settings
def bench_graph_command(settings: Settings, rounds: int, as_json: bool) -> None:
    """Graph endpoints (concept, prerequisites, path, related) over HTTP on 127.0.0.1,
    on random concepts of the store, beside GET /health timed in the same run."""
    from benchmarks.http import bench_graph_http, format_latency

    load_glossary(settings)  # a clear message when the store is empty
    rows = bench_graph_http(settings.model_copy(update={"reload_interval": 0}), rounds=rounds)
    _print_bench(rows, as_json, format_latency)


def _sizes(context: click.Context, parameter: click.Parameter, value: str) -> list[int]:
    try:
        sizes = [int(float(part)) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r}: give sizes separated by commas, such as 1000,10000,1e5") from None
    if any(size < 10 for size in sizes):
        raise click.BadParameter("every size must be at least 10")
    return sizes


def _report(out: Path, name: str, result: Any, table: str, plot, as_json: bool) -> None:
    """Write ``out/NAME.md`` and the plot ``out/NAME.png``, and print the table (or JSON)."""
    (out / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    try:
        plot(result, out / f"{name}.png")
    except ImportError:
        click.echo("matplotlib is not installed (pip install 'kg-glossary[bench]'): no plot drawn", err=True)
    if as_json:
        print_json(result)
    else:
        click.echo(table)


@bench.command(name="scale")
@click.option("--sizes", default="1000,10000,100000", show_default=True, callback=_sizes,
              help="Glossary sizes (concepts), comma-separated; 1e5 is accepted.")
@click.option("--vectors", "vector_sizes", default="100000,1000000", show_default=True, callback=_sizes,
              help="Vector counts for the vector-only part (recall@10 against exact search).")
@click.option("--baseline-max", type=int, default=100_000, show_default=True,
              help="Largest size the naive baseline is run at (it holds everything in rdflib).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/scale"),
              show_default=True, help="Where scale.json, scale.md and scale.png are written.")
@json_option
def bench_scale_command(sizes: list[int], vector_sizes: list[int], baseline_max: int, out: Path,
                        as_json: bool) -> None:
    """Synthetic glossaries of each size: ingest stages, store size, cold start, search,
    learning path and related latency, beside a naive rdflib + NetworkX + numpy baseline run
    on the same concepts; and our vector index against exact search. Each size runs in a
    process of its own; this takes minutes at 100,000 concepts."""
    from benchmarks.scale import format_table, plot, run

    results = run(sizes, vector_sizes, out, baseline_max=baseline_max,
                  progress=lambda message: click.echo(message, err=True))
    _report(out, "scale", results, format_table(results), plot, as_json)


@bench.command(name="review")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The glossary reviewed (default: the linked corpus beside the checkout).")
@click.option("--shared", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("../shared"),
              show_default=True, help="The shared folder (its dev pairs are labels too).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/review"),
              show_default=True, help="Where review.json, review.md and review.png are written.")
@json_option
def bench_review_command(corpus: Path | None, shared: Path, out: Path, as_json: bool) -> None:
    """A reviewer played from the labelled pairs and the design half of the judged paths answers
    `kg review`'s questions in order; the held-out judged paths are scored after 0, 10, 20 and
    50 answers."""
    import json

    from benchmarks.review import format_table, play, plot

    result = play(corpus or shared / "corpus" / "tech_glossary" / "linked", shared,
                  progress=lambda message: click.echo(message, err=True))
    out.mkdir(parents=True, exist_ok=True)
    (out / "review.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    _report(out, "review", result, format_table(result), plot, as_json)


@bench.command(name="close-match")
@click.option("--shared", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("../shared"),
              show_default=True, help="The shared folder (the linked corpus and the dev queries).")
@json_option
def bench_close_match_command(shared: Path, as_json: bool) -> None:
    """The relevance floors on every labelled query written so far: each round scored with the
    floors the other rounds choose (answerable kept close, no-answer told so), beside the
    shipped floors."""
    from benchmarks.close_match import format_table, run

    result = run(shared, progress=lambda message: click.echo(message, err=True))
    _print_bench(result, as_json, format_table)


@bench.command(name="pages")
@click.option("--rounds", type=click.IntRange(5, 10_000), default=200, show_default=True, help="Requests per page.")
@click.option("--loads", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Browser loads per graph page.")
@json_option
@pass_settings
def bench_pages_command(settings: Settings, rounds: int, loads: int, as_json: bool) -> None:
    """Web pages rendered by the server, and the graph of the most connected concept drawn in
    Debian's chromium (headless), beside GET /health timed in the same run."""
    from benchmarks.http import format_latency
    from benchmarks.pages import bench_pages_http

    load_glossary(settings)  # a clear message when the store is empty
    rows = bench_pages_http(settings.model_copy(update={"reload_interval": 0}), rounds=rounds, loads=loads)
    _print_bench(rows, as_json, format_latency)


@bench.command(name="explorer")
@click.option(
    "--size",
    type=click.IntRange(10, 1_000_000),
    default=10_000,
    show_default=True,
    help="Concepts of the synthetic glossary (benchmarks.synth).",
)
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The baseline glossary (default: the linked corpus beside the checkout).",
)
@click.option(
    "--shared",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("../shared"),
    show_default=True,
    help="The shared folder (for the default baseline).",
)
@click.option("--loads", type=click.IntRange(1, 100), default=5, show_default=True, help="Measured page loads.")
@click.option(
    "--frames", type=click.IntRange(10, 10_000), default=120, show_default=True, help="Frames recorded per pan."
)
@click.option(
    "--work",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the two stores are built, and reused when already there (default: a temporary folder).",
)
@json_option
def bench_explorer_command(
    size: int, corpus: Path | None, shared: Path, loads: int, frames: int, work: Path | None, as_json: bool
) -> None:
    """The graph explorer of /overview in Debian's chromium (headless) at SIZE synthetic concepts
    beside the linked corpus: GET /graph/layout (first and cached), navigation to the first frame,
    frame times while panning, and the "Whole graph" button."""
    import tempfile

    from benchmarks.pages import bench_graph_explorer, format_explorer, synthetic_store
    from kg.store.versions import Store, update_store

    corpus = corpus or shared / "corpus" / "tech_glossary" / "linked"
    with tempfile.TemporaryDirectory() as temporary:
        folder = work or Path(temporary)
        baseline = Settings(store=folder / "baseline" / "store", model="fake", reload_interval=0)
        if Store(baseline.store).current_version() is None:
            update_store([corpus], baseline)
        synthetic = synthetic_store(size, folder / f"synthetic-{size}")
        rows = bench_graph_explorer(
            [(f"{corpus.name} corpus", baseline), (f"synthetic {size}", synthetic)], loads=loads, frames=frames
        )
    _print_bench(rows, as_json, format_explorer)


@bench.command(name="load")
@click.option("--seconds", type=click.FloatRange(1, 300), default=30, show_default=True, help="Length of each run.")
@click.option("--connections", type=click.IntRange(1, 256), default=32, show_default=True)
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True, help="Server processes.")
@click.option("--scenario", "scenarios", multiple=True,
              type=click.Choice(["graph", "search", "export", "sparql", "mixed"]),
              help="Only these (repeatable; default all). mixed: prerequisites, new searches and SPARQL SELECT.")
@click.option("--reload", is_flag=True, help="Write a new store version half-way through the first run.")
@click.option("--warmup", type=click.FloatRange(0, 300), default=0, show_default=True,
              help="Seconds of unmeasured load first, so memory 'before' has the bounded caches full.")
@click.option("--boot", is_flag=True, help="Start the first run the moment the server answers, nothing warmed.")
@click.option("--attack", is_flag=True, help="Send hostile SPARQL queries (backtracking regex, cartesian "
                                             "products, CONCAT blow-up) all through each run.")
@json_option
@pass_settings
def bench_load_command(settings: Settings, seconds: float, connections: int, workers: int,
                       scenarios: tuple[str, ...], reload: bool, warmup: float, boot: bool, attack: bool,
                       as_json: bool) -> None:
    """Load on a real `kg serve` on 127.0.0.1 (wrk when installed): requests/s, p50/p99, errors and the
    server's memory before and after, per scenario (graph endpoints, new search queries, export, SPARQL,
    a mix), with GET /health timed on its own connection all along and the server's peak memory."""
    from benchmarks.load import bench_load, format_load

    load_glossary(settings)  # a clear message when the store is empty
    rows = bench_load(settings, seconds, connections, workers, list(scenarios) or None, reload, warmup, boot,
                      attack)
    _print_bench(rows, as_json, format_load)


@bench.command(name="health")
@click.option("--seconds", type=click.FloatRange(1, 300), default=10, show_default=True, help="Length of each run.")
@click.option("--connections", type=click.IntRange(1, 256), default=32, show_default=True)
@click.option("--rounds", type=click.IntRange(1, 20), default=3, show_default=True)
@json_option
@pass_settings
def bench_health_command(settings: Settings, seconds: float, connections: int, rounds: int, as_json: bool) -> None:
    """GET /health of `kg serve` beside a bare FastAPI app's (the floor), loaded in turn on 127.0.0.1:
    requests/s, p50 and p99, and their ratios to the bare app's."""
    from benchmarks.load import bench_health, format_health

    load_glossary(settings)  # a clear message when the store is empty
    _print_bench(bench_health(settings, seconds, connections, rounds), as_json, format_health)


def main() -> None:
    bench(prog_name="python -m benchmarks")


if __name__ == "__main__":
    main()
