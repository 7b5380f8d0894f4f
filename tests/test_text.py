"""Plain text wherever a person reads a definition outside the concept page: search snippets,
CLI lines, evidence sentences and ``skos:definition`` (kg.text.plain_text)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import SKOS

from api.cli import cli
from ingest import ingest_paths
from kg import Glossary, Settings
from kg.rdf.skos import to_rdf
from kg.store.versions import Store, update_store
from kg.text import plain_lines, plain_text

ROOT = Path(__file__).resolve().parent.parent
# What raw markup looks like in plain text: bold marks, escaped TeX, a Markdown bullet at the
# start of a line, display math.
MARKUP = re.compile(r"\*\*|\\\\|^\s*- |\$\$", re.M)


def test_plain_text_drops_marks_and_keeps_math_readable():
    stored = "- 訓練データに**過剰に適合**する。\n  - 例: `fit()` を $h_i' = \\\\frac{a}{b}$ で\n$$\n\\\\sum_i x_i\n$$"
    assert plain_lines(stored) == ["• 訓練データに過剰に適合する。", "  • 例: fit() を $h_i' = \\frac{a}{b}$ で",
                                   "$\\sum_i x_i$"]
    assert plain_text(stored) == "訓練データに過剰に適合する。 例: fit() を $h_i' = \\frac{a}{b}$ で; $\\sum_i x_i$"


def test_plain_text_keeps_words_that_only_look_like_marks():
    assert plain_text("snake_case and 2*3*4 and a_b_c") == "snake_case and 2*3*4 and a_b_c"
    assert plain_text("see [Job](/docs/job/) and <br> *this*") == "see Job and  *this*"
    assert plain_text("名詞,*,*,私; は,*,が") == "名詞,*,*,私; は,*,が"  # MeCab's columns are data
    assert plain_text("$$\na \\\\\\\\ b\n$$") == "$a ; b$"  # a TeX line break reads as a separator
    assert plain_text("") == "" and plain_text("- ") == ""
    assert plain_text("LLMの計算量は**コンテキスト長nの") == "LLMの計算量はコンテキスト長nの"  # a quote cut a span


def test_a_math_block_is_kept_as_display_math(tmp_path):
    """GitHub's ```math block is raw TeX: stored as display math, read as one formula."""
    page = tmp_path / "g.md"
    page.write_text("## 最小二乗法 | Least Squares\n\n- 手法\n\n```math\nY &= X\\theta \\\\\nZ &= 1\n```\n",
                    encoding="utf-8")
    concept = Glossary.from_ingest(ingest_paths([page]), Settings(model="fake")).get("Least Squares")
    assert "$$\nY &= X\\theta \\\\\nZ &= 1\n$$" in concept.definition_text
    assert plain_text(concept.definition_text) == "手法; $Y &= X\\theta ; Z &= 1$"


def _all_output(store: Path, runner: CliRunner) -> dict[str, list[str]]:
    """Every line a person reads about every concept: ``kg show``, ``kg search`` for its name,
    ``kg prereqs`` and ``kg related``, and the export's ``skos:definition`` literals."""
    settings = Settings(store=store, model="fake")
    glossary = Store(store).load(settings)
    env = {"KG_STORE": str(store), "KG_MODEL": "fake"}
    seen: dict[str, list[str]] = {}
    for concept in glossary.concepts.values():
        for command in (["show", concept.id], ["search", concept.name, "--k", "5"], ["prereqs", concept.id],
                        ["related", concept.id]):
            result = runner.invoke(cli, command, env=env)
            assert result.exit_code == 0, (command, result.output)
            seen[" ".join(command)] = result.stdout.splitlines()
    rdf = to_rdf(glossary)
    seen["skos:definition"] = [str(o) for o in rdf.objects(None, SKOS.definition)]
    return seen


@pytest.mark.parametrize("corpus", ["bundled", "linked"])
def test_no_markup_in_anything_read_about_any_concept(corpus, tmp_path, request):
    source = ROOT / "data" if corpus == "bundled" else request.getfixturevalue("linked_corpus")
    store = tmp_path / "store"
    assert update_store([source], Settings(store=store, model="fake")).version
    seen = _all_output(store, CliRunner())
    assert len(seen["skos:definition"]) >= 25
    dirty = [(where, line) for where, lines in seen.items() for line in lines if MARKUP.search(line)]
    assert not dirty, dirty[:10]

