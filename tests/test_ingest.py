"""Markdown ingest: the real glossary in both forms, merging, links, mentions, other layouts."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from ingest import ingest_paths
from ingest.markdown import make_parser, parse_markdown
from ingest.mentions import MentionMatcher
from kg import Glossary
from kg.labels import normalize


def _headings(folder: Path) -> list[str]:
    """Term headings (H2 and deeper) as markdown-it sees them: one in an HTML comment is not one."""
    parser = make_parser()
    found = []
    for file in folder.rglob("*.md"):
        tokens = parser.parse(file.read_text(encoding="utf-8"))
        found += [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag != "h1"]
    return found


@pytest.fixture(scope="module")
def linked(linked_corpus):
    return ingest_paths([linked_corpus])


@pytest.fixture(scope="module")
def raw(raw_corpus):
    return ingest_paths([raw_corpus])


def _edges(result) -> set[tuple[str, str]]:
    return {(c.id, link.target) for c in result.concepts for link in c.links}


def test_linked_corpus_ingests_every_file_without_error(linked, linked_corpus):
    files = sorted(p.relative_to(linked_corpus).as_posix() for p in linked_corpus.rglob("*.md"))
    assert len(files) == 20
    assert sorted(linked.sources) == files
    assert linked.complete, [str(i) for i in linked.issues if i.severity == "error"]
    assert not [i for i in linked.issues if i.kind == "broken_link"]
    # Every H2 heading is one entry of exactly one concept.
    assert sum(len(c.sources) for c in linked.concepts) == len(_headings(linked_corpus))


def test_concept_count_is_distinct_headings_after_merging(linked, linked_corpus):
    """294 headings; identical or overlapping label sets collapse into one concept each."""
    headings = _headings(linked_corpus)
    distinct = {frozenset(normalize(p) for p in re.sub(r"<a id.*", "", h).split("|")) for h in headings}
    assert len(linked.concepts) < len(distinct) <= len(headings)
    # Each concept's labels are the union of its headings' labels: no label set is split.
    ids_by_label: dict[str, set[str]] = {}
    for concept in linked.concepts:
        for label in concept.labels:
            ids_by_label.setdefault(normalize(label.text), set()).add(concept.id)
    shared = {label: ids for label, ids in ids_by_label.items() if len(ids) > 1}
    assert set(shared) == {normalize("正規化")}


def test_raw_form_gives_same_concepts_and_nearly_same_links(linked, raw):
    assert {c.id for c in raw.concepts} == {c.id for c in linked.concepts}
    linked_edges, raw_edges = _edges(linked), _edges(raw)
    overlap = len(linked_edges & raw_edges) / len(linked_edges)
    assert overlap >= 0.9, overlap
    assert len(raw_edges) / len(linked_edges) == pytest.approx(1.0, abs=0.1)


def test_deep_learning_merges_both_files(linked):
    glossary = Glossary.from_ingest(linked)
    view = glossary.concept_view("Deep Learning")
    assert view["labels"]["ja"]["pref"] == "深層学習"
    assert {s["file"] for s in view["sources"]} == {"ai/deep-learning.md", "dl-overview.md"}
    assert len(view["definitions"]) == 2
    assert all(s["url"].startswith("https://github.com/") for s in view["sources"])
    assert glossary.get("深層学習").id == glossary.get("deep learning").id == "deep-learning"


def test_seiki_ka_stays_two_concepts_and_is_reported(linked):
    glossary = Glossary.from_ingest(linked)
    concepts = glossary.candidates("正規化")
    assert sorted(c.pref_labels()["en"] for c in concepts) == ["Normalization", "Regularization"]
    conflicts = [i for i in linked.issues if i.kind == "label_conflict"]
    assert len(conflicts) == 1 and "正規化" in conflicts[0].message
    assert conflicts[0].file and conflicts[0].line


def test_near_duplicate_english_labels_merge(linked):
    glossary = Glossary.from_ingest(linked)
    # Same Japanese label, English labels related by containment / initials / stem.
    assert glossary.get("Speech Recognition").id == glossary.get("Automatic Speech Recognition").id
    assert glossary.get("ROC Curve").id == glossary.get("Receiver Operating Characteristic Curve").id
    assert glossary.get("Sample Error").id == glossary.get("Sampling Error").id


def test_labels_languages_and_abbreviations(linked):
    glossary = Glossary.from_ingest(linked)
    moe = glossary.get("MoE")
    assert {(l.text, l.lang) for l in moe.labels} >= {("Mixture of Experts", "en"), ("MoE", "en")}
    assert glossary.get("Poolingレイヤー").pref_labels()["ja"]
    for concept in glossary.concepts.values():
        langs = Counter(l.lang for l in concept.labels)
        assert set(langs) <= {"ja", "en"}


def test_definitions_are_clean_text_with_math(linked):
    glossary = Glossary.from_ingest(linked)
    text = glossary.get("Neural Network").definition_text
    assert "<a" not in text and "href" not in text
    assert "$$" in text and "W^{(l)}" in text
    for concept in glossary.concepts.values():
        for definition in concept.definitions:
            assert "<a href" not in definition.text


def test_links_carry_evidence_sentence_and_line(linked):
    glossary = Glossary.from_ingest(linked)
    dl = glossary.get("Deep Learning")
    link = next(l for l in dl.links if l.target == "neural-network")
    assert "ニューラルネットワーク" in link.sentence
    assert link.source.file in ("ai/deep-learning.md", "dl-overview.md") and link.source.line > 3


# -- parsing rules on small inputs ------------------------------------------------


def test_mentions_skip_code_math_links_and_headings():
    text = "\n".join(
        [
            "## Alpha",
            "- uses Beta and `Beta` and $Beta$ and [Gamma](#gamma) and Betamax.",
            "## Beta",
            "- plain.",
            "## Gamma",
            "- see Alpha Beta.",
        ]
    )
    parsed = parse_markdown(text, "t.md")
    alpha = parsed.entries[0]
    matcher = MentionMatcher({"Alpha": "alpha", "Beta": "beta", "Alpha Beta": "ab", "Gamma": "gamma"})
    found = [m for s in alpha.segments for m in matcher.find(alpha.definition, s.start, s.end)]
    assert [m.text for m in found] == ["Beta"]  # not in code, math, link text, nor inside "Betamax"
    gamma = parsed.entries[2]
    found = [m for s in gamma.segments for m in matcher.find(gamma.definition, s.start, s.end)]
    assert [m.target for m in found] == ["ab"]  # longest label wins


def test_mentions_become_links_only_in_unlinked_glossaries(fixtures):
    plain = Glossary.from_ingest(ingest_paths([fixtures / "plain"]))
    router = plain.get("Router")
    assert {(l.target, l.kind) for l in router.links} == {("packet", "mention"), ("routing-table", "mention")}
    assert plain.get("TCP").id == "transmission-control-protocol"
    assert "transmission-control-protocol" in {l.target for l in plain.get("Latency").links}
    # `router` in code is not a mention.
    assert "router" in {l.target for l in plain.get("Routing Table").links}
    assert len(plain.get("Routing Table").links) == 1


def test_glossary_fixture_sections_duplicates_and_broken_link(fixtures):
    result = ingest_paths([fixtures / "glossary"])
    glossary = Glossary.from_ingest(result)
    dl = glossary.get("深層学習")
    assert len(dl.sources) == 2 and len(dl.definitions) == 1  # the empty duplicate adds no definition
    assert {l.target for l in dl.links} == {"neural-network", "machine-learning"}
    assert glossary.get("Cross Entropy")  # H3 terms count
    sections = {c.label for c in result.collections}
    assert {"基礎 | Basics", "応用 | Applications"} <= sections
    assert "basics--基礎-basics" in glossary.get("Loss Function").collections
    broken = [i for i in result.issues if i.kind == "broken_link"]
    assert [(i.file, i.line) for i in broken] == [("basics.md", 23)]
    assert len(glossary.candidates("正規化")) == 2
    # The GitHub-slug anchor and the cross-file relative link resolve.
    assert glossary.get("Gradient Descent").links[0].target == "loss-function"


def test_notes_vault_front_matter_aliases_and_wikilinks(fixtures):
    result = ingest_paths([fixtures / "vault"])
    glossary = Glossary.from_ingest(result)
    transformer = glossary.get("トランスフォーマー")
    assert transformer.id == "transformer"
    assert {l.text for l in transformer.labels} == {"Transformer", "トランスフォーマー", "Transformer model"}
    # BERT is named without a link: reported, and kept as a mention (the definition uses it).
    assert {(l.target, l.kind) for l in transformer.links} == {
        ("self-attention", "wikilink"), ("tokenization", "link"), ("bert", "mention")}
    assert glossary.get("自己注意").id == "self-attention"
    assert {l.target for l in glossary.get("BERT").links} == {"transformer", "tokenization"}
    assert "[[" not in glossary.get("BERT").definition_text
    broken = [i for i in result.issues if i.kind == "broken_link"]
    assert [(i.file, i.line) for i in broken] == [("tokenization.md", 4)]
    assert [c.id for c in result.collections] == ["notes"]


def test_heading_labels_split_on_pipe_and_parentheses():
    parsed = parse_markdown("## 大規模言語モデル| Large Language Model | LLM\n\n- text\n", "x.md")
    assert [(l.text, l.lang) for l in parsed.entries[0].labels] == [
        ("大規模言語モデル", "ja"),
        ("Large Language Model", "en"),
        ("LLM", "en"),
    ]


def test_ids_are_stable_across_runs(fixtures):
    first = [c.id for c in ingest_paths([fixtures / "glossary"]).concepts]
    second = [c.id for c in ingest_paths([fixtures / "glossary"]).concepts]
    assert first == second


def test_page_url_comment_is_provenance(fixtures):
    glossary = Glossary.from_ingest(ingest_paths([fixtures / "glossary"]))
    source = glossary.get("Machine Learning").sources[0]
    assert (source.file, source.line, source.url) == ("basics.md", 5, "https://example.org/glossary/basics.md")


def test_collections_are_titled_not_named_by_path(tmp_path, linked_corpus):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        page = tmp_path / folder / "llm-intro.md"
        page.write_text(f"## 用語{folder} | Term {folder}\n\n- 説明。\n", encoding="utf-8")
    (tmp_path / "titled.md").write_text("# 深層学習の用語\n\n## 層 | Layer\n\n- 説明。\n", encoding="utf-8")
    labels = {c.source.file: c.label for c in ingest_paths([tmp_path]).collections}
    # alike names keep their folder apart; a page's own title wins over its file name
    assert labels == {"a/llm-intro.md": "LLM Intro (a)", "b/llm-intro.md": "LLM Intro (b)",
                      "titled.md": "深層学習の用語"}
    linked = {c.label for c in ingest_paths([linked_corpus]).collections}
    assert {"LLM RAG", "AI General", "Video Codec"} <= linked and not any("/" in label for label in linked)
