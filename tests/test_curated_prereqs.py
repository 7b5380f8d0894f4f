"""Curated prerequisites: `前提:` bullets, front matter, kg-prerequisites.yaml and `kg prereqs --confirm/--reject`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import cli
from ingest import ingest_paths
from ingest.overrides import HEADER, apply_overrides, load_overrides, write_override
from ingest.reader import OVERRIDES_NAME
from kg.model import Concept, Label
from kg.settings import Settings
from kg.store.versions import Store, update_store

GRAPH_ONLY = Settings(semantic_index=False)

GLOSSARY = """\
# 機械学習

## 勾配降下法 | Gradient Descent

- 損失関数を最小にするようにパラメータを少しずつ動かす方法。

## 損失関数 | Loss Function

- 予測と正解のずれを測る関数。

## 誤差逆伝播法 | Backpropagation

- 勾配を出力側から順に求める方法。

## 最適化手法 | Optimizer

- パラメータを更新する規則。
- 前提: [勾配降下法](#gradient-descent)、損失関数
- Adam などがある。

## 大規模言語モデル | Large Language Model | LLM

- 大量のテキストで訓練した言語モデル。

Prerequisites: [[Backpropagation]]; Loss Function.
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _by_id(result) -> dict[str, Concept]:
    return {c.id: c for c in result.concepts}


def _issues(result, kind: str):
    return [i for i in result.issues if i.kind == kind]


# -- Markdown statements ------------------------------------------------------------------


def test_bullets_state_prerequisites_and_leave_the_definition(tmp_path):
    folder = _write(tmp_path / "g", {"ml.md": GLOSSARY})
    result = ingest_paths([folder], GRAPH_ONLY)
    concepts = _by_id(result)
    # Japanese form, a link and a plain label; English form, a wikilink and a label.
    assert concepts["optimizer"].prerequisites == ["gradient-descent", "loss-function"]
    assert concepts["large-language-model"].prerequisites == ["backpropagation", "loss-function"]
    optimizer = concepts["optimizer"].definition_text
    assert "前提" not in optimizer and "パラメータを更新する規則。" in optimizer and "Adam" in optimizer
    assert "Prerequisites" not in concepts["large-language-model"].definition_text
    # Metadata, not definition: the statement gives no link or mention.
    assert not {link.target for link in concepts["optimizer"].links} & {"gradient-descent", "loss-function"}
    assert not concepts["large-language-model"].links
    assert not _issues(result, "broken_prerequisite")


@pytest.mark.parametrize(
    "line",
    ["前提：勾配降下法，損失関数", "前提知識: 勾配降下法; 損失関数", "PREREQUISITE: Gradient Descent, loss function",
     '**前提:** <a href="#gradient-descent">勾配降下法</a>、[[Loss Function|損失関数]]'],
)
def test_every_marker_and_separator(tmp_path, line):
    text = f"## 勾配降下法 | Gradient Descent\n\n- 方法。\n\n## 損失関数 | Loss Function\n\n- 関数。\n\n" \
           f"## 最適化手法 | Optimizer\n\n- 規則。\n- {line}\n"
    result = ingest_paths([_write(tmp_path, {"g.md": text})], GRAPH_ONLY)
    optimizer = _by_id(result)["optimizer"]
    assert optimizer.prerequisites == ["gradient-descent", "loss-function"]
    assert optimizer.definition_text == "- 規則。"


def test_unresolved_and_self_prerequisites_are_reported_with_file_and_line(tmp_path):
    text = "## 損失関数 | Loss Function\n\n- 関数。\n\n## 最適化手法 | Optimizer\n\n- 規則。\n" \
           "- 前提: 損失関数、存在しない用語\n- Prerequisites: [Optimizer](#optimizer)\n"
    result = ingest_paths([_write(tmp_path, {"g.md": text})], GRAPH_ONLY)
    assert _by_id(result)["optimizer"].prerequisites == ["loss-function"]
    (broken,) = _issues(result, "broken_prerequisite")
    assert (broken.file, broken.line, broken.severity, broken.concepts) == ("g.md", 8, "warning", ("optimizer",))
    assert "存在しない用語" in broken.message
    (self_ref,) = _issues(result, "self_prerequisite")
    assert (self_ref.file, self_ref.line, self_ref.severity) == ("g.md", 9, "info")
    assert result.complete  # warnings, not lost input


def test_merged_headings_add_up(tmp_path):
    folder = _write(tmp_path, {
        "a.md": "## 勾配降下法 | Gradient Descent\n\n- 方法。\n\n"
                "## 最適化手法 | Optimizer\n\n- 規則。\n- 前提: 勾配降下法\n",
        "b.md": "## 損失関数 | Loss Function\n\n- 関数。\n\n## Optimizer\n\n- Prerequisites: Loss Function\n",
    })
    assert _by_id(ingest_paths([folder], GRAPH_ONLY))["optimizer"].prerequisites == ["gradient-descent",
                                                                                       "loss-function"]


@pytest.mark.parametrize(
    "front",
    ["prerequisites: [[Gradient Descent]]\n", 'prerequisites:\n  - "[[Gradient Descent]]"\n',
     "prerequisites: Gradient Descent\n"],
)
def test_front_matter_of_notes(tmp_path, front):
    folder = _write(tmp_path, {
        "Gradient Descent.md": "---\naliases: [勾配降下法]\n---\nA way to minimise a loss.\n",
        "Optimizer.md": f"---\ntitle: Optimizer\n{front}---\nHow parameters are updated.\n",
        "Loss Function.md": "---\ntitle: Loss Function\nprerequisites: Gradient Descent, Nowhere\n---\nA function.\n",
    })
    result = ingest_paths([folder], GRAPH_ONLY)
    assert _by_id(result)["optimizer"].prerequisites == ["gradient-descent"]
    (broken,) = _issues(result, "broken_prerequisite")
    assert (broken.file, broken.line) == ("Loss Function.md", 3) and "Nowhere" in broken.message


# -- the overrides file ---------------------------------------------------------------------

SKOS = """\
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<https://example.org/x/tensor> a skos:Concept ; skos:prefLabel "Tensor"@en .
"""

OVERRIDES = """\
# My corrections.
Optimizer:
  confirm: [Large Language Model, Tensor]
  reject: [損失関数]
LLM:
  confirm: "[[Optimizer]], nothing-like-this"
Tensor:
  confirm: [Gradient Descent]
No Such Term:
  confirm: [Optimizer]
"""


def test_overrides_apply_to_markdown_and_skos_concepts(tmp_path):
    folder = _write(tmp_path / "g", {"ml.md": GLOSSARY, "tensor.ttl": SKOS, OVERRIDES_NAME: OVERRIDES})
    result = ingest_paths([folder], GRAPH_ONLY)
    concepts = _by_id(result)
    optimizer = concepts["optimizer"]
    # The author's word wins over the page's own statement.
    assert optimizer.prerequisites == ["gradient-descent", "large-language-model", "tensor"]
    assert optimizer.rejected_prerequisites == ["loss-function"]
    assert concepts["large-language-model"].prerequisites == ["backpropagation", "loss-function", "optimizer"]
    assert concepts["tensor"].prerequisites == ["gradient-descent"]
    assert OVERRIDES_NAME in result.sources
    broken = {(i.file, i.line) for i in _issues(result, "broken_prerequisite")}
    assert broken == {(OVERRIDES_NAME, 6), (OVERRIDES_NAME, 9)}
    assert result.complete


def test_invalid_overrides_are_a_warning_and_ingest_goes_on(tmp_path):
    folder = _write(tmp_path, {"ml.md": GLOSSARY, OVERRIDES_NAME: "Optimizer:\n  confirm: [Loss Function\n  x: y\n"})
    result = ingest_paths([folder], GRAPH_ONLY)
    (bad,) = _issues(result, "bad_overrides")
    assert bad.file == OVERRIDES_NAME and bad.line and bad.severity == "warning"
    assert "YAML" in bad.message
    assert result.complete and _by_id(result)["optimizer"].prerequisites == ["gradient-descent", "loss-function"]


def test_badly_shaped_entries_are_reported():
    overrides = load_overrides("x", "Optimizer: [A]\nBackpropagation:\n  maybe: [B]\n  reject: C, [[D]]\n",
                               OVERRIDES_NAME)
    assert [(i.line, i.kind) for i in overrides.issues] == [(1, "bad_overrides"), (3, "bad_overrides")]
    (entry,) = overrides.entries
    assert entry.reject == [("C", 4), ("D", 4)]


def test_overrides_file_given_directly_and_its_changes_re_ingest(tmp_path, settings):
    folder = _write(tmp_path / "g", {"ml.md": GLOSSARY})
    overrides = folder / OVERRIDES_NAME
    overrides.write_text("Optimizer:\n  reject: [Gradient Descent]\n", encoding="utf-8")
    settings = settings.model_copy(update={"semantic_index": False})
    paths = [folder / "ml.md", overrides]
    first = update_store(paths, settings)
    assert first.changed
    assert Store(settings.store).load(settings).get("Optimizer").rejected_prerequisites == ["gradient-descent"]
    assert not update_store(paths, settings).changed
    overrides.write_text("Optimizer:\n  reject: [Loss Function]\n", encoding="utf-8")
    again = update_store(paths, settings)
    assert again.changed
    optimizer = Store(settings.store).load(settings).get("Optimizer")
    assert optimizer.rejected_prerequisites == ["loss-function"]
    assert optimizer.prerequisites == ["gradient-descent"]


def test_write_override_keeps_comments_entries_and_order(tmp_path):
    path = tmp_path / OVERRIDES_NAME
    path.write_text("# Mine.\n\n# Second line.\nZeta:\n  reject: [A]\nOptimizer:\n  confirm: [B, C]\n",
                    encoding="utf-8")
    write_override(tmp_path, "optimizer", confirm=["D"], reject=["B"])
    write_override(tmp_path, "New", confirm=["E"])
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Mine.\n\n# Second line.\nZeta:")
    assert text.index("Zeta") < text.index("Optimizer") < text.index("New")
    (zeta, optimizer, new) = load_overrides(path).entries
    assert [n for n, _ in optimizer.confirm] == ["C", "D"] and [n for n, _ in optimizer.reject] == ["B"]
    assert [n for n, _ in new.confirm] == ["E"]
    fresh = tmp_path / "fresh"
    write_override(fresh, "X", reject=["Y"])
    assert (fresh / OVERRIDES_NAME).read_text(encoding="utf-8").startswith(HEADER)


def test_apply_overrides_moves_between_lists():
    concept = Concept("a", [Label("A", "en")], prerequisites=["b"])
    other = Concept("b", [Label("B", "en")], rejected_prerequisites=["a"])
    overrides = load_overrides("x", "A:\n  reject: [B]\nB:\n  confirm: [a]\n", "o.yaml")
    assert apply_overrides([concept, other], overrides) == []
    assert (concept.prerequisites, concept.rejected_prerequisites) == ([], ["b"])
    assert (other.prerequisites, other.rejected_prerequisites) == (["a"], [])


# -- the model and the store ------------------------------------------------------------------


def test_rejected_prerequisites_round_trip_and_older_records_load(tmp_path, settings):
    concept = Concept("a", [Label("A", "en")], prerequisites=["b"], rejected_prerequisites=["c"])
    assert Concept.from_dict(json.loads(json.dumps(concept.to_dict()))) == concept
    older = concept.to_dict()
    del older["rejected_prerequisites"]
    assert Concept.from_dict(older).rejected_prerequisites == []
    folder = _write(tmp_path / "g", {"ml.md": GLOSSARY, OVERRIDES_NAME: "Optimizer:\n  reject: [LLM]\n"})
    settings = settings.model_copy(update={"semantic_index": False})
    update_store([folder], settings)
    loaded = Store(settings.store).load(settings).get("Optimizer")
    assert loaded.rejected_prerequisites == ["large-language-model"]
    assert loaded.prerequisites == ["gradient-descent", "loss-function"]


# -- kg prereqs --confirm / --reject ----------------------------------------------------------


@pytest.fixture
def kg(settings):
    """Invoke ``kg ARGS... --store <tmp store>`` (the semantic index on, with the fake encoder)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, [*args, "--store", str(settings.store)], obj=settings, catch_exceptions=False)

    return invoke


def _current(settings: Settings, term: str) -> Concept:
    return Store(settings.store).load(settings).get(term)


def test_confirm_then_reject_write_the_file_and_survive_re_ingest(kg, settings, tmp_path):
    folder = _write(tmp_path / "glossary", {"ml.md": GLOSSARY, "other.md": "## 確率 | Probability\n\n- 不確かさ。\n"})
    assert kg("ingest", str(folder)).exit_code == 0

    confirmed = kg("prereqs", "LLM", "--confirm", "最適化手法", "--json")
    assert confirmed.exit_code == 0, confirmed.output
    answer = json.loads(confirmed.stdout)
    assert answer["file"] == str(folder / OVERRIDES_NAME) and answer["changed"]
    assert answer["prerequisites"] == ["backpropagation", "loss-function", "optimizer"]

    rejected = kg("prereqs", "Optimizer", "--reject", "gradient-descent", "--reject", "Probability")
    assert rejected.exit_code == 0, rejected.output
    assert str(folder / OVERRIDES_NAME) in rejected.stdout and "reject Gradient Descent, Probability" in rejected.stdout
    written = load_overrides(folder / OVERRIDES_NAME)
    assert [(e.term, [n for n, _ in e.confirm], [n for n, _ in e.reject]) for e in written.entries] == [
        ("Large Language Model", ["Optimizer"], []),
        ("Optimizer", [], ["Gradient Descent", "Probability"]),
    ]

    def check() -> None:
        assert _current(settings, "LLM").prerequisites == ["backpropagation", "loss-function", "optimizer"]
        optimizer = _current(settings, "Optimizer")
        assert optimizer.prerequisites == ["loss-function"]
        assert optimizer.rejected_prerequisites == ["gradient-descent", "probability"]
        dag = Store(settings.store).load(settings).prerequisites  # and the DAG the service answers with
        assert dag.edges["optimizer", "large-language-model"]["curated"]
        assert dag.edges["loss-function", "optimizer"]["curated"]
        assert not dag.has_edge("gradient-descent", "optimizer")

    check()
    version = Store(settings.store).current_version()
    again = kg("ingest", str(folder))
    assert again.exit_code == 0 and "unchanged" in again.stdout
    check()
    (folder / "other.md").write_text("## 確率 | Probability\n\n- 不確かさの度合い。\n", encoding="utf-8")
    edited = kg("ingest", str(folder))
    assert edited.exit_code == 0, edited.output
    assert Store(settings.store).current_version() != version
    check()


def test_unknown_terms_exit_2_with_suggestions(kg, settings, tmp_path):
    folder = _write(tmp_path / "glossary", {"ml.md": GLOSSARY})
    assert kg("ingest", str(folder)).exit_code == 0
    for args in (["Optimiser", "--confirm", "LLM"], ["Optimizer", "--reject", "Gradient Decent"]):
        result = kg("prereqs", *args)
        assert result.exit_code == 2 and "did you mean" in result.stderr, result.output
    assert kg("prereqs", "Optimizer", "--confirm", "Optimizer").exit_code == 2
    assert not (folder / OVERRIDES_NAME).exists()


def test_source_folder_is_asked_for_when_unknown_and_added_to_inputs(kg, settings, tmp_path):
    folder = _write(tmp_path / "glossary", {"ml.md": GLOSSARY})
    assert kg("ingest", str(folder / "ml.md")).exit_code == 0
    # The input file's folder is the source folder.
    assert kg("prereqs", "Optimizer", "--reject", "Loss Function").exit_code == 0
    assert (folder / OVERRIDES_NAME).exists()
    assert _current(settings, "Optimizer").rejected_prerequisites == ["loss-function"]

    moved = tmp_path / "moved"
    folder.rename(moved)
    lost = kg("prereqs", "Optimizer", "--confirm", "LLM")
    assert lost.exit_code == 2 and "--source" in lost.stderr

    elsewhere = tmp_path / "corrections"
    elsewhere.mkdir()
    assert kg("ingest", str(moved / "ml.md")).exit_code == 0
    result = kg("prereqs", "Optimizer", "--confirm", "LLM", "--source", str(elsewhere))
    assert result.exit_code == 0, result.output
    assert (elsewhere / OVERRIDES_NAME).exists()
    assert Store(settings.store).manifest()["inputs"][-1] == str(elsewhere / OVERRIDES_NAME)
    assert "large-language-model" in _current(settings, "Optimizer").prerequisites
