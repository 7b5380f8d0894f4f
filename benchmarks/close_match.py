"""The relevance floors (``Settings.search_floor``, ``search_floor_glossed``) on every labelled
query written so far, choosing them the way a new round would meet them.

Every query of the pool is ranked once by the real engine over a store built with the default
model; whether a pair of floors gives it a close match is then worked out from its hits, for
every pair of a grid. Leave-one-round-out: for each round (the queries one session wrote), the
pair that does best on the other rounds is chosen and scored on that round alone, so no round
grades floors it helped choose. "Best" is the most no-answer queries told so while keeping at
least ``KEEP`` of the answerable ones close (the product's bar).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kg.glossary import Glossary
from kg.labels import detect_lang
from kg.search.evaluate import read_no_answer_queries, read_queries
from kg.settings import Settings

EVAL = Path(__file__).resolve().parent.parent / "eval"
BUNDLED = Path(__file__).resolve().parent.parent / "data"
KEEP = 0.95

# (round, answerable file, no-answer file) per glossary: each round was written by one session.
LINKED_ROUNDS = [
    ("dev", "{shared}/eval/dev_queries.tsv", f"{EVAL}/no_answer_design.tsv"),
    ("probe", f"{EVAL}/probe_queries.tsv", f"{EVAL}/no_answer_heldout.tsv"),
    ("round2", f"{EVAL}/round2_queries.tsv", f"{EVAL}/round2_no_answer.tsv"),
    ("round3", f"{EVAL}/round3_queries.tsv", f"{EVAL}/round3_no_answer.tsv"),
    ("round4", f"{EVAL}/round4_queries.tsv", f"{EVAL}/round4_no_answer.tsv"),
    ("round5", f"{EVAL}/round5_queries.tsv", f"{EVAL}/round5_no_answer.tsv"),
    ("round6", f"{EVAL}/round6_queries.tsv", f"{EVAL}/round6_no_answer.tsv"),
    ("round7", f"{EVAL}/round7_queries.tsv", f"{EVAL}/round7_no_answer.tsv"),
    ("round8", f"{EVAL}/round8_queries.tsv", f"{EVAL}/round8_no_answer.tsv"),
    ("round9", f"{EVAL}/round9_queries.tsv", f"{EVAL}/round9_no_answer.tsv"),
]
BUNDLED_ROUNDS = [
    ("bundled", None, f"{EVAL}/no_answer_bundled.tsv"),
    ("bundled2", f"{EVAL}/round2_bundled_queries.tsv", f"{EVAL}/round2_bundled_no_answer.tsv"),
]
FLOORS = [round(0.20 + 0.01 * step, 2) for step in range(31)]  # 0.20 .. 0.50
SWEEP_FLOORS, SWEEP_GLOSSED = (0.29, 0.30, 0.31, 0.32), (0.36, 0.37, 0.38, 0.39, 0.40)


def collect(glossary: Glossary, rounds: list[tuple[str, str | None, str]], shared: Path) -> list[dict[str, Any]]:
    """One row per query: its round, whether it has an answer, whether it was glossed, and the
    relevance of each hit that could be close (a name the glossary never uses leaves only
    label matches of 0.5 or more)."""
    engine = glossary.engine
    rows = []
    for name, answerable, no_answer in rounds:
        queries = [(q.query, 1) for q in read_queries(answerable.format(shared=shared))] if answerable else []
        queries += [(q, 0) for q in read_no_answer_queries(no_answer.format(shared=shared))]
        for query, label in queries:
            hits = engine.search(query)
            unknown = bool(engine.unknown_names(query))
            rows.append({
                "round": name, "answerable": label, "query": query,
                "glossed": engine.semantic.glosser is not None and detect_lang(query) == "ja",
                "relevance": max((hit.score for hit in hits
                                  if not unknown or hit.signals.get("label_score", 0.0) >= 0.5), default=0.0),
            })
    return rows


def _close(row: dict[str, Any], floor: float, glossed_floor: float) -> bool:
    return row["relevance"] >= (glossed_floor if row["glossed"] else floor)


def shares(rows: list[dict[str, Any]], floor: float, glossed_floor: float) -> dict[str, float]:
    """Answerable queries given a close match, and no-answer queries told there is none."""
    answerable = [row for row in rows if row["answerable"]]
    no_answer = [row for row in rows if not row["answerable"]]
    return {  # None: the round has no query of that kind
        "answerable_close": sum(_close(r, floor, glossed_floor) for r in answerable) / len(answerable)
        if answerable else None,
        "no_answer_told": sum(not _close(r, floor, glossed_floor) for r in no_answer) / len(no_answer)
        if no_answer else None,
    }


def choose(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """The floors that tell the most no-answer queries while keeping ``KEEP`` of the answerable
    ones close (ties: the lower floors, which hide fewer answers)."""
    best: tuple[float, float, float] | None = None
    for floor in FLOORS:
        for glossed_floor in FLOORS:
            got = shares(rows, floor, glossed_floor)
            kept = got["answerable_close"] is not None and got["answerable_close"] >= KEEP
            if kept and (best is None or got["no_answer_told"] > best[0]):
                best = (got["no_answer_told"], floor, glossed_floor)
    return (best[1], best[2]) if best else (FLOORS[0], FLOORS[0])


def _store(paths: list[Path], directory: Path) -> Glossary:
    from kg.store.versions import update_store

    settings = Settings(store=directory, model=Settings.model_fields["model"].default)
    if update_store(paths, settings).exit_code != 0:
        raise RuntimeError(f"ingest of {paths} failed")
    return Glossary.open(settings)


def run(shared: Path, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Each round scored with floors chosen on the others, the shipped floors on every round,
    and the floors the whole pool would choose."""
    with tempfile.TemporaryDirectory() as tmp:
        progress("ingesting the linked corpus and the bundled page with the default model")
        linked = _store([shared / "corpus" / "tech_glossary" / "linked"], Path(tmp) / "linked")
        bundled = _store([BUNDLED], Path(tmp) / "bundled")
        shipped = (linked.settings.search_floor, linked.settings.search_floor_glossed)
        rows = collect(linked, LINKED_ROUNDS, shared) + collect(bundled, BUNDLED_ROUNDS, shared)
    rounds = list(dict.fromkeys(row["round"] for row in rows))
    per_round = []
    for name in rounds:
        floors = choose([row for row in rows if row["round"] != name])
        own = [row for row in rows if row["round"] == name]
        per_round.append({"round": name, "queries": len(own), "floors": floors, **shares(own, *floors),
                          "shipped": shares(own, *shipped)})
    # every query scored with the floors of the rounds it is not in
    left_out = {entry["round"]: entry["floors"] for entry in per_round}
    answerable = sum(row["answerable"] for row in rows)
    pooled = {"answerable_close": sum(_close(r, *left_out[r["round"]]) for r in rows if r["answerable"]) / answerable,
              "no_answer_told": sum(not _close(r, *left_out[r["round"]]) for r in rows if not r["answerable"])
              / (len(rows) - answerable)}
    # the whole pool at floors around the shipped ones: the trade between the two halves
    sweep = [{"floors": (floor, glossed), **shares(rows, floor, glossed)}
             for floor in SWEEP_FLOORS for glossed in SWEEP_GLOSSED]
    return {"keep": KEEP, "shipped_floors": shipped, "rounds": per_round, "left_out": pooled,
            "shipped": shares(rows, *shipped), "pool_choice": choose(rows), "sweep": sweep,
            "queries": {"answerable": answerable, "no_answer": len(rows) - answerable}}


def format_table(result: dict[str, Any]) -> str:
    def pair(got: dict[str, float | None]) -> str:
        return " ".join(f"{'-':>7}" if got[key] is None else f"{got[key]:>7.1%}"
                        for key in ("answerable_close", "no_answer_told"))

    queries = result["queries"]
    lines = [f"{queries['answerable']} answerable and {queries['no_answer']} no-answer queries; "
             "figures: answerable kept close, no-answer told so",
             f"{'round':<9} {'queries':>7}  {'floors chosen on the others':>27} {'':>15}  "
             f"shipped {result['shipped_floors'][0]:.2f}/{result['shipped_floors'][1]:.2f}"]
    for entry in result["rounds"]:
        floors = f"{entry['floors'][0]:.2f}/{entry['floors'][1]:.2f}"
        lines.append(f"{entry['round']:<9} {entry['queries']:>7}  {floors:>27} {pair(entry):>15}  "
                     f"{pair(entry['shipped'])}")
    lines.append(f"{'all':<9} {sum(e['queries'] for e in result['rounds']):>7}  {'(each left out)':>27} "
                 f"{pair(result['left_out']):>15}  {pair(result['shipped'])}")
    floor, glossed = result["pool_choice"]
    lines.append(f"the whole pool would choose {floor:.2f} (glossed {glossed:.2f})")
    lines.append("the whole pool at other floors (rows: floor; columns: glossed floor):")
    lines.append(f"{'':>9} " + " ".join(f"{g:>15.2f}" for g in SWEEP_GLOSSED))
    for floor in SWEEP_FLOORS:
        cells = [pair(entry) for entry in result["sweep"] if entry["floors"][0] == floor]
        lines.append(f"{floor:>9.2f} " + " ".join(f"{cell:>15}" for cell in cells))
    return "\n".join(lines)
