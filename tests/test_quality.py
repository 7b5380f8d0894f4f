"""The SKOS quality report: each check over small glossaries ingested for real, and the linked corpus."""
from __future__ import annotations

import json
from pathlib import Path

from ingest import ingest_paths
from ingest.markdown import heading_anchor
from kg import Glossary
from kg.model import Concept, Definition, Label, Link, Source
from kg.rdf.quality import CHECKS, QualityReport, check_of, quality_report


def build(root: Path, files: dict[str, str | bytes]) -> Glossary:
    """Write ``files`` under ``root`` and ingest them."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return Glossary.from_ingest(ingest_paths([root]))


def of_kind(report: QualityReport, kind: str) -> list:
    return [f for f in report.findings if f.kind == kind]


NN_ANCHOR = heading_anchor("ニューラルネットワーク | Neural Network")
# Two files linking each other both ways: base64 anchors (as published) and GitHub slugs.
CLEAN = {
    "dl.md": (
        "# 深層学習\n"
        "\n"
        "## 深層学習 | Deep Learning\n"
        f'- 多層の<a href="nn.md#{NN_ANCHOR}">ニューラルネットワーク</a>を用いる学習。\n'
        "\n"
        "## 過学習 | Overfitting\n"
        "- 訓練データに適合しすぎること。[深層学習](#深層学習--deep-learning)で起きやすい。\n"
    ),
    "nn.md": (
        "## ニューラルネットワーク | Neural Network\n"
        "- 脳を模した計算モデル。[過学習](dl.md#overfitting)に注意。\n"
    ),
}


def test_clean_glossary_has_no_findings(tmp_path):
    glossary = build(tmp_path, CLEAN)
    assert len(glossary) == 3 and not glossary.issues
    report = quality_report(glossary)
    assert report.findings == []
    assert report.by_severity == {"error": 0, "warning": 0, "info": 0}
    assert report.to_text() == "3 concepts, 0 findings: 0 errors, 0 warnings, 0 info"


def test_raw_glossary_with_mentions_is_clean(tmp_path):
    # No links at all: mentions of known labels are the links, so nothing is an orphan.
    glossary = build(tmp_path, {"g.md": (
        "## 深層学習 | Deep Learning\n- 多層のニューラルネットワークを用いる学習。\n\n"
        "## ニューラルネットワーク | Neural Network\n- Deep Learning の基礎になる計算モデル。\n"
    )})
    assert quality_report(glossary).findings == []


def test_empty_definition_names_every_heading(tmp_path):
    glossary = build(tmp_path, {
        "a.md": "## 深層学習 | Deep Learning\n- 多層のNeural Networkを用いる。\n\n## Neural Network\n",
        "b.md": "## ニューラルネットワーク | Neural Network\n\n## Deep Learning\n- 深い学習。\n",
    })
    [finding] = of_kind(quality_report(glossary), "empty_definition")
    assert (finding.file, finding.line, finding.severity) == ("a.md", 4, "warning")
    assert finding.concepts == ("neural-network",)
    assert "a.md:4" in finding.message and "b.md:1" in finding.message


def test_label_conflict_from_ingest_names_both_concepts(tmp_path):
    glossary = build(tmp_path, {
        "a.md": "## 過学習 | Overfitting\n- 汎化しないこと。\n\n## 正規化 | Regularization\n- ペナルティ項を加える。\n",
        "b.md": "## 正規化 | Normalization\n- 値を0から1に揃える。\n",
    })
    report = quality_report(glossary)
    [finding] = of_kind(report, "label_conflict")
    assert (finding.file, finding.line, finding.severity) == ("a.md", 4, "warning")
    assert set(finding.concepts) == {"regularization", "normalization"}
    assert "正規化" in finding.message and "b.md:1" in finding.message
    # One problem, one finding: the shared prefLabel is not reported a second time.
    assert not of_kind(report, "duplicate_pref_label")


def test_broken_link_at_its_line(tmp_path):
    glossary = build(tmp_path, {"a.md": (
        "## 深層学習 | Deep Learning\n"
        "- 多層の学習。\n"
        "- 詳しくは[存在しない用語](other.md#does-not-exist)を参照。\n"
    )})
    [finding] = of_kind(quality_report(glossary), "broken_link")
    assert (finding.file, finding.line, finding.severity) == ("a.md", 3, "warning")
    assert finding.concepts == ("deep-learning",)


def test_self_link_is_info(tmp_path):
    glossary = build(tmp_path, {"a.md": (
        "## 深層学習 | Deep Learning\n"
        f'- <a href="a.md#{heading_anchor("深層学習 | Deep Learning")}">深層学習</a>は多層の学習。\n'
    )})
    [finding] = of_kind(quality_report(glossary), "self_link")
    assert (finding.file, finding.line, finding.severity) == ("a.md", 2, "info")


def test_orphan_is_info(tmp_path):
    files = dict(CLEAN, **{"x.md": "## 孤立 | Isolated Term\n- 何ともつながらない。\n"})
    [finding] = quality_report(build(tmp_path, files)).findings
    assert (finding.kind, finding.file, finding.line, finding.severity) == ("orphan", "x.md", 1, "info")
    assert finding.concepts == ("isolated-term",)


def test_unlinked_mention_is_info(tmp_path):
    glossary = build(tmp_path, {"a.md": (
        "## 深層学習 | Deep Learning\n- [過学習](#overfitting)しやすい。\n\n"
        "## 過学習 | Overfitting\n- 深層学習でよく起きる。\n"
    )})
    [finding] = of_kind(quality_report(glossary), "unlinked_mention")
    assert (finding.file, finding.line, finding.severity) == ("a.md", 5, "info")
    assert finding.concepts == ("overfitting", "deep-learning")


def test_input_problems_keep_their_kind_and_severity(tmp_path):
    glossary = build(tmp_path, dict(CLEAN, **{
        "bad.md": "## Good\n- fine\n- broken \xff byte\n".encode("latin-1"),
        "blob.md": b"\x00\x01binary",
    }))
    report = quality_report(glossary)
    input_findings = report.by_check()["input"]
    assert {(f.kind, f.file, f.line, f.severity) for f in input_findings} == {
        ("invalid_utf8", "bad.md", 3, "error"),
        ("binary_file", "blob.md", None, "error"),
    }
    assert report.by_severity["error"] == 2
    assert "bad.md:3: invalid UTF-8" in report.to_text()


def test_missing_english_label_only_where_english_is_used(tmp_path):
    files = dict(CLEAN, **{"ja.md": "## 形態素 | 形態素解析\n- [深層学習](dl.md#deep-learning)の前処理。\n"})
    [finding] = of_kind(quality_report(build(tmp_path / "mixed", files)), "missing_english_label")
    assert (finding.file, finding.line, finding.severity) == ("ja.md", 1, "info")
    japanese = {"ja.md": "## 形態素\n- 形態素解析の単位。\n\n## 形態素解析\n- 文を分ける。\n"}
    japanese_only = build(tmp_path / "ja", japanese)
    assert not of_kind(quality_report(japanese_only), "missing_english_label")


def test_checks_on_concepts_from_skos_like_sources():
    # What SKOS import can produce and Markdown cannot: links to unknown ids,
    # links to self, a shared prefLabel, pref = alt, an untagged label.
    src = Source("vocab.ttl", 0)
    text = [Definition("A systematic error.", src, "en")]
    concepts = [
        Concept("a", [Label("Bias", "en"), Label("bias", "en")], text, sources=[src],
                links=[Link("a", "related"), Link("ghost", "related", source=Source("vocab.ttl", 7))],
                broader=["nowhere"]),
        Concept("b", [Label("BIAS", "en"), Label("偏り", "")], text, sources=[src], links=[Link("a", "related")]),
    ]
    report = quality_report(Glossary(concepts))
    assert report.counts == {
        "broken_link": 2, "duplicate_pref_label": 1, "missing_language_tag": 1, "pref_alt_overlap": 1, "self_link": 1,
    }
    [duplicate] = of_kind(report, "duplicate_pref_label")
    assert duplicate.concepts == ("a", "b") and duplicate.file == "vocab.ttl" and duplicate.line is None
    ghost = next(f for f in of_kind(report, "broken_link") if "ghost" in f.concepts)
    assert (ghost.file, ghost.line) == ("vocab.ttl", 7)
    assert report.to_dict()["checks"][0]["check"] == "input"
    assert "vocab.ttl: " in report.to_text()  # no line: file only


def test_findings_sorted_and_deduplicated(tmp_path):
    glossary = build(tmp_path, {"a.md": (
        "## 深層学習 | Deep Learning\n"
        "- [深層学習](#deep-learning)と[Deep Learning](#deep-learning)。[x](#nope)\n"
        "\n## 空 | Empty\n"
    )})
    report = quality_report(glossary)
    keys = [(f.kind, f.file or "", f.line or 0) for f in report.findings]
    assert keys == sorted(keys)
    assert len(set(report.findings)) == len(report.findings)
    assert report.counts["self_link"] == 2  # two different link texts, same line


def test_to_dict_is_json_and_to_text_shows_file_line(tmp_path):
    glossary = build(tmp_path, dict(CLEAN, **{"x.md": "## 孤立 | Isolated Term\n"}))
    report = glossary.quality()
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["summary"] == {
        "concepts": 4, "findings": 2,
        "by_severity": {"error": 0, "warning": 1, "info": 1},
        "by_kind": {"empty_definition": 1, "orphan": 1},
    }
    assert [c["check"] for c in data["checks"]] == [c.name for c in CHECKS]
    orphans = next(c for c in data["checks"] if c["check"] == "orphan")
    assert orphans["count"] == 1 and orphans["title"] and orphans["description"]
    assert orphans["findings"] == [{
        "kind": "orphan", "severity": "info", "message": orphans["findings"][0]["message"],
        "file": "x.md", "line": 1, "concepts": [{"id": "isolated-term", "name": "Isolated Term"}],
    }]
    text = report.to_text()
    assert "Orphan concepts (1)\n  x.md:1: 'Isolated Term' has no links" in text
    assert text.splitlines()[-1] == "4 concepts, 2 findings: 0 errors, 1 warnings, 1 info"


def test_linked_corpus_reports_seikika_conflict(linked_glossary):
    report = linked_glossary.quality()
    conflicts = [f for f in of_kind(report, "label_conflict") if "正規化" in f.message]
    assert len(conflicts) == 1
    [conflict] = conflicts
    assert set(conflict.concepts) == {"regularization", "normalization"}
    regularization = linked_glossary.concepts["regularization"]
    assert (conflict.file, conflict.line) in {(s.file, s.line) for s in regularization.sources}
    entry = next(c for c in report.to_dict()["checks"] if c["check"] == "label_conflict")["findings"][0]
    assert {c["name"] for c in entry["concepts"]} == {"Regularization", "Normalization"}
    assert f"{conflict.file}:{conflict.line}: label '正規化'" in report.to_text()


def test_linked_corpus_every_finding_has_a_location(linked_glossary):
    report = linked_glossary.quality()
    assert report.findings and all(f.file for f in report.findings)
    assert all(f.line for f in report.findings if check_of(f.kind) != "input")
    assert report.by_severity["error"] == 0
    # Empty headings of the published corpus (Muxer, Demuxer... in the codec page).
    assert "muxer" in {c for f in of_kind(report, "empty_definition") for c in f.concepts}

