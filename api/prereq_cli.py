"""``kg prereqs``, ``kg review``, ``kg eval-prereqs`` and ``kg train-prereqs``: learning paths,
their corrections and their quality (``api.cli`` adds ``COMMANDS`` to the ``kg`` group)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.cli_util import (
    ArgumentError,
    Progress,
    issue_line,
    json_option,
    load_glossary,
    one_line,
    pass_settings,
    print_json,
)
from kg.errors import BadParameterError, KGError, NotFoundError
from kg.prereqs.judged import evaluate_paths, read_judgements, read_missing
from kg.prereqs.learning import PATH_LIMIT, PATH_MIN_CONFIDENCE, learning_path, prerequisite_graph
from kg.settings import Settings


def path_options(command):
    """``--depth``, ``--limit`` and ``--min-confidence``: how a learning path is cut."""
    for option in reversed([
        click.option("--depth", type=click.IntRange(0, 100), default=None, help="How many prerequisite steps back."),
        click.option("--limit", type=click.IntRange(1, 200), default=PATH_LIMIT, show_default=True,
                     help="At most this many items (direct prerequisites are never cut by it)."),
        click.option("--min-confidence", type=click.FloatRange(0, 1), default=PATH_MIN_CONFIDENCE, show_default=True,
                     help="Least strength of an item (its chains together)."),
    ]):
        command = option(command)
    return command


@click.command()
@click.argument("term")
@click.option("--known", default="", help="Concepts you already know, comma-separated (ids or labels).")
@click.option("--confirm", multiple=True, metavar="B",
              help="Record that B is a prerequisite of TERM, whatever inference says (repeatable).")
@click.option("--reject", multiple=True, metavar="B",
              help="Record that B is not a prerequisite of TERM (repeatable).")
@click.option("--source", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder to keep kg-prerequisites.yaml in (default: the folder the store was ingested from).")
@path_options
@json_option
@pass_settings
def prereqs(settings: Settings, term: str, known: str, depth: int | None, confirm: tuple[str, ...],
            reject: tuple[str, ...], source: Path | None, limit: int, min_confidence: float, as_json: bool) -> None:
    """What to learn before TERM, basics first, skipping what you know.

    With --confirm or --reject, correct TERM's prerequisites instead: the correction
    is written to kg-prerequisites.yaml in the glossary's source folder (applied on
    every ingest) and the store is re-ingested so that it is live at once.
    """
    if confirm or reject:
        _correct_prerequisites(settings, term, confirm, reject, source, as_json)
        return
    glossary = load_glossary(settings)
    path = glossary.learning_path(term, known=[k for k in known.split(",") if k.strip()], depth=depth,
                                  limit=limit, min_confidence=min_confidence)
    if as_json:
        print_json(path)
        return
    name = path["concept"]["name"]
    background = ", ".join(b["name"] for b in path["background"])
    if not path["path"]:
        click.echo(f"nothing to learn before {name}" + (" that you do not know already" if path["known"] else ""))
        if background:
            click.echo(f"Background: {background}")
        return
    click.echo(f"Before {name}, learn (basics first; score = strength of its chains together):")
    for n, step in enumerate(path["path"], 1):
        labels = " | ".join(dict.fromkeys(step["labels"].values()))
        mark = "  [curated]" if step["curated"] else ""
        click.echo(f"{n:2d}. {labels}  [{step['id']}]  {step['score']:.2f}{mark}")
        click.echo(f"    {step['reason']}")
        evidence = step["chain"][0]["evidence"]
        if evidence:
            click.echo(f"    \u201c{' '.join(evidence.split())[:110]}\u201d")
    if background:
        click.echo(f"Background (the fields it belongs to): {background}")
    if path["left_out"]:
        click.echo(f"({path['left_out']} weaker ancestors left out: --limit, --min-confidence)")


def _correct_prerequisites(settings: Settings, term: str, confirm: tuple[str, ...], reject: tuple[str, ...],
                           source: Path | None, as_json: bool) -> None:
    """``kg prereqs TERM --confirm B / --reject B``: write the overrides file, then re-ingest."""
    # heavy: kg.prereqs.curation adds ~1 ms to every `kg` command
    from kg.prereqs.curation import correct_prerequisites

    glossary = load_glossary(settings)
    progress = Progress()
    try:
        done = correct_prerequisites(glossary, settings, term, confirm, reject, source, progress=progress)
    except (NotFoundError, BadParameterError) as error:
        raise ArgumentError(one_line(error)) from None
    finally:
        progress.close()
    path, concept, confirmed, rejected = done.file, done.concept, done.confirmed, done.rejected
    outcome, issues, now, paths = done.outcome, done.issues, done.now, done.inputs
    if as_json:
        print_json(
            {
                "file": str(path.absolute()),
                "concept": {"id": concept.id, "name": concept.name},
                "confirmed": [{"id": c.id, "name": c.name} for c in confirmed],
                "rejected": [{"id": c.id, "name": c.name} for c in rejected],
                "version": outcome.version,
                "changed": outcome.changed,
                "prerequisites": list(now.prerequisites) if now else None,
                "rejected_prerequisites": list(now.rejected_prerequisites) if now else None,
                "issues": [i.to_dict() for i in issues],
                "exit_code": outcome.exit_code,
            }
        )
    else:
        said = [f"confirm {', '.join(c.name for c in confirmed)}" if confirmed else "",
                f"reject {', '.join(c.name for c in rejected)}" if rejected else ""]
        click.echo(f"wrote {path.absolute()}: {concept.name}: {'; '.join(s for s in said if s)}")
        for issue in issues:
            click.echo(issue_line(issue), err=True)
        if outcome.changed:
            click.echo(f"re-ingested {len(paths)} input(s) as version {outcome.version}")
        elif outcome.result is None:
            click.echo(f"unchanged: store version {outcome.version} already holds this correction")
        else:
            click.echo("nothing ingested; the store was not changed", err=True)
        if now is not None:
            names = {c.id: c.name for c in glossary.concepts.values()}
            listed = {"prerequisites": now.prerequisites, "rejected": now.rejected_prerequisites}
            click.echo(f"{now.name}: " + "; ".join(
                f"{title} {', '.join(names.get(i, i) for i in ids) or '(none)'}" for title, ids in listed.items()
            ))
    if outcome.exit_code:
        sys.exit(outcome.exit_code)


@click.command(name="eval-prereqs")
@click.argument("pairs", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--not-pairs", "negatives", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Labelled non-prerequisites (not_prerequisite TAB concept): precision is the share "
                                 "kept out of the concept's learning path.")
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Score the DAG this prerequisite model (from `kg train-prereqs --output`) infers from the "
                   "store's concepts, instead of the store's own: e.g. a model fitted without the held-out pairs.")
@json_option
@pass_settings
def evaluate_prereqs(settings: Settings, pairs: Path, negatives: Path | None, model_path: Path | None,
                     as_json: bool) -> None:
    """Prerequisite quality on PAIRS.tsv (prerequisite TAB concept): the share of pairs
    whose prerequisite is in the concept's learning path, reversed, unconnected, the
    median learning-path length, and with --not-pairs the precision on non-prerequisites."""
    # heavy: kg.prereqs.model (+ .features, .cues) and kg.search.evaluate add ~14 ms to every `kg` command
    from kg.prereqs.model import load_model
    from kg.search.evaluate import evaluate_prerequisites, read_pairs

    glossary = load_glossary(settings)
    try:
        dag = prerequisite_graph(glossary, load_model(model_path)) if model_path else glossary.prerequisites
    except KGError as error:
        raise click.ClickException(one_line(error)) from None

    def resolve(label: str) -> str | None:
        found = glossary.candidates(label)
        return found[0].id if found else None

    evaluation = evaluate_prerequisites(
        read_pairs(pairs), lambda cid: learning_path(dag, cid).steps, resolve,
        read_pairs(negatives) if negatives else [],
    )
    if as_json:
        print_json(evaluation.to_dict())
    else:
        click.echo(evaluation.to_text())


@click.command(name="train-prereqs")
@click.option("--corpus", "corpora", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A glossary (file or folder) to learn from; repeatable.")
@click.option("--pairs", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled prerequisites (prerequisite TAB concept); repeatable.")
@click.option("--not-pairs", "negatives", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled non-prerequisites (not_prerequisite TAB concept); repeatable.")
@click.option("--recipe", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A recipe file naming all of these (a checkout's eval/recipe.json is the shipped model's); "
                   "--corpus, --pairs and --not-pairs add to it.")
@click.option("--shared", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The shared corpus folder a recipe's {shared} names.")
@click.option("--design-only", is_flag=True, help="With --recipe: leave out the held-out halves of its pairs.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the model (use it with KG_PREREQUISITE_MODEL, or `kg eval-prereqs --model`).")
@click.option("--cv/--no-cv", default=True, show_default=True, help="Score leave-one-file-out first.")
@json_option
def train_prereqs(corpora: tuple[Path, ...], pairs: tuple[Path, ...], negatives: tuple[Path, ...],
                  recipe: Path | None, shared: Path | None, design_only: bool, output: Path, cv: bool,
                  as_json: bool) -> None:
    """Fit the prerequisite model (deterministic) on the glossaries and labelled pairs given: weak
    labels from the glossaries' own cues plus the labelled pairs; prints leave-one-file-out quality
    and the weights, and writes the model to --output."""
    # heavy: kg.prereqs.training adds ~3 ms to every `kg` command
    from kg.prereqs.training import fit_recipe, read_recipe

    corpora_list, pairs_list, negatives_list = list(corpora), list(pairs), list(negatives)
    if recipe is not None:
        try:
            named = read_recipe(recipe, shared, held_out=not design_only)
        except FileNotFoundError as error:
            raise click.ClickException(f"{error}; pass --shared DIR or name the files") from None
        corpora_list, pairs_list, negatives_list = (named[0] + corpora_list, named[1] + pairs_list,
                                                    named[2] + negatives_list)
    if not corpora_list or not pairs_list:
        raise click.UsageError("name the glossaries (--corpus) and labelled pairs (--pairs), or a --recipe")
    report = fit_recipe(corpora_list, pairs_list, negatives_list, output, cv=cv,
                        progress=None if as_json else click.echo)
    if as_json:
        print_json(report)

@click.command(name="eval-paths")
@click.argument("judged", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--missing", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Missing prerequisites (concept_id TAB missing_item_id TAB note); repeatable.")
@path_options
@json_option
@pass_settings
def evaluate_paths_command(settings: Settings, judged: tuple[Path, ...], missing: tuple[Path, ...],
                           depth: int | None, limit: int, min_confidence: float, as_json: bool) -> None:
    """Learning paths scored against paths judged item by item (JUDGED.tsv: concept_id, concept_label,
    item_id, item_label, rank, judgement P/N/W, error_class, note): the share of wrong items still
    listed, of genuine and missing ones listed, of paths with no wrong item, and the median length."""
    glossary = load_glossary(settings)

    answers: dict[str, dict] = {}

    def answer(concept: str) -> dict:
        if concept not in answers:
            try:
                found = glossary.get(concept)
            except NotFoundError as error:
                raise ArgumentError(f"{one_line(error)} (named in the judged paths)") from None
            answers[concept] = glossary.learning_path(found.id, depth=depth, limit=limit,
                                                      min_confidence=min_confidence)
        return answers[concept]

    def path_of(concept: str) -> list[str]:
        return [item["id"] for item in answer(concept)["path"]]

    def background_of(concept: str) -> list[str]:
        return [item["id"] for item in answer(concept)["background"]]

    judgements = [j for path in judged for j in read_judgements(path)]
    wanted = [pair for path in missing for pair in read_missing(path)]
    evaluation = evaluate_paths(path_of, judgements, wanted, background_of)
    if as_json:
        print_json({"metrics": evaluation.metrics, "wrong_listed": dict(evaluation.wrong_listed),
                    "unjudged": [{"concept": c, "item": i} for c, i in evaluation.unjudged]})
    else:
        click.echo(evaluation.to_text())



@click.command()
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True,
              help="Questions to ask (or list) at most.")
@click.option("--source", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder to keep kg-prerequisites.yaml in (default: the folder the store was ingested from).")
@json_option
@pass_settings
def review(settings: Settings, limit: int, source: Path | None, as_json: bool) -> None:
    """Answer the prerequisite questions that change the most learning paths.

    Each question ("Is B needed before A?") comes from an edge the model is unsure of, a pair
    just under its cut, or a term close in meaning that the text never connects; they are
    ranked by how unsure the model is times how many learning paths the answer changes.
    Answer y (yes), n (no), s (skip) or q (stop); the answers go to kg-prerequisites.yaml,
    as with `kg prereqs --confirm/--reject`, and the store is re-ingested once. With --json,
    the questions are listed for a script and nothing is asked.
    """
    # heavy: kg.prereqs.review reads every candidate pair's features
    from kg.prereqs.review import apply_answers, review_questions

    glossary = load_glossary(settings)
    try:
        questions = review_questions(glossary, limit=limit)
    except BadParameterError as error:
        raise ArgumentError(one_line(error)) from None
    if as_json:
        print_json({"questions": [q.to_dict(glossary) for q in questions]})
        return
    if not questions:
        click.echo("nothing to ask: every prerequisite the model is unsure of has been answered")
        return
    answers: list[tuple[str, str, bool]] = []
    for n, question in enumerate(questions, 1):
        shown = question.to_dict(glossary)
        click.echo(f"\n{n}/{len(questions)}. {shown['question']}  ({question.source}; changes up to "
                   f"{question.impact} path{'s' if question.impact > 1 else ''}; model: {question.chance:.0%})")
        for sentence in question.evidence:
            click.echo(f"   \u201c{' '.join(sentence.split())[:140]}\u201d")
        choice = click.prompt("   [y]es / [n]o / [s]kip / [q]uit", type=click.Choice(["y", "n", "s", "q"]),
                              default="s", show_choices=False)
        if choice == "q":
            break
        if choice in "yn":
            answers.append((question.prerequisite, question.concept, choice == "y"))
    if not answers:
        click.echo("no answers: nothing written")
        return
    progress = Progress()
    try:
        outcome = apply_answers(glossary, settings, answers, source, progress=progress)
    except BadParameterError as error:
        raise ArgumentError(one_line(error)) from None
    finally:
        progress.close()
    yes = sum(1 for _, _, said in answers if said)
    click.echo(f"\n{yes} confirmed, {len(answers) - yes} rejected; written to kg-prerequisites.yaml"
               + (f"; re-ingested as version {outcome.version}" if outcome and outcome.changed else ""))
    if outcome is not None and outcome.exit_code:
        sys.exit(outcome.exit_code)


COMMANDS = [prereqs, review, evaluate_prereqs, evaluate_paths_command, train_prereqs]
