"""Ingest is linear in its input: a hostile file costs time and memory in proportion to its size.

Speed is measured by benchmarks (README, "Bad input"), never timed here: these tests count
the work instead (characters scanned for sentence ends, parses, merge comparisons) and bound
what ingest keeps (evidence sentences, links). Each failed on the version before.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg.labels
from ingest import ingest_paths
from ingest.markdown import Entry, parse_markdown
from ingest.pipeline import MAX_LINKS_PER_TARGET
from kg import Glossary, Settings
from kg.labels import EVIDENCE_CHARS, SENTENCE_END, Sentences
from kg.model import Label

# -- evidence sentences ------------------------------------------------------------------------


def _reference_sentence(text: str, start: int, end: int) -> str:
    """``Entry.sentence_at`` as it was: a scan from the start of the text for each mention."""
    left = max((m.end() for m in SENTENCE_END.finditer(text, 0, start)), default=0)
    right_match = SENTENCE_END.search(text, end)
    right = right_match.start() if right_match else len(text)
    return text[left:right].strip(" \t-*")


_TEXT = st.text(alphabet="ab .。!?！\n\t -*x\u3000", max_size=60)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(_TEXT, st.data())
def test_sentences_are_those_of_the_scan_from_the_start(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert Sentences(text, limit=10**9).at(start, end) == _reference_sentence(text, start, end)
    entry = Entry("f.md", 1, "h", [], definition=text)
    assert entry.sentence_at(start, end) == _reference_sentence(text, start, end)  # under EVIDENCE_CHARS


class _CountingPattern:
    """``SENTENCE_END``, counting the characters each call may scan."""

    def __init__(self) -> None:
        self.scanned = 0

    def finditer(self, text, pos=0, endpos=None):
        self.scanned += (len(text) if endpos is None else min(endpos, len(text))) - pos
        return SENTENCE_END.finditer(text, pos, len(text) if endpos is None else endpos)

    def search(self, text, pos=0, endpos=None):
        self.scanned += (len(text) if endpos is None else min(endpos, len(text))) - pos
        return SENTENCE_END.search(text, pos, len(text) if endpos is None else endpos)


def test_sentence_ends_are_found_in_one_scan_per_definition(monkeypatch):
    counting = _CountingPattern()
    monkeypatch.setattr(kg.labels, "SENTENCE_END", counting)
    monkeypatch.setattr("ingest.markdown.SENTENCE_END", counting, raising=False)
    unit = "深層学習 Deep Learning ニューラルネットワーク "
    text = unit * 2000  # one line, no sentence end: 64,000 characters
    entry = Entry("f.md", 1, "h", [], definition=text)
    for start in range(0, len(text), len(unit)):
        sentence = entry.sentence_at(start, start + 4)
        assert text[start : start + 4] in sentence
    assert counting.scanned <= 2 * len(text)  # a scan from the start for each: 2,000 times as much


def test_long_sentence_is_cut_to_a_window_around_the_mention():
    text = "Intro. " + " ".join(f"word{i}" for i in range(5000)) + ". Outro."
    sentences = Sentences(text)
    for i, cut in ((0, "end"), (17, "end"), (2500, "both"), (4999, "start")):
        start = re.search(rf"\bword{i}\b", text).start()
        sentence = sentences.at(start, start + len(f"word{i}"))
        assert f"word{i}" in sentence and len(sentence) <= EVIDENCE_CHARS + 2
        assert (sentence.startswith("…"), sentence.endswith("…")) == (cut != "end", cut != "start")
    near = [re.search(rf"\bword{i}\b", text).start() for i in (2500, 2501)]
    # Mentions close together share one window (one string): evidence grows with the text, not its mentions.
    assert sentences.at(near[0], near[0] + 8) is sentences.at(near[1], near[1] + 8)
    assert sentences.at(0, 5) == "Intro." and sentences.at(len(text) - 3, len(text) - 1) == "Outro."


def test_every_evidence_sentence_is_a_piece_of_its_definition():
    """``Sentences.pieces`` lists what ``at`` gives (prerequisite features look evidence up in it)."""
    text = "A short one.\n" + "x " * 400 + "Deep Learning " + "y " * 400 + "。\n- Deep Learning\n"
    sentences = Sentences(text)
    pieces = {piece for _, _, piece, _ in sentences.pieces()}
    for match in re.finditer("Deep Learning", text):
        assert sentences.at(match.start(), match.end()) in pieces


# -- a hostile file -----------------------------------------------------------------------------

_HEAD = ("## 深層学習 | Deep Learning\n\n多層のニューラルネットワークによる学習。\n\n"
         "## ニューラルネットワーク | Neural Network\n\nニューロンを模したモデル。\n\n")
_UNIT = "深層学習 Deep Learning ニューラルネットワーク "


@pytest.mark.parametrize("layout", ["one line", "short lines"])
def test_hostile_file_ingests_with_bounded_evidence(tmp_path, layout):
    """1.3 MB of labels of other terms under one heading, once on one line, once a line each."""
    body = _UNIT * 20_000 if layout == "one line" else (_UNIT.strip() + "。\n") * 20_000
    (tmp_path / "attack.md").write_text(_HEAD + "## Attack | 攻撃\n\n" + body, encoding="utf-8")
    (tmp_path / "good.md").write_text("## 良い用語 | Good Term\n\n- Deep Learning を使う。\n", encoding="utf-8")
    result = ingest_paths([tmp_path], Settings(store=tmp_path / "store"))
    glossary = Glossary.from_ingest(result)
    attack = glossary.get("Attack")
    assert {link.target for link in attack.links} == {"deep-learning", "neural-network"}
    assert all(len(link.sentence) <= EVIDENCE_CHARS + 2 for c in result.concepts for link in c.links)
    for target in ("deep-learning", "neural-network"):
        assert sum(link.target == target for link in attack.links) == MAX_LINKS_PER_TARGET
    repeated = [i for i in result.issues if i.kind == "repeated_link"]
    assert {i.concepts for i in repeated} == {("attack", "deep-learning"), ("attack", "neural-network")}
    assert "Good Term" in glossary and result.complete
    assert glossary.prerequisites is not None  # prerequisite features read the definition once


def test_links_of_one_file_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr("ingest.pipeline.MAX_LINKS_PER_FILE", 50)
    terms = "".join(f"## Term{i}\n\nx\n\n" for i in range(40))
    (tmp_path / "many.md").write_text(terms + "## Big\n\n" + " ".join(f"Term{i}" for i in range(40)) * 3 + "\n")
    (tmp_path / "good.md").write_text("## 良い用語 | Good Term\n\n- Term1 を使う。\n", encoding="utf-8")
    result = ingest_paths([tmp_path], Settings(store=tmp_path / "store"))
    links = {c.name: len(c.links) for c in result.concepts}
    assert links["Big"] == 50 and links["Good Term"] == 1
    [issue] = [i for i in result.issues if i.kind == "too_many_links"]
    assert (issue.file, issue.line, issue.severity) == ("many.md", 163, "warning")


def test_file_with_too_many_terms_is_refused_and_the_rest_read(tmp_path):
    (tmp_path / "many.md").write_text("# Page\n\n" + "".join(f"## Term {i}\n\nx\n\n" for i in range(30)))
    (tmp_path / "good.md").write_text("## 良い用語 | Good Term\n\n- 定義。\n", encoding="utf-8")
    result = ingest_paths([tmp_path], Settings(store=tmp_path / "store", max_terms_per_file=20))
    [issue] = [i for i in result.issues if i.kind == "too_many_terms"]
    assert (issue.file, issue.line, issue.severity) == ("many.md", 3 + 4 * 20, "error")
    assert "30 terms" in issue.message and "KG_MAX_TERMS_PER_FILE" in issue.message
    assert [c.name for c in result.concepts] == ["Good Term"] and not result.complete


# -- Markdown that markdown-it cannot finish ------------------------------------------------------


def _count_parses(monkeypatch) -> list[int]:
    from markdown_it import MarkdownIt

    calls = [0]
    parse = MarkdownIt.parse

    def counted(self, src, env=None):
        calls[0] += 1
        return parse(self, src, env)

    monkeypatch.setattr(MarkdownIt, "parse", counted)
    return calls


def test_deep_block_quotes_are_read_in_one_parse(monkeypatch):
    calls = _count_parses(monkeypatch)
    text = "## A | Alpha\n\n" + "".join(">" * 60 + f" deep\n\n## T{i}\n\nx\n\n" for i in range(50))
    parsed = parse_markdown(text, "q.md")
    assert len(parsed.entries) == 51 and calls[0] == 1
    assert [i.line for i in parsed.issues if i.kind == "too_deep"] == [3 + 6 * i for i in range(50)]


def test_deep_lists_each_parse_the_rest_once_up_to_a_limit(monkeypatch):
    from ingest.markdown import _MAX_RECOVERIES

    calls = _count_parses(monkeypatch)
    deep = "".join("  " * d + "- l\n" for d in range(60))
    text = "## A | Alpha\n\n" + "".join(f"{deep}\n## T{i}\n\nx\n\n" for i in range(_MAX_RECOVERIES + 10))
    parsed = parse_markdown(text, "l.md")
    assert [e.heading for e in parsed.entries] == ["A | Alpha", *(f"T{i}" for i in range(_MAX_RECOVERIES))]
    assert calls[0] <= 2 * _MAX_RECOVERIES + 1
    last = parsed.issues[-1]
    assert last.severity == "error" and "not read" in last.message and last.line == 3 + 65 * _MAX_RECOVERIES + 61


def test_links_in_a_long_paragraph_keep_their_text():
    text = "## Linker\n\n" + " ".join(f"[t{i}](a.md#x{i})" for i in range(3000)) + "\n"
    [entry] = parse_markdown(text, "l.md").entries
    assert [ref.text for ref in entry.refs] == [f"t{i}" for i in range(3000)]
    assert all(entry.definition[ref.start : ref.end] == ref.text for ref in entry.refs)


def test_front_matter_prerequisites_keep_their_lines():
    names = [f"Term{i}" for i in range(300)]
    text = "---\ntitle: Note\nprerequisites:\n" + "".join(f"  - {n}\n" for n in names) + "---\n\nbody\n"
    [entry] = parse_markdown(text, "n.md").entries
    assert [(r.target, r.line) for r in entry.prerequisites] == [(n, 4 + i) for i, n in enumerate(names)]
    # A name's line is the first from the key's that holds it, as before.
    text = "---\ntitle: Note\nprerequisites: [ab, a]\n---\n\nbody\n"
    [entry] = parse_markdown(text, "n.md").entries
    assert [r.line for r in entry.prerequisites] == [3, 3]


# -- merging and prerequisite features ----------------------------------------------------------------


def test_headings_sharing_a_label_are_compared_a_bounded_number_of_times(monkeypatch):
    from ingest import merge

    calls = [0]
    compatible = merge._Groups.compatible

    def counted(self, a, b):
        calls[0] += 1
        return compatible(self, a, b)

    monkeypatch.setattr(merge._Groups, "compatible", counted)
    entries = [Entry("f.md", i + 1, "h", [Label("正規化", "ja"), Label(f"Qx{i} Zy{i}", "en")]) for i in range(400)]
    groups, issues = merge.group_entries(entries)
    assert len(groups) == 400 and [i.kind for i in issues] == ["label_conflict"]
    assert calls[0] <= 25 * len(entries)  # every earlier group for each: 80,000


def test_example_cue_reads_in_linear_time():
    from kg.prereqs.cues import _EXAMPLE_AFTER, _example_after

    # " and" sixteen times took the regular expression 14 s; the reader answers at once.
    assert _example_after(" and" * 500) is False and _example_after(" and x" * 50 + " など") is True
    words = ["と", "や", "、", ",", "・", ")", " ", "及び", "or", "and", "x", "など", "。", "etc"]
    pieces = st.lists(st.sampled_from(words), max_size=9).map("".join)

    @settings(max_examples=3000, deadline=None, derandomize=True)
    @given(pieces)
    def same(text):
        assert _example_after(text) == bool(_EXAMPLE_AFTER.match(text))

    same()


def _reference_line_of(lines: list[str], sentence: str) -> int | None:
    return next((n for n, line in enumerate(lines) if sentence and sentence in line), None)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.lists(st.lists(st.sampled_from(["- ", "  - ", "LLM", "深層学習", "を使う", "。", ". ", "x", ":", " "]),
                         max_size=8).map("".join), min_size=1, max_size=12))
def test_evidence_is_found_on_the_first_line_that_holds_it(lines):
    """The index of a definition's sentences gives what scanning every line gave."""
    from kg.model import Concept, Definition
    from kg.prereqs.cues import Reading as _Reading

    text = "\n".join(lines).strip()
    concept = Concept("c", [Label("C", "en")], [Definition(text)] if text else [])
    reading = _Reading(concept)
    every = concept.definition_text.splitlines()
    for piece in {p for _, _, p, _ in Sentences(text).pieces()}:
        assert reading.line_of(piece) == _reference_line_of(every, piece)


def test_prerequisite_features_are_those_of_the_corpus(linked_glossary):
    """The shipped model's features: unchanged on the corpus (its training is checked elsewhere)."""
    from kg.prereqs.features import extract

    candidates = extract(linked_glossary)
    assert len(candidates.pairs) > 400 and candidates.matrix.shape[0] == 2 * len(candidates.pairs)


def test_four_megabyte_one_line_definition(tmp_path: Path):
    """The shape of the 20 MB attack at a fifth of its size, through the store."""
    from kg.store.versions import update_store

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "attack.md").write_text(_HEAD + "## Attack\n\n" + _UNIT * 60_000, encoding="utf-8")
    outcome = update_store([tmp_path / "in"], Settings(store=tmp_path / "store"))
    assert outcome.changed and outcome.exit_code == 0
    written = (tmp_path / "store" / "versions" / outcome.version / "concepts.json").stat().st_size
    # The definition once, and 200 links with their windows; every mention with its line: 700 GB.
    assert written < (tmp_path / "in" / "attack.md").stat().st_size + 200_000
