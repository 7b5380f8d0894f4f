"""What every ``kg`` command shares (as Annif's ``cli_util``): the ``--store`` and ``--json``
options, output helpers, the progress bar, and the group that turns the core's errors into
one line on stderr and an exit code."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from kg.errors import KGError, RemoteStoreError, StoreError
from kg.glossary import Glossary
from kg.model import Issue
from kg.settings import Settings
from kg.store.versions import Store

EMPTY_STORE = "the store is empty: run `kg ingest PATH` (or `kg serve`, which ingests the bundled glossary)"
#: Exit code of a command that could not read or write the SPARQL store (ingest uses 1 and 2).
REMOTE_EXIT = 3


class RemoteStoreFailed(click.ClickException):
    """A ``RemoteStoreError`` on the command line: one line on stderr, exit code 3."""

    exit_code = REMOTE_EXIT


class KGGroup(click.Group):
    """Turns the core's errors into a one-line message on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RemoteStoreError as error:  # the SPARQL store of --to/--from: exit code 3
            raise RemoteStoreFailed(one_line(error)) from None
        except KGError as error:
            raise click.ClickException(one_line(error)) from None


def one_line(error: KGError) -> str:
    message = str(error)
    suggestions = error.details.get("suggestions") or []
    if suggestions:
        labels = ", ".join(s.get("label") or s.get("id") for s in suggestions)
        message += f"; did you mean: {labels}?"
    return " ".join(message.split())  # one line, whatever the message held



def pass_settings(command):
    """Add ``--store`` and pass ``settings`` first; a ``Settings`` given as ``obj`` (tests) is the base."""

    @click.option(
        "--store",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Store directory (default: $KG_STORE or ~/.local/share/kg/store).",
    )
    @click.pass_context
    @functools.wraps(command)
    def wrapper(ctx: click.Context, store: Path | None, **kwargs: Any) -> Any:
        base = ctx.find_object(Settings) or Settings()
        settings = base.model_copy(update={"store": store}) if store else base
        return ctx.invoke(command, settings, **kwargs)

    return wrapper


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def load_glossary(settings: Settings) -> Glossary:
    """The store's current version, or a message saying how to fill an empty store."""
    store = Store(settings.store)
    if store.is_empty():
        raise StoreError(EMPTY_STORE, store=str(settings.store))
    return store.load(settings)


class Progress:
    """A tqdm bar on stderr, created at the first file (when the total is known).

    ``delay`` keeps short ingests quiet; tqdm stays silent when stderr is not a terminal.
    """

    def __init__(self) -> None:
        self.bar = None
        self.phase = None

    def __call__(self, done: int, total: int, name: str) -> None:
        phase = "embedding" if name == "embedding" else "reading"
        if self.bar is None or phase != self.phase:
            from tqdm import tqdm

            self.close()
            self.phase = phase
            unit = "text" if phase == "embedding" else "file"
            self.bar = tqdm(total=total, unit=unit, desc=phase, file=sys.stderr, delay=0.5, disable=None, leave=False)
        if phase == "reading":
            self.bar.set_postfix_str(name[-40:], refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class ArgumentError(click.ClickException):
    """A term or option that cannot be used: exit code 2, like click's usage errors."""

    exit_code = 2


def issue_line(issue: Issue) -> str:
    """``file:line: message`` (errors say so after the place, as compilers do)."""
    where = f"{issue.file}:{issue.line}: " if issue.file and issue.line else (f"{issue.file}: " if issue.file else "")
    return f"{where}{'error: ' if issue.severity == 'error' else ''}{issue.message}"
