"""Each mention read as a relation (kg.prereqs.relations): what makes a prerequisite, what
never does, the words quoted, and the hierarchy exported from the is-a relations."""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import networkx as nx
import pytest
from rdflib import Graph
from rdflib.namespace import SKOS

from ingest import ingest_paths
from kg import Glossary, Settings
from kg.prereqs.cues import _USE_HEADER
from kg.prereqs.features import extract
from kg.prereqs.learning import BACKGROUND_SHARE, background_terms, learning_path
from kg.prereqs.relations import PREREQUISITE_RELATIONS, edge_relation
from kg.rdf.skos import to_rdf

GRAPH_ONLY = Settings(semantic_index=False)
DATA = Path(__file__).resolve().parent.parent / "data"  # the bundled glossary


def _glossary(tmp_path, text: str) -> Glossary:
    (tmp_path / "terms.md").write_text(text, encoding="utf-8")
    return Glossary.from_ingest(ingest_paths([tmp_path]), GRAPH_ONLY)


def _relation(glossary: Glossary, prerequisite: str, concept: str) -> tuple[str, str, str]:
    """The relation the text states for "prerequisite before concept" (whatever the model weighs)."""
    p, c = glossary.get(prerequisite), glossary.get(concept)
    candidates = extract(glossary)
    for n, pair in enumerate(candidates.pairs):
        if set(pair) == {p.id, c.id}:
            row = candidates.matrix[2 * n if pair == (p.id, c.id) else 2 * n + 1]
            return edge_relation(p, c, row, candidates.uses.get((c.id, p.id)), candidates.uses.get((p.id, c.id)))
    raise AssertionError(f"{prerequisite} and {concept} are no candidate pair")


def test_each_mention_is_read_as_a_relation_with_its_words(tmp_path):
    glossary = _glossary(tmp_path, (
        "## 機械学習 | Machine Learning\n\n- データから規則を学ぶ手法。\n\n"
        "## 深層学習 | Deep Learning\n\n- 多層のニューラルネットワークを用いる機械学習の一分野。\n\n"
        "## ニューラルネットワーク | Neural Network\n\n- 入力層と隠れ層で構成されるモデル。\n\n"
        "## 隠れ層 | Hidden Layer\n\n- ニューラルネットワークの中間の計算単位。\n\n"
        "## F値 | F-score\n\n- 適合率と再現率の調和平均。\n\n"
        "## 適合率 | Precision\n\n- 正と予測したもののうち正しい割合。\n\n"
        "## 再現率 | Recall\n\n- 正のもののうち正と予測できた割合。\n\n"
        "## 畳み込みニューラルネットワーク | Convolutional Neural Network\n\n- 画像認識で広く用いられる。\n"))
    relation, source, words = _relation(glossary, "Machine Learning", "Deep Learning")
    assert (relation, source) == ("is-a", "concept") and "機械学習の一分野" in words
    relation, _, words = _relation(glossary, "Neural Network", "Deep Learning")
    assert relation == "built-on" and "ニューラルネットワークを用い" in words
    relation, _, words = _relation(glossary, "Hidden Layer", "Neural Network")
    assert relation == "part" and "隠れ層で構成" in words
    relation, _, words = _relation(glossary, "Recall", "F-score")
    assert relation == "derived-from" and "調和平均" in words
    assert _relation(glossary, "Neural Network", "Convolutional Neural Network")[:2] == ("is-a", "labels")
    # Every edge of the DAG carries its relation, and its first reason says it with the words.
    for _p, _c, data in glossary.prerequisites.edges(data=True):
        assert data["relation"] in PREREQUISITE_RELATIONS, data
        if data["words"] and " / " not in data["words"]:  # labels are named, not quoted
            assert data["words"] in data["reasons"][0]


def test_applications_siblings_and_contrasts_make_no_prerequisite(tmp_path):
    glossary = _glossary(tmp_path, (
        "## 深層学習 | Deep Learning\n\n- 多層のニューラルネットワークを用いる手法。\n- 応用分野:\n"
        "  - 画像分類: 物体の認識。\n\n"
        "## 画像分類 | Image Classification\n\n- 画像にラベルを付けるタスク。\n\n"
        "## サイクルアキュレート | Cycle-accurate\n\n- 1サイクル単位で正確なシミュレーション。\n\n"
        "## 機能シミュレーション | Functional Simulation\n\n"
        "- 命令の結果だけを再現する。サイクルアキュレートではない。\n\n"
        "## ニューラルネットワーク | Neural Network\n\n- 層を重ねたモデル。\n"))
    assert _relation(glossary, "Deep Learning", "Image Classification")[0] == "application"
    assert _relation(glossary, "Cycle-accurate", "Functional Simulation")[0] == "sibling"
    dag = glossary.prerequisites
    for a, b in (("Deep Learning", "Image Classification"), ("Cycle-accurate", "Functional Simulation")):
        assert not dag.has_edge(glossary.get(a).id, glossary.get(b).id)


def test_a_label_used_as_a_verb_or_inside_quoted_text_is_no_mention(tmp_path):
    glossary = _glossary(tmp_path, (
        "## 埋め込み | Embedding\n\n- 単語をベクトルに写す表現。\n\n"
        "## 分類 | Classification\n\n- 入力をクラスに分けるタスク。\n\n"
        "## 自然言語処理 | Natural Language Processing\n\n- 人間の言語を扱う分野。\n\n"
        "## プロンプトインジェクション | Prompt Injection\n\n- 入力に命令を埋め込み、モデルを操る攻撃。\n\n"
        "## 外れ値 | Outlier\n\n- 他と大きく異なり、異常と分類される値。\n\n"
        "## トークン化 | Tokenization\n\n"
        "- テキストを単位に分ける処理。例: 「私は自然言語処理が好きです」を分割する。\n\n"
        "## 文埋め込み | Sentence Embedding\n\n- 文全体の埋め込みを求める手法。\n"))
    candidates = extract(glossary)
    used = {pair for pair, use in candidates.uses.items() if use.cues}
    ids = {label: glossary.get(label).id for label in ("Embedding", "Classification", "Prompt Injection", "Outlier",
                                                          "Tokenization", "Natural Language Processing",
                                                          "Sentence Embedding")}
    assert (ids["Prompt Injection"], ids["Embedding"]) not in used  # 埋め込み, the verb
    assert (ids["Outlier"], ids["Classification"]) not in used  # 分類される, is classified
    assert (ids["Tokenization"], ids["Natural Language Processing"]) not in used  # inside the quoted example
    assert (ids["Sentence Embedding"], ids["Embedding"]) in used  # 埋め込みを求める: the noun


def test_an_english_label_after_a_modal_is_its_verb(tmp_path):
    glossary = _glossary(tmp_path, (
        "## Query\n\nA request for data, written in a query language.\n\n"
        "## Index\n\nA structure that finds rows without reading the whole table.\n\n"
        "## Database\n\nAn organised collection of data that programs can query and update.\n\n"
        "## Table\n\nRows and columns. The DBMS may not index it.\n\n"
        "## Query Plan\n\nThe steps the DBMS chooses to run a query, reading an index or the table.\n"))
    used = {pair for pair, use in extract(glossary).uses.items() if use.cues}
    ids = {label: glossary.get(label).id for label in ("Query", "Index", "Database", "Table", "Query Plan")}
    assert (ids["Database"], ids["Query"]) not in used  # "can query": the verb
    assert (ids["Table"], ids["Index"]) not in used  # "may not index"
    assert (ids["Query Plan"], ids["Query"]) in used and (ids["Query Plan"], ids["Index"]) in used  # nouns


def test_a_list_item_names_its_head_term_not_each_word(tmp_path):
    # "- Weight Decay" under Overfitting's countermeasures is Weight Decay, not a kind called Weight.
    glossary = _glossary(tmp_path, (
        "## Overfitting\n\nFitting the training data too closely.\n\n- Countermeasures:\n  - Dropout\n"
        "  - Weight Decay\n\n"
        "## Weight\n\nA learnt parameter of a model.\n\n## Dropout\n\nRandomly turning off units while training.\n"))
    use = extract(glossary).uses.get((glossary.get("Overfitting").id, glossary.get("Weight").id))
    assert use is None or "listed" not in use.cues
    use = extract(glossary).uses[(glossary.get("Overfitting").id, glossary.get("Dropout").id)]
    assert "listed" in use.cues


def test_a_label_that_only_adds_a_generic_word_is_the_same_concept(tmp_path):
    glossary = _glossary(tmp_path, (
        "## Logit\n\nThe log-odds of a probability.\n\n"
        "## Logit Function\n\nThe function that maps a probability to its logit.\n"))
    assert _relation(glossary, "Logit", "Logit Function")[0] == "related"
    assert not glossary.prerequisites.has_edge(glossary.get("Logit").id, glossary.get("Logit Function").id)


def test_a_site_path_link_names_the_term_of_its_last_segment(tmp_path):
    glossary = _glossary(tmp_path, (
        "## Job\n\nA task that runs Pods until enough of them finish.\n\n"
        "## CronJob\n\nRuns a [Job](/docs/concepts/workloads/controllers/job/) on a schedule.\n\n"
        "## Pod\n\nThe smallest unit; see [the docs](/docs/concepts/workloads/pods-overview/).\n"))
    assert [link.target for link in glossary.get("CronJob").links] == ["job"]
    assert not [issue for issue in glossary.issues if issue.kind == "broken_link"]  # an outside page is no error


def _dag(edges) -> nx.DiGraph:
    dag = nx.DiGraph()
    for a, b, relation, confidence in edges:
        dag.add_edge(a, b, confidence=confidence, evidence="", reasons=(f"{relation} reason",), curated=False,
                     relation=relation, words="")
    return dag


def test_a_path_goes_past_a_direct_prerequisite_only_through_strong_structural_edges():
    dag = _dag([("base", "mid", "is-a", 0.95), ("mid", "target", "is-a", 0.95),
                ("weak", "mid", "is-a", 0.6), ("mention", "mid", "uses", 0.85), ("strong-mention", "mid", "uses", 0.95),
                ("problem", "target", "addresses", 0.9), ("its-kind", "problem", "is-a", 0.99),
                ("aside", "its-kind", "addresses", 0.99), ("named", "mid", "named-after", 0.99)])
    steps = learning_path(dag, "target").steps
    # weak: 0.6 < CHAIN_STRONG; mention: a plain mention needs CHAIN_STRONG_USES; aside and
    # named: past a direct prerequisite, edges that are no is-a, part, derived-from, built-on
    # or strong mention are not followed, however strong; its-kind: nothing is followed past a
    # direct prerequisite that is itself no such edge
    assert set(steps) == {"base", "mid", "problem", "strong-mention"}
    assert "weak" in learning_path(dag, "mid").steps  # a direct prerequisite is listed however weak its relation


def test_field_names_go_to_the_background_and_known_terms_bring_their_needs():
    edges = [("ai", "ml", "is-a", 0.95)]
    edges += [("ml", f"t{n}", "is-a", 0.95) for n in range(12)]
    edges += [(f"t{n}", f"u{n}", "uses", 0.7) for n in range(1, 12)]  # the rest of the glossary
    edges += [("t0", "top", "built-on", 0.9), ("b0", "t0", "is-a", 0.9)]
    dag = _dag(edges)
    hubs = background_terms(dag)
    assert set(hubs) == {"ai", "ml"} and all(share >= BACKGROUND_SHARE for share in hubs.values())
    assert not background_terms(_dag(edges[:6]))  # in a handful of terms none is a field name
    path = learning_path(dag, "top")
    assert path.steps == ["b0", "t0"] and sorted(hub for hub, _ in path.background) == ["ai", "ml"]
    assert learning_path(dag, "t1").steps == ["ml"]  # named directly: an item, not background
    # A reader who knows t0 knows what t0 needs.
    known = learning_path(dag, "top", known={"t0"})
    assert known.steps == [] and known.known == ["ai", "b0", "ml", "t0"]


def test_is_a_relations_export_as_a_skos_hierarchy(tmp_path):
    glossary = _glossary(tmp_path, (
        "## 機械学習 | Machine Learning\n\n- データから規則を学ぶ手法。\n\n"
        "## 深層学習 | Deep Learning\n\n- 多層のニューラルネットワークを用いる[機械学習](#機械学習)の一分野。\n\n"
        "## ニューラルネットワーク | Neural Network\n\n- 層を重ねた[機械学習](#機械学習)のモデル。\n"))
    graph = to_rdf(glossary)
    uri = {label: glossary.uri(glossary.get(label).id) for label in ("Machine Learning", "Deep Learning")}
    is_a = [(c, p) for p, c, data in glossary.prerequisites.edges(data=True) if data["relation"] == "is-a"]
    assert (glossary.get("Deep Learning").id, glossary.get("Machine Learning").id) in is_a
    broader = {(str(s), str(o)) for s, o in graph.subject_objects(SKOS.broader)}
    narrower = {(str(o), str(s)) for s, o in graph.subject_objects(SKOS.narrower)}
    assert broader == narrower
    assert (uri["Deep Learning"], uri["Machine Learning"]) in broader
    related = {frozenset((str(s), str(o))) for s, o in graph.subject_objects(SKOS.related)}
    assert not related & {frozenset(pair) for pair in broader}  # related is disjoint with the hierarchy


def _skosify_warnings(turtle: str) -> list[str]:
    skosify = pytest.importorskip("skosify")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        skosify.skosify(Graph().parse(data=turtle, format="turtle"), eliminate_redundancy=False)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return [line for line in stream.getvalue().splitlines() if line.strip()]


def test_skosify_finds_nothing_new_in_the_hierarchy_of_the_linked_corpus(linked_corpus):
    glossary = Glossary.from_ingest(ingest_paths([linked_corpus]), GRAPH_ONLY)
    graph = to_rdf(glossary)
    assert len(set(graph.subject_objects(SKOS.broader))) >= 30
    warnings = _skosify_warnings(graph.serialize(format="turtle"))
    # The one warning of the export without a hierarchy (the scheme's dcterms:title is no
    # skos:prefLabel to Skosify) is all there is: no cycle, no related-broader clash.
    assert all(w.startswith("Concept scheme has no label") for w in warnings), warnings


def test_every_reason_names_its_relation_and_no_use_list_is_read_as_kinds(linked_corpus):
    glossary = Glossary.from_ingest(ingest_paths([linked_corpus]), GRAPH_ONLY)
    says = re.compile(r" (is a kind of|is listed among the kinds of|has .* as a part|is a part of|is derived from|"
                      r"is built on|addresses|uses .* in its definition|is named after|"
                      r"has .* as its broader concept)\b")
    for concept in glossary.concepts:
        for item in glossary.learning_path(concept)["path"]:
            edge = item["chain"][0]
            assert edge["relation"] in PREREQUISITE_RELATIONS or edge["curated"], edge
            assert says.search(edge["reasons"][0]) or edge["curated"], edge["reasons"][0]
            if edge["relation"] == "is-a" and "listed among the kinds" in edge["reasons"][0]:
                header = edge["words"].split(" ")[0]
                assert not _USE_HEADER.search(header), edge


def test_the_bundled_glossary_shows_its_field_names_apart():
    glossary = Glossary.from_ingest(ingest_paths([DATA]), GRAPH_ONLY)
    shown = 0
    for concept in glossary.concepts:
        path = glossary.learning_path(concept)
        items = {item["id"] for item in path["path"]}
        for term in path["background"]:
            shown += 1
            assert term["id"] not in items and term["share"] >= BACKGROUND_SHARE
            assert term["id"] in nx.ancestors(glossary.prerequisites, concept)
    assert shown  # a 30-term page about deep learning has its field names
