"""JapaneseGlosser with the real SudachiPy dictionary and JMdict database (no mocks)."""

from __future__ import annotations

import lzma
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kg.errors import ConfigurationError
from kg.labels import detect_lang
from kg.search.gloss import JapaneseGlosser

QUERIES = [
    "学習データとは別のデータでの誤差",
    "確率が最大になるパラメータを求める方法",
    "特徴の数を減らして次元を下げる",
    "複数の決定木を組み合わせる手法",
    "文章の自然さを測る指標",
    "学習率を徐々に下げる",
]


@pytest.fixture(scope="module")
def glosser() -> JapaneseGlosser:
    return JapaneseGlosser()


def words(text: str) -> set[str]:
    return set(text.lower().split())


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        # JMdict (2021) has no 過学習 / 学習率 / 勾配降下法 / 次元削減: they gloss part by part.
        ("過学習", [{"excess", "over", "surplus"}, {"learning"}]),
        ("学習率", [{"learning"}, {"rate"}]),
        ("勾配降下法", [{"gradient"}, {"descent"}]),
        ("次元削減", [{"dimension"}, {"reduction", "cut"}]),
        ("正則化", [{"regularization", "regularisation"}]),
        ("決定木", [{"decision"}, {"tree"}]),
        ("機械学習", [{"machine"}, {"learning"}]),
        ("自然言語処理", [{"natural"}, {"language"}, {"processing"}]),
    ],
)
def test_technical_terms_gloss_to_plausible_english(glosser, term, expected):
    found = words(glosser.gloss(term))
    for alternatives in expected:
        assert found & alternatives, (term, found, alternatives)


def test_compound_in_jmdict_is_matched_whole(glosser):
    units = [u for u in glosser.analyze("複数の決定木を組み合わせる手法") if u.english]
    assert [u.token.surface for u in units] == ["複数", "決定木", "組み合わせる", "手法"]
    assert units[1].english == "decision tree"
    assert "combine" in units[2].english


def test_particles_and_symbols_are_dropped(glosser):
    units = glosser.analyze("学習率を徐々に下げる。")
    skipped = {u.token.surface for u in units if u.source == "skip"}
    assert {"を", "に", "。"} <= skipped
    english = glosser.gloss("学習率を徐々に下げる。")
    assert detect_lang(english) == "en" and "。" not in english
    assert {"learning", "rate", "gradual"} <= words(english)


def test_word_order_is_kept(glosser):
    english = glosser.gloss("確率が最大になるパラメータを求める方法").split()
    order = [english.index(w) for w in ("probability", "parameter", "method")]
    assert order == sorted(order)


def test_english_words_pass_through(glosser):
    english = glosser.gloss("TransformerはAttention機構を用いる。ＬＳＴＭとGPT-4も")
    assert english.split()[:2] == ["Transformer", "Attention"]
    assert {"mechanism", "use", "LSTM", "GPT-4"} <= set(english.split())
    plain = "Gradient descent  updates the weights."
    assert glosser.gloss(plain) == "Gradient descent updates the weights."


def test_urls_are_dropped(glosser):
    english = glosser.gloss("引用元: https://ja.wikipedia.org/wiki/%E6%A9%9F%E6%A2%B0 機械学習")
    assert "wikipedia" not in english and "E6" not in english
    assert "learning" in english


def test_light_words_are_dropped(glosser):
    english = words(glosser.gloss("学習することができる"))
    assert "learning" in english
    assert not english & {"do", "thing", "matter", "become"}


def test_lookup(glosser):
    assert glosser.lookup("正則化") == "regularisation regularization"
    assert glosser.lookup("過学習") is None
    assert glosser.lookup("的", "suffix") == ""  # only affix glosses (-ical, -like...)
    assert "gradient" in glosser.lookup("勾配")  # the mathematics sense joins the first one


def test_token_offsets_match_the_text(glosser):
    text = "深層学習（Deep Learning）は、多層のニューラルネットワークを用いる。\n  - x^2 + 1 を最小化 🙂"
    tokens = glosser.tokens(text)
    assert "".join(t.surface for t in tokens) == text
    for t in tokens:
        assert text[t.start : t.end] == t.surface
    by_surface = {t.surface: t for t in tokens}
    assert by_surface["用いる"].pos == "verb" and by_surface["用いる"].reading == "モチイル"
    assert by_surface["は"].pos == "particle"
    for unit in glosser.analyze(text):
        assert text[unit.token.start : unit.token.end] == unit.token.surface


def test_offsets_hold_past_sudachis_input_limit(glosser):
    # Sudachi refuses more than 49,149 bytes at once; the text is cut at line ends.
    text = "勾配降下法で損失を最小化する。\n" * 4000
    tokens = glosser.tokens(text)
    assert tokens[-1].end == len(text)
    assert all(text[t.start : t.end] == t.surface for t in tokens[::97])
    assert len(glosser.tokens("あ" * 60_000)) > 0  # no line ends at all


@pytest.mark.parametrize("text", ["", " ", "\n\n", "。、！？", "（）「」・", "---", "🙂", "x^2 + y^2 = 1"])
def test_degenerate_inputs(glosser, text):
    english = glosser.gloss(text)
    assert isinstance(english, str)
    assert not any(detect_lang(c) == "ja" for c in english)


def test_long_input_is_fast():
    text = (
        "学習率を徐々に下げることで、勾配降下法は損失関数の最小値に収束しやすくなる。"
        "Transformerは自己注意機構を用いる。x = 0.5 の場合、"
    )
    text = (text * (10_000 // len(text) + 1))[:10_000]
    glosser = JapaneseGlosser()
    glosser.warm_up()
    start = time.perf_counter()
    english = glosser.gloss(text)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, elapsed
    assert english.count("gradient") >= 50


def test_warm_query_is_quick(glosser):
    glosser.gloss_many(QUERIES)
    start = time.perf_counter()
    for _ in range(20):
        glosser.gloss_many(QUERIES)
    per_query = (time.perf_counter() - start) / (20 * len(QUERIES))
    assert per_query < 0.005, per_query


def test_gloss_many_matches_gloss(glosser):
    assert glosser.gloss_many(QUERIES) == [glosser.gloss(q) for q in QUERIES]
    assert all(glosser.gloss_many(QUERIES))


def test_threads_give_the_same_results(linked_glossary):
    texts = [c.definition_text for c in linked_glossary.concepts.values()][:120] + QUERIES
    serial = JapaneseGlosser().gloss_many(texts)
    shared = JapaneseGlosser()  # cold: threads race on loading, the caches and the database
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(shared.gloss, texts * 4))
    assert results == serial * 4


def test_corpus_definitions_gloss_to_english(linked_glossary):
    definitions = [c.definition_text for c in linked_glossary.concepts.values()]
    glosser = JapaneseGlosser()
    start = time.perf_counter()
    glosses = glosser.gloss_many(definitions)
    assert time.perf_counter() - start < 10
    assert all(g for d, g in zip(definitions, glosses, strict=True) if d.strip())
    english = " ".join(glosses)
    japanese = sum(1 for c in english if detect_lang(c) == "ja")
    assert japanese == 0
    known = [u for d in definitions[:40] for u in glosser.analyze(d) if u.source in ("jmdict", "unknown")]
    assert sum(u.source == "jmdict" for u in known) / len(known) > 0.9


def test_loading_is_lazy():
    code = (
        "import sys; from kg.search.gloss import JapaneseGlosser; JapaneseGlosser(); "
        "print(sorted(m for m in ('sudachipy', 'jamdict_data') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_libraries_name_the_package(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sudachidict_core", None)  # makes `import sudachidict_core` fail
    with pytest.raises(ConfigurationError, match="sudachidict-core"):
        JapaneseGlosser().gloss("学習")
    monkeypatch.setitem(sys.modules, "sudachipy", None)
    with pytest.raises(ConfigurationError, match="sudachipy"):
        JapaneseGlosser().gloss("学習")
    monkeypatch.setitem(sys.modules, "jamdict_data", None)
    with pytest.raises(ConfigurationError, match="jamdict-data"):
        _ = JapaneseGlosser(cache_dir=tmp_path).db_path
    with pytest.raises(ConfigurationError, match="not found"):
        _ = JapaneseGlosser(tmp_path / "nowhere.db").db_path


def _tiny_jmdict(path: Path) -> None:
    """A two-entry database in jamdict's schema (the tables the glosser reads)."""
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE Kanji (ID INTEGER PRIMARY KEY, idseq INTEGER, text TEXT);
        CREATE TABLE Kana (ID INTEGER PRIMARY KEY, idseq INTEGER, text TEXT, nokanji BOOLEAN);
        CREATE TABLE KJP (kid INTEGER, text TEXT);
        CREATE TABLE KNP (kid INTEGER, text TEXT);
        CREATE TABLE Sense (ID INTEGER PRIMARY KEY, idseq INTEGER);
        CREATE TABLE SenseGloss (sid INTEGER, lang TEXT, gend TEXT, text TEXT);
        CREATE TABLE pos (sid INTEGER, text TEXT);
        CREATE TABLE misc (sid INTEGER, text TEXT);
        CREATE TABLE field (sid INTEGER, text TEXT);
        INSERT INTO Kanji VALUES (1, 100, '学習'), (2, 200, '過学習');
        INSERT INTO Kana VALUES (1, 100, 'がくしゅう', 0), (2, 200, 'かがくしゅう', 0);
        INSERT INTO KJP VALUES (1, 'news1');
        INSERT INTO Sense VALUES (10, 100), (20, 200);
        INSERT INTO SenseGloss VALUES (10, 'eng', NULL, 'study'), (10, 'eng', NULL, 'learning (e.g. by a machine)'),
                                      (20, 'eng', NULL, 'overfitting');
        INSERT INTO pos VALUES (10, 'noun (common) (futsuumeishi)'), (20, 'noun (common) (futsuumeishi)');
    """)
    conn.commit()
    conn.close()


def test_compressed_database_is_unpacked_once(tmp_path):
    db = tmp_path / "mini.db"
    _tiny_jmdict(db)
    packed = tmp_path / "jamdict.db.xz"
    packed.write_bytes(lzma.compress(db.read_bytes()))
    cache = tmp_path / "cache"
    glosser = JapaneseGlosser(packed, cache_dir=cache)
    assert glosser.gloss("過学習を防ぐ") == "overfitting"  # 防ぐ is not in the tiny dictionary
    assert glosser.lookup("学習") == "study learning"
    unpacked = list(cache.iterdir())
    assert [p.suffix for p in unpacked] == [".db"]  # no temporary file left behind
    mtime = unpacked[0].stat().st_mtime_ns
    assert JapaneseGlosser(packed, cache_dir=cache).db_path == unpacked[0]
    assert unpacked[0].stat().st_mtime_ns == mtime
