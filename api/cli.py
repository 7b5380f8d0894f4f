"""The ``kg`` command line: a thin layer over ``kg.Glossary`` and the store."""

from __future__ import annotations

import copy
import sys
import textwrap
from pathlib import Path
from typing import Any

import click

from api import graph_cli, prereq_cli, replica_cli
from api.cli_util import KGGroup, Progress, issue_line, json_option, load_glossary, one_line, pass_settings, print_json
from api.replica_cli import connect, publish_after_ingest, published_line, start_replica
from kg.errors import BadParameterError, KGError
from kg.rdf.formats import resolve_format
from kg.settings import Settings
from kg.store.versions import Store, update_store
from kg.text import plain_text

# -- commands -----------------------------------------------------------------------------


@click.group(cls=KGGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kg-glossary", prog_name="kg")
def cli() -> None:
    """Knowledge graph over Markdown technical glossaries."""


def _dialect_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # heavy: ingest loads markdown-it and yaml (~55 ms), kept out of the `kg` CLI start-up
    from ingest.dialects import canonical

    try:
        return canonical(value) if value is not None else None
    except KGError as error:
        raise click.BadParameter(str(error)) from None


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Ingest even when the files are unchanged.")
@click.option("--dialect", metavar="NAME", default=None, callback=_dialect_option,
              help="Markdown dialect: auto (each file by evidence; KG_DIALECT), plain, hugo, mkdocs, docusaurus, "
                   "mdbook. Naming one reads the files again even when unchanged.")
@click.option("--to", "target", metavar="URL", default=None,
              help="Then publish the current version to the SPARQL 1.1 store at URL (KG_SPARQL_* settings).")
@json_option
@pass_settings
def ingest(settings: Settings, paths: tuple[Path, ...], force: bool, dialect: str | None, target: str | None,
           as_json: bool) -> None:
    """Read Markdown files or folders and SKOS files into a new store version.

    Exit code: 0 when everything was read (or nothing changed), 1 when some input
    was lost (named on stderr), 2 when nothing could be ingested, 3 when the SPARQL
    store of --to could not be reached (then nothing is ingested) or written.
    """

    if dialect is not None:  # in the settings fingerprint: another dialect re-reads unchanged files
        settings = settings.model_copy(update={"dialect": dialect})
    remote = connect(settings, target) if target else None  # unreachable: fail before writing anything
    progress = Progress()
    try:
        outcome = update_store(list(paths), settings, progress=progress, force=force)
    finally:
        progress.close()
    published, failure = publish_after_ingest(settings, remote, target, outcome) if remote else (None, None)
    result = outcome.result
    problems = [i for i in outcome.issues if i.severity != "info"]
    embedded = _embedding_counts(settings, outcome.version) if outcome.changed else None
    if as_json:
        print_json(
            {
                "version": outcome.version,
                "changed": outcome.changed,
                "concepts": len(result.concepts) if result else None,
                "collections": len(result.collections) if result else None,
                "files": result.files_read if result else None,
                "issues": [i.to_dict() for i in outcome.issues],
                "exit_code": outcome.exit_code,
                "embedded": embedded,
                **({"published": published.to_dict() if published else None} if target else {}),
            }
        )
    elif result is None:
        click.echo(f"unchanged: store version {outcome.version} already holds these files (--force re-ingests)")
    else:
        for issue in problems:
            click.echo(issue_line(issue), err=True)
        notes = len(outcome.issues) - len(problems)
        errors = sum(1 for i in problems if i.severity == "error")
        summary = (
            f"{len(result.concepts)} concepts, {len(result.collections)} collections from "
            f"{result.files_read} files; {errors} errors, {len(problems) - errors} warnings, {notes} notes"
        )
        if embedded and embedded.get("encoded") is not None:
            # Only texts the embedding cache lacks are encoded: after a small edit, a handful.
            summary += f"; embedded {embedded['encoded']} new text(s), {embedded['from_cache']} from the cache"
        if outcome.changed:
            click.echo(f"version {outcome.version}: {summary}")
        else:
            click.echo(f"nothing ingested ({summary}); the store was not changed", err=True)
    if published and not as_json:
        click.echo(published_line(published))
    if failure:
        raise failure
    sys.exit(outcome.exit_code)


def _embedding_counts(settings: Settings, version: str | None) -> dict[str, Any] | None:
    """How many passages a new version encoded and took from the cache (None: no dense index)."""

    try:
        index = Store(settings.store).manifest(version).get("extra", {}).get("index")
    except KGError:
        return None
    return {"encoded": index.get("encoded"), "from_cache": index.get("from_cache")} if index else None


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Server processes (default 1; KG_WORKERS). Each loads the store; reloads reach each one.")
@click.option("--from", "source", metavar="URL", default=None,
              help="Serve what `kg ingest --to URL` published in the SPARQL 1.1 store at URL, and follow it.")
@pass_settings
def serve(settings: Settings, host: str | None, port: int | None, workers: int | None, source: str | None) -> None:
    """Serve the HTTP API and the web pages; an empty store is first filled with the bundled glossary."""
    import os

    import uvicorn

    # heavy: api.app and api.guard load fastapi and uvicorn, which the other commands do not need
    from api.app import create_app, ensure_store, open_state
    from api.guard import uvicorn_options

    settings = settings.model_copy(update={k: v for k, v in {"host": host, "port": port, "workers": workers}.items()
                                           if v is not None})
    if source:  # the store's publication becomes the local store's current version, then is followed

        progress = Progress()
        try:
            settings, _follower = start_replica(settings, source, progress=progress)
        finally:
            progress.close()
    # Prepared before uvicorn starts so that progress and errors read like any command's.
    progress = Progress()
    try:
        outcome = ensure_store(settings, progress=progress)
    finally:
        progress.close()
    if outcome is not None:
        click.echo(f"ingested {settings.default_glossary} as version {outcome.version}", err=True)
    _exit_cleanly_on_sigterm()
    if settings.workers > 1:
        # Each worker process builds its app from the environment (api.app:create_app reads Settings()).
        os.environ["KG_STORE"] = str(settings.store)
        os.environ["TMPDIR"] = _workers_temporary_folder()
        if source:  # a replica serves the publisher's URIs; the follower (a daemon thread) stays in this process
            os.environ.update({"KG_BASE_URI": settings.base_uri, "KG_SCHEME_TITLE": settings.scheme_title})
        uvicorn.run("api.app:create_app", factory=True, workers=settings.workers, host=settings.host,
                    port=settings.port, log_config=_log_config(), **uvicorn_options(settings))
        return
    state = open_state(settings)
    # uvicorn_options: the HTTP protocol that bounds request headers in size and time (api.guard).
    uvicorn.run(create_app(settings, state=state), host=settings.host, port=settings.port, log_config=_log_config(),
                **uvicorn_options(settings))


def _exit_cleanly_on_sigterm() -> None:
    """After its graceful shutdown, uvicorn raises the signal that stopped it again, to the
    handler that was there before it started. Python's default dies of it without running exit
    hooks, which leaves the SPARQL snapshot and multiprocessing's folder in the temporary
    folder: this handler exits instead, with the status a shell gives a process killed by it."""
    import signal

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _workers_temporary_folder() -> str:
    """A temporary folder for the worker processes, removed when this one exits. A worker is
    stopped the way ``_exit_cleanly_on_sigterm`` says, but in a process uvicorn spawns, where
    that handler cannot be set before uvicorn's own: it dies without its exit hooks, and would
    leave multiprocessing's ``pymp-*`` folder behind."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="kg-")  # short: forkserver's socket path in it has at most 107 bytes
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, plus the service's own log (reloads, refused store versions)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for name in ("api", "kg"):
        config["loggers"][name] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@cli.command()
@click.argument("term")
@json_option
@pass_settings
def show(settings: Settings, term: str, as_json: bool) -> None:
    """Everything about one concept; TERM is an id or any label."""
    view = load_glossary(settings).concept_view(term)
    if as_json:
        print_json(view)
    else:
        click.echo(_render_concept(view))


def _render_concept(view: dict[str, Any]) -> str:
    lines = [f"{view['name']}  ({view['id']})", f"  {view['uri']}"]
    for lang, labels in view["labels"].items():
        also = f"  (also: {', '.join(labels['alt'])})" if labels["alt"] else ""
        lines.append(f"  {lang}: {labels['pref']}{also}")
    for definition in view["definitions"]:
        source = definition["source"]
        where = f"{source['file']}:{source['line']}" if source else ""
        lines.append("")
        lines.append(f"Definition ({where}):" if where else "Definition:")
        lines.append(textwrap.indent(plain_text(definition["text"], one_line=False), "  "))
    for key, title in (
        ("links_out", "Links to"),
        ("links_in", "Linked from"),
        ("broader", "Broader"),
        ("narrower", "Narrower"),
        ("same_label_as", "Shares the label with"),
    ):
        if view.get(key):
            lines.append("")
            lines.append(f"{title}: " + ", ".join(f"{item['name']} ({item['id']})" for item in view[key]))
    return "\n".join(lines)


@cli.command()
@click.argument("prefix")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Most hits.")
@json_option
@pass_settings
def lookup(settings: Settings, prefix: str, limit: int, as_json: bool) -> None:
    """Concepts with a label starting with PREFIX (autocomplete)."""
    hits = load_glossary(settings).lookup(prefix, limit=limit)
    if as_json:
        print_json(hits)
    else:
        for hit in hits:
            click.echo(f"{hit['label']}\t{hit['id']}")


def _format_option(ctx: click.Context, param: click.Parameter, value: str):
    # heavy: kg.prereqs.export adds ~2 ms to every `kg` command
    from kg.prereqs.export import GRAPH_FORMATS

    if value.strip().lower() in GRAPH_FORMATS:
        return GRAPH_FORMATS[value.strip().lower()]
    try:
        return resolve_format(value)
    except BadParameterError as error:
        raise click.BadParameter(f"{error.message}; or a prerequisite graph: graphml, dot, cytoscape") from None


@cli.command()
@click.option(
    "--format",
    "fmt",
    default="turtle",
    show_default=True,
    callback=_format_option,
    help="SKOS: turtle, xml, json-ld or nt (aliases and media types work too); the prerequisite graph: "
         "graphml, dot or cytoscape.",
)
@click.option("--center", default=None, help="Graph formats: only the concepts around this one (id or label).")
@click.option("--depth", type=click.IntRange(0, 20), default=2, show_default=True,
              help="Graph formats: steps from --center.")
@click.option("--direction", type=click.Choice(["path", "prerequisites", "dependents", "both"]), default="both",
              show_default=True, help="Graph formats: around --center, its learning path and direct dependents "
                                      "(path), or what it needs, what needs it, or both within --depth.")
@click.option("--collection", default=None, help="Graph formats: only members of this collection (id or label).")
@click.option("--output", "-o", type=click.File("wb", lazy=True), default="-", help="File to write (default: stdout).")
@pass_settings
def export(settings: Settings, fmt: Any, center: str | None, depth: int, direction: str, collection: str | None,
           output: Any) -> None:
    """The whole glossary as a SKOS graph, or its prerequisite graph (GraphML, DOT, Cytoscape.js)."""
    # heavy: kg.prereqs.export adds ~2 ms to every `kg` command
    from kg.prereqs.export import GraphFormat, export_graph

    glossary = load_glossary(settings)
    if isinstance(fmt, GraphFormat):
        data, _media_type = export_graph(glossary.prerequisite_view(center, depth if center else None, direction,
                                                                    collection), fmt.name)
    else:
        data, _media_type = glossary.export(fmt.name)
    # Lazy: the file is only created once there is something to write into it.
    output.write(data)
    output.flush()
    if output.name != "-":
        click.echo(f"wrote {len(data)} bytes of {fmt.name} to {output.name}", err=True)


@cli.command()
@json_option
@pass_settings
def check(settings: Settings, as_json: bool) -> None:
    """The SKOS quality report (findings with file and line)."""
    report = load_glossary(settings).quality()
    if as_json:
        print_json(report.to_dict())
    else:
        click.echo(report.to_text())


@cli.command()
@click.argument("query")
@click.option("--k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="How many hits.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True)
@click.option("--lang", default=None, help="Only concepts with a label in this language (ja, en).")
@json_option
@pass_settings
def search(settings: Settings, query: str, k: int, mode: str, lang: str | None, as_json: bool) -> None:
    """Find concepts by meaning or label, in Japanese or English."""
    answer = load_glossary(settings).search_answer(query, k=k, mode=mode, lang=lang)
    if as_json:
        print_json(answer.to_dict())
        return
    if not answer.close_match:
        also = ", ".join(s["label"] for s in answer.suggestions)
        never = ", ".join(answer.unknown_names)
        click.echo(f"no close match for {query!r}" + (f": the glossary never mentions {never}" if never else "")
                   + (f"; did you mean: {also}?" if also else ""), err=True)
    for n, hit in enumerate(answer.hits, 1):
        if hit.weak and (n == 1 or not answer.hits[n - 2].weak):
            click.echo("weak matches:")
        labels = " | ".join(dict.fromkeys(hit.labels.values()))
        click.echo(f"{n:2d}. {labels}  [{hit.id}]  {hit.score:.2f} ({hit.matched['by']})")
        click.echo(f"    {hit.snippet}")


@cli.command(name="eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--k", "k", type=click.IntRange(1, 100), default=10, show_default=True, help="Cut-off of the metrics.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True)
@click.option("--no-answer", "no_answer", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A TSV of queries the glossary has no answer to (first column): the share told 'no close match'.")
@json_option
@pass_settings
def evaluate_queries(settings: Settings, queries: Path, k: int, mode: str, no_answer: Path | None,
                     as_json: bool) -> None:
    """Search quality on QUERIES.tsv (query TAB relevant labels separated by ';'):
    MRR@k, hit@1, hit@k, nDCG@k, the misses, and the share of queries given a close match."""
    # heavy: kg.search.evaluate adds ~4 ms to every `kg` command
    from kg.search.evaluate import evaluate, read_no_answer_queries, read_queries

    glossary = load_glossary(settings)
    evaluation = evaluate(
        read_queries(queries),
        lambda q: [hit.id for hit in glossary.search(q, k=k, mode=mode)],
        lambda label: [c.id for c in glossary.candidates(label)],
        k=k,
        close=lambda q: glossary.search_answer(q, k=k, mode=mode).close_match,
        no_answer=read_no_answer_queries(no_answer) if no_answer else (),
    )
    if as_json:
        print_json(evaluation.to_dict())
    else:
        click.echo(evaluation.to_text())


@cli.command()
@click.argument("old", required=False)
@click.argument("new", required=False)
@json_option
@pass_settings
def diff(settings: Settings, old: str | None, new: str | None, as_json: bool) -> None:
    """What changed between two store versions (default: the previous and the current one):
    concepts added, removed, relabelled, redefined; links and prerequisites added or removed."""
    # heavy: kg.store.changes adds ~2 ms to every `kg` command
    from kg.store.changes import store_changes

    try:
        changes = store_changes(settings, old, new)
    except KGError as error:
        raise click.ClickException(one_line(error) + "; versions: " + ", ".join(
            error.details.get("versions", []) or ["none"])) from None
    if as_json:
        print_json(changes.to_dict())
    else:
        click.echo(changes.to_text())


# kg prereqs, eval-prereqs, train-prereqs; kg related, kg path (beside the link-graph helpers); kg pull
# (beside ingest --to and serve --from).
for command in (*prereq_cli.COMMANDS, *graph_cli.COMMANDS, *replica_cli.COMMANDS):
    cli.add_command(command)


def main() -> None:
    """Console entry point (``kg``)."""
    cli(prog_name="kg")
