"""``kg related`` and ``kg path``: the link-graph commands (``api.cli`` adds ``COMMANDS`` to ``kg``)."""

from __future__ import annotations

import click

from api.cli_util import json_option, load_glossary, pass_settings, print_json
from kg.prereqs.explained import DEFAULT_MAX_LENGTH, MAX_ALTERNATIVES, MAX_LENGTH, explain_path
from kg.prereqs.related import MAX_K, related


@click.command(name="related")
@click.argument("term")
@click.option(
    "--k", "k", type=click.IntRange(1, MAX_K), default=10, show_default=True, help="How many related concepts."
)
@json_option
@pass_settings
def related_command(settings, term: str, k: int, as_json: bool) -> None:
    """Concepts related to TERM (an id or any label), with the reason for each."""
    glossary = load_glossary(settings)
    concept = glossary.get(term)
    terms = related(glossary, concept.id, k=k)
    if as_json:
        print_json({"id": concept.id, "name": concept.name, "results": [t.to_dict() for t in terms]})
        return
    if not terms:
        click.echo(f"nothing is related to {concept.name} ({concept.id})", err=True)
    for n, item in enumerate(terms, 1):
        labels = " | ".join(dict.fromkeys(item.labels.values())) or item.name
        click.echo(f"{n:2d}. {labels}  [{item.id}]  {item.score:.3f}")
        for reason in item.reasons:
            click.echo(f"    {reason.kind}: {' '.join(reason.detail.split())}")

@click.command(name="path")
@click.argument("source")
@click.argument("target")
@click.option(
    "--alternatives",
    type=click.IntRange(0, MAX_ALTERNATIVES),
    default=0,
    show_default=True,
    help="Further distinct chains to show (at most one step longer).",
)
@click.option(
    "--max-length",
    type=click.IntRange(1, MAX_LENGTH),
    default=DEFAULT_MAX_LENGTH,
    show_default=True,
    help="Longest chain, in steps.",
)
@json_option
@pass_settings
def path_command(settings, source: str, target: str, alternatives: int, max_length: int, as_json: bool) -> None:
    """The shortest chain of links from SOURCE to TARGET, with the sentence behind each step."""
    answer = explain_path(load_glossary(settings), source, target, alternatives=alternatives, max_length=max_length)
    if as_json:
        print_json(answer.to_dict())
    else:
        click.echo(answer.to_text())


COMMANDS = [related_command, path_command]
