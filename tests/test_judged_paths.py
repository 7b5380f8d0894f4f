"""Learning paths scored against paths judged item by item (kg.prereqs.judged, kg eval-paths)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api.cli import cli
from kg.errors import ParseError
from kg.prereqs.judged import Judgement, evaluate_paths, read_judgements, read_missing
from kg.store.versions import update_store

HEADER = "concept_id\tconcept_label\titem_id\titem_label\trank\tjudgement\terror_class\tnote\n"


def test_the_figures_count_what_is_listed_now():
    judged = [Judgement("a", "x", "P"), Judgement("a", "y", "W", "dependent"), Judgement("a", "z", "N"),
              Judgement("b", "y", "W", "sibling"), Judgement("b", "x", "P")]
    now = {"a": ["x", "z", "new"], "b": ["y"], "c": []}
    evaluation = evaluate_paths(now.__getitem__, judged, missing=[("b", "z"), ("c", "x")])
    m = evaluation.metrics
    assert m["concepts"] == 3 and m["wrong"] == 2 and m["genuine"] == 2 and m["missing"] == 2
    assert m["wrong_listed"] == 0.5  # b still lists y; a no longer does
    assert m["genuine_listed"] == 0.25  # of a<-x, b<-x, b<-z, c<-x only a<-x is listed
    assert m["clean_paths"] == pytest.approx(2 / 3)  # b lists a wrong item
    assert m["median_length"] == 1
    assert evaluation.wrong_listed == {"sibling": 1}
    assert evaluation.unjudged == [("a", "new")]
    assert "wrong items still listed: 50.0%" in evaluation.to_text()


def test_the_background_list_is_counted_apart():
    judged = [Judgement("a", "x", "P"), Judgement("a", "y", "W", "unrelated"), Judgement("a", "f", "N")]
    items, background = {"a": ["x"]}, {"a": ["f", "y"]}
    m = evaluate_paths(items.__getitem__, judged, background_of=background.__getitem__).metrics
    assert m["wrong_listed"] == 0.0 and m["wrong_shown"] == 1.0  # shown apart, not as an item
    assert m["genuine_listed"] == m["genuine_shown"] == 1.0 and m["median_length"] == 1
    assert "genuine_shown" not in evaluate_paths(items.__getitem__, judged).metrics


def test_a_bad_judgement_names_its_file_and_line(tmp_path):
    path = tmp_path / "j.tsv"
    path.write_text(HEADER + "a\tA\tx\tX\t1\tP\t\tok\na\tA\ty\tY\t2\tmaybe\t\t\n", encoding="utf-8")
    with pytest.raises(ParseError) as raised:
        read_judgements(path)
    assert raised.value.line == 3 and raised.value.file == str(path)
    short = tmp_path / "m.tsv"
    short.write_text("concept_id\tmissing_item_id\tnote\nonly-one-column\n", encoding="utf-8")
    with pytest.raises(ParseError):
        read_missing(short)


def test_kg_eval_paths_scores_the_store_it_serves(tmp_path, fixtures):
    store = str(tmp_path / "store")
    assert update_store([fixtures / "glossary"], _settings(store)).version
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["prereqs", "deep-learning", "--json", "--store", store]).output)["path"]
    assert len(listed) >= 2
    first, second = listed[0]["id"], listed[1]["id"]
    judged = tmp_path / "judged.tsv"
    judged.write_text(HEADER + f"deep-learning\tDeep Learning\t{first}\t-\t1\tP\t\t\n"
                      f"deep-learning\tDeep Learning\t{second}\t-\t2\tW\tsibling\t\n", encoding="utf-8")
    result = runner.invoke(cli, ["eval-paths", str(judged), "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["metrics"]
    assert metrics["wrong_listed"] == 1.0 and metrics["genuine_listed"] == 1.0 and metrics["clean_paths"] == 0.0
    # The path options reach the paths scored: nothing clears a confidence of 1.
    strict = json.loads(runner.invoke(cli, ["eval-paths", str(judged), "--store", store, "--json",
                                            "--min-confidence", "1"]).output)["metrics"]
    assert strict["wrong_listed"] == 0.0 and strict["genuine_listed"] == 0.0 and strict["clean_paths"] == 1.0
    assert strict["median_length"] == 0
    unknown = tmp_path / "unknown.tsv"
    unknown.write_text(HEADER + "no-such-term\tX\ty\tY\t1\tP\t\t\n", encoding="utf-8")
    refused = runner.invoke(cli, ["eval-paths", str(unknown), "--store", store])
    assert refused.exit_code == 2 and "no-such-term" in refused.output


def _settings(store: str):
    from kg.settings import Settings

    return Settings(store=store, semantic_index=False)
