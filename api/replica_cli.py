"""The SPARQL-store side of the CLI: ``kg ingest --to URL``, ``kg serve --from URL`` and ``kg pull URL``
(see ``kg.store.replication``); ``api.cli`` adds ``COMMANDS`` (``pull``) to the ``kg`` group."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from api.cli_util import Progress, json_option, pass_settings, print_json
from kg.errors import RemoteStoreError
from kg.settings import Settings

if TYPE_CHECKING:
    from kg.store.replication import Follower, PublishOutcome, PullOutcome
    from kg.store.sparql_store import SparqlStore
    from kg.store.versions import UpdateOutcome

def connect(settings: Settings, url: str) -> SparqlStore:
    """The store at ``url``, checked to answer a query before anything is done locally."""
    # heavy: kg.store.replication and kg.store.sparql_store add ~5 ms, kept out of the `kg` CLI start-up
    from kg.store.sparql_store import SparqlStore

    remote = SparqlStore.from_settings(url, settings)
    remote.check()
    return remote


def publish_after_ingest(settings: Settings, remote: SparqlStore, url: str,
                         outcome: UpdateOutcome) -> tuple[PublishOutcome | None, RemoteStoreError | None]:
    """Publish the store's current version after ``kg ingest`` (not when nothing could be ingested).

    Returns:
        ``(outcome, None)``, or ``(None, error)`` when the store refused: the caller reports the
        ingest first, then fails with the error.
    """
    # heavy: kg.store.replication and kg.store.sparql_store add ~5 ms, kept out of the `kg` CLI start-up
    from kg.store.replication import publish

    if outcome.exit_code == 2 or outcome.version is None:
        return None, None
    try:
        return publish(settings, remote, url), None
    except RemoteStoreError as error:
        return None, error


def published_line(published: PublishOutcome) -> str:
    if not published.changed:
        return f"already published: {published.url} holds version {published.version} in <{published.graph}>"
    return (f"published version {published.version} ({published.concepts} concepts) to {published.url} "
            f"in <{published.graph}>")


def start_replica(settings: Settings, url: str, progress=None) -> tuple[Settings, Follower | None]:
    """Pull the store's publication into ``settings.store`` and follow it (``kg serve --from``).

    Returns:
        The settings to serve with (the publisher's URIs) and the started follower (None when
        ``sparql_poll_interval`` is 0 or the graph is plain SKOS without a publication to follow).
    """
    # heavy: kg.store.replication and kg.store.sparql_store add ~5 ms, kept out of the `kg` CLI start-up
    from kg.store.replication import Follower, pull

    outcome = pull(settings, connect(settings, url), url, progress=progress)
    _report(outcome, url)
    follower = None
    if outcome.publication is not None and settings.sparql_poll_interval > 0:
        follower = Follower(outcome.settings, url, settings.sparql_poll_interval).start()
    elif outcome.publication is None:
        click.echo(f"<{outcome.graph}> is plain SKOS (no kg publication beside it): served as read now, "
                   "not followed", err=True)
    return outcome.settings, follower


def _report(outcome: PullOutcome, url: str) -> None:
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)
    what = "pulled" if outcome.changed else "already current:"
    click.echo(f"{what} version {outcome.version} from <{outcome.graph}> at {url}", err=True)


@click.command(name="pull")
@click.argument("url")
@json_option
@pass_settings
def pull_command(settings: Settings, url: str, as_json: bool) -> None:
    """Make the glossary published in the SPARQL 1.1 store at URL (`kg ingest --to URL`, or any
    SKOS graph: KG_SPARQL_GRAPH) the current version of the local store. Exit code 3 when the
    store cannot be read."""
    # heavy: kg.store.replication and kg.store.sparql_store add ~5 ms, kept out of the `kg` CLI start-up
    from kg.store.replication import pull

    progress = Progress()
    try:
        outcome = pull(settings, connect(settings, url), url, progress=progress)
    finally:
        progress.close()
    if as_json:
        print_json({"version": outcome.version, "changed": outcome.changed, "graph": outcome.graph,
                     "published_version": outcome.publication.version if outcome.publication else None,
                     "concepts": outcome.concepts, "warnings": outcome.warnings})
    else:
        _report(outcome, url)


COMMANDS = [pull_command]
