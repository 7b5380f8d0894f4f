"""The review queue (kg.prereqs.review, kg review): questions ranked by what an answer changes,
answered in a terminal, written where the author's corrections live and kept on re-ingest."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from api.cli import cli
from ingest import ingest_paths
from kg import Glossary, Settings
from kg.errors import BadParameterError
from kg.prereqs.review import UNSURE, review_questions

DATA = Path(__file__).resolve().parent.parent / "data"
GRAPH_ONLY = Settings(semantic_index=False)


@pytest.fixture(scope="module")
def linked(linked_corpus) -> Glossary:
    return Glossary.from_ingest(ingest_paths([linked_corpus]), GRAPH_ONLY)


def test_questions_are_unsure_and_ranked_by_what_an_answer_changes(linked):
    questions = review_questions(linked, limit=40)
    assert len(questions) == 40
    priorities = [q.priority for q in questions]
    assert priorities == sorted(priorities, reverse=True)
    assert len({frozenset((q.prerequisite, q.concept)) for q in questions}) == 40  # one question a pair
    dag = linked.prerequisites
    for q in questions:
        assert 0 < q.uncertainty <= 1 and q.impact >= 1
        if q.source in ("inferred edge", "below the cut"):
            assert UNSURE[0] <= q.chance <= UNSURE[1]
            assert dag.has_edge(q.prerequisite, q.concept) == (q.source == "inferred edge")
        assert not dag.has_edge(q.prerequisite, q.concept) or not dag.edges[q.prerequisite, q.concept]["curated"]
        assert q.priority == pytest.approx(q.uncertainty * q.impact)
    # The impact is the concept's own path and every path that reaches it through chains.
    from kg.prereqs.review import _impacts

    impact = _impacts(dag)
    impacts = {concept: impact(concept) for concept in dag}
    assert max(impacts.values()) > 10 and min(impacts.values()) == 1
    assert questions[0].impact > sorted(impacts.values())[len(impacts) // 2]  # a hub's question comes first
    with pytest.raises(BadParameterError):
        review_questions(linked, limit=0)


def _store(tmp_path) -> tuple[Path, str]:
    source = tmp_path / "glossary"
    shutil.copytree(DATA, source)
    store = str(tmp_path / "store")
    assert CliRunner().invoke(cli, ["ingest", str(source), "--store", store]).exit_code == 0
    return source, store


def test_kg_review_asks_writes_the_answers_and_they_survive_re_ingest(tmp_path):
    source, store = _store(tmp_path)
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["review", "--limit", "3", "--json", "--store", store]).output)["questions"]
    assert len(listed) == 3 and all(q["question"].startswith("Is ") for q in listed)
    first, second = listed[0], listed[1]

    answered = runner.invoke(cli, ["review", "--limit", "3", "--store", store], input="y\nn\ns\n")
    assert answered.exit_code == 0, answered.output
    assert first["question"] in answered.output and "1 confirmed, 1 rejected" in answered.output
    overrides = (source / "kg-prerequisites.yaml").read_text(encoding="utf-8")
    assert first["prerequisite"]["name"] in overrides and second["prerequisite"]["name"] in overrides

    def dag_edges() -> dict:
        path = json.loads(runner.invoke(cli, ["prereqs", first["concept"]["id"], "--json", "--store", store]).output)
        return {item["id"]: item["curated"] for item in path["path"]}

    assert dag_edges().get(first["prerequisite"]["id"]) is True  # confirmed: a curated item
    changes = runner.invoke(cli, ["diff", "--store", store]).output
    assert "prerequisites added" in changes or "prerequisites removed" in changes
    # A fresh ingest of the same folder keeps the answers; they are not asked again.
    assert runner.invoke(cli, ["ingest", str(source), "--store", store, "--force"]).exit_code == 0
    assert dag_edges().get(first["prerequisite"]["id"]) is True
    again = json.loads(runner.invoke(cli, ["review", "--limit", "20", "--json", "--store", store]).output)["questions"]
    asked = {(q["prerequisite"]["id"], q["concept"]["id"]) for q in again}
    for q in (first, second):
        assert (q["prerequisite"]["id"], q["concept"]["id"]) not in asked


def test_kg_review_with_no_answer_writes_nothing(tmp_path):
    source, store = _store(tmp_path)
    result = CliRunner().invoke(cli, ["review", "--limit", "2", "--store", store], input="s\nq\n")
    assert result.exit_code == 0 and "nothing written" in result.output
    assert not (source / "kg-prerequisites.yaml").exists()


def test_a_refit_on_answers_is_deterministic_and_moves_the_pairs_that_look_alike(linked):
    from kg.prereqs.features import extract
    from kg.prereqs.learning import stated_rows
    from kg.prereqs.model import load_model, refit

    candidates = extract(linked)
    model = load_model()
    before = model.probabilities(candidates.matrix)
    # Reject the five likeliest inferred edges whose evidence is a plain mention.
    dag = linked.prerequisites
    plain = sorted((data["confidence"], p, c) for p, c, data in dag.edges(data=True) if data["relation"] == "uses")
    rows = {pair: n for n, pair in enumerate(candidates.rows())}
    rejected = {rows[(p, c)]: 0 for _, p, c in plain[-5:]}
    first, second = refit(model, candidates.matrix, rejected), refit(model, candidates.matrix, rejected)
    assert np.array_equal(first.coef, second.coef) and first.intercept == second.intercept
    after = first.probabilities(candidates.matrix)
    assert all(after[row] < before[row] for row in rejected)
    # Pairs nobody was asked about move too: the other plain mentions, on average, towards "no".
    others = [rows[(p, c)] for _, p, c in plain[:-5]]
    assert np.mean(after[others]) < np.mean(before[others])
    assert stated_rows(linked, candidates) == {}  # the linked corpus states no prerequisite itself


def test_one_correction_changes_its_own_pair_on_the_bundled_page(tmp_path):
    """The README's example: the refit on one answer does not drift the rest of a small glossary."""
    source, store = _store(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["prereqs", "Gradient Descent", "--confirm", "Loss Function", "--store", store,
                               "--source", str(source)]).exit_code == 0
    diff = runner.invoke(cli, ["diff", "--store", store]).output
    assert "prerequisites added (1):" in diff and "Loss Function -> Gradient Descent" in diff
    assert "prerequisites removed (1):" in diff and "Gradient Descent -> Loss Function" in diff
