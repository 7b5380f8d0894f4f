"""Lexical search: label lookup (exact, prefix, contains) and BM25 over labels and definitions."""

from __future__ import annotations

import statistics
import time

import pytest

from kg.labels import detect_lang, normalize, text_lang
from kg.model import Concept, Definition, Label
from kg.search.lexical import LabelMatcher, LexicalIndex


def _concept(concept_id: str, *labels: str, definition: str = "", hidden: tuple[str, ...] = ()) -> Concept:
    return Concept(
        id=concept_id,
        labels=[Label(text, detect_lang(text)) for text in labels],
        definitions=[Definition(definition, lang=text_lang(definition))] if definition else [],
        hidden_labels=[Label(text, detect_lang(text)) for text in hidden],
    )


CONCEPTS = [
    _concept(
        "lstm",
        "Long Short-Term Memory",
        "LSTM",
        definition="- RNNの一種。\n- A recurrent network whose memory cells have input, output and forget gates.",
    ),
    _concept(
        "llm",
        "大規模言語モデル",
        "Large Language Model",
        "LLM",
        definition="- 大量のテキストで事前学習した言語モデル。",
    ),
    _concept("llm-server", "LLM推論サーバー", definition="- LLMの推論をAPIとして提供するサーバー。"),
    _concept("computer", "コンピューター", definition="- 計算を行う機械。"),
    _concept("computer-vision", "コンピュータビジョン", "Computer Vision", definition="- 画像を理解する分野。"),
    _concept("learning-rate", "学習率", "Learning Rate", definition="- 学習率は、パラメータを一回の更新で動かす幅。"),
    _concept(
        "scheduler", "学習率スケジューラ", "Scheduler", definition="- 学習の進行に合わせて学習率を徐々に下げる仕組み。"
    ),
    _concept(
        "overfitting",
        "過学習",
        "Overfitting",
        definition="- 訓練データに過剰に適合し、未知のデータで性能が落ちること。",
    ),
    _concept("fine-tuning", "ファインチューニング", "Fine-tuning", definition="- 事前学習済みモデルを追加で学習する。"),
    _concept("cpp", "C++", definition="- A programming language."),
    _concept("sgd", "確率的勾配降下法", "SGD", hidden=("Stochastic GD",), definition="- 勾配降下法の一種。"),
]


@pytest.fixture(scope="module")
def matcher() -> LabelMatcher:
    return LabelMatcher(CONCEPTS)


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex(CONCEPTS)


BAD_QUERIES = ["", "   ", "?!。、「」", "\x00\x01\x1f\x7f", "\ud800", "\u200b\ufeff", "x" * 10_000, "学習" * 5_000]

# -- LabelMatcher ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "LSTM",
        "lstm",
        "ＬＳＴＭ",
        " LSTM? ",
        "「LSTM」",
        "long short-term memory",
        "Long Short Term Memory",
        "LONG-SHORT-TERM-MEMORY",
    ],
)
def test_exact_label_in_any_case_width_separator_or_punctuation(matcher, query):
    first = matcher.match(query)[0]
    assert (first.concept_id, first.kind, first.score) == ("lstm", "exact", 1.0)


def test_llm_exact_first_then_prefix(matcher):
    hits = matcher.match("llm")
    assert (hits[0].concept_id, hits[0].label, hits[0].lang, hits[0].kind) == ("llm", "LLM", "en", "exact")
    assert ("llm-server", "prefix") in [(h.concept_id, h.kind) for h in hits[1:]]


@pytest.mark.parametrize("query", ["コンピューター", "コンピュータ", "ｺﾝﾋﾟｭｰﾀｰ", "ｺﾝﾋﾟｭｰﾀ"])
def test_katakana_long_vowel_and_half_width_variants(matcher, query):
    first = matcher.match(query)[0]
    assert (first.concept_id, first.label, first.kind) == ("computer", "コンピューター", "exact")


@pytest.mark.parametrize("query", ["fine tuning", "Fine-Tuning", "finetuning", "ファイン・チューニング"])
def test_hyphen_and_space_variants(matcher, query):
    assert matcher.match(query)[0].concept_id == "fine-tuning"


def test_symbols_in_a_label_are_kept_and_hidden_labels_match(matcher):
    assert matcher.match("c++")[0].concept_id == "cpp"
    assert matcher.match("stochastic gd")[0].label == "Stochastic GD"


def test_prefix_shortest_label_first(matcher):
    hits = matcher.match("学習")
    assert [(h.concept_id, h.kind) for h in hits] == [("learning-rate", "prefix"), ("scheduler", "prefix")]
    assert 0.5 < hits[1].score < hits[0].score < 1.0


def test_no_prefix_for_one_character(matcher):
    assert matcher.match("l") == []
    assert [h.concept_id for h in matcher.match("ll")] == ["llm", "llm-server"]


def test_contains_whole_words_ranks_below_exact_and_prefix(matcher):
    for query in ["what is LSTM", "How does LSTM work?", "LSTMとは", "what are LLMs?"]:
        first = matcher.match(query)[0]
        assert first.kind == "contains" and first.score <= 0.5, query
    assert matcher.match("what is LSTM")[0].concept_id == "lstm"
    assert matcher.match("what are LLMs?")[0].concept_id == "llm"


def test_contains_needs_the_label_to_be_most_of_the_query(matcher):
    # "fine-tuning" is a third of this query's content words: a label named in
    # passing, not the thing asked about (the dev set wants Freeze here).
    assert matcher.match("keep some layers fixed while fine-tuning") == []
    # Not inside another word either.
    assert matcher.match("sgdx optimizer") == []


def test_the_initials_of_a_label_find_it_when_no_label_spells_them():
    matcher = LabelMatcher([
        _concept("mle", "最尤推定", "Maximum Likelihood Estimation"),
        _concept("lstm", "Long Short-Term Memory", "LSTM"),
        _concept("lsm", "Least Squares Method"),
        _concept("instruction-tuning", "Instruction Tuning"),
    ])
    for query in ("MLE", "mle", "MLE?"):
        hit = matcher.match(query)[0]
        assert (hit.concept_id, hit.kind, hit.score, hit.label) == ("mle", "acronym", 0.9,
                                                                    "Maximum Likelihood Estimation"), query
    assert [(h.concept_id, h.kind) for h in matcher.match("what is MLE")] == [("mle", "contains")]
    # a label that spells the acronym wins, as an exact match, and no acronym hit is added for it
    assert [(h.concept_id, h.kind) for h in matcher.match("LSTM")] == [("lstm", "exact")]
    # two letters name too much ("IT" is a word); an acronym in lower case inside a sentence is not one
    assert matcher.match("IT") == [] and matcher.match("what is it") == []
    assert matcher.match("is mle biased") == []
    # hyphenated words give their initials too: Short-Term -> s, t
    assert matcher.match("LSM")[0].concept_id == "lsm"


def test_a_misspelt_label_of_eight_characters_or_more_is_a_typo_hit():
    matcher = LabelMatcher([
        _concept("perplexity", "パープレキシティ", "Perplexity"),
        _concept("confusion-matrix", "混同行列", "Confusion Matrix"),
        _concept("neural-network", "ニューラルネットワーク", "Neural Network"),
        _concept("dropout", "Dropout"),
    ])
    for query, concept in [("perplexty", "perplexity"), ("confussion matrix", "confusion-matrix"),
                           ("Perplexityy", "perplexity")]:
        hit = matcher.match(query)[0]
        assert (hit.concept_id, hit.kind) == (concept, "typo") and 0.72 <= hit.score <= 0.8, query
    # a label spelt right is exact, not a typo of another; a short key is no typo (one letter is
    # too much of "Dropot"); another term that shares most letters is none either
    assert [h.kind for h in matcher.match("Perplexity")] == ["exact"]
    assert matcher.match("Dropot") == []
    assert matcher.match("グラフニューラルネットワーク") == []


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_matcher_bad_queries(matcher, query):
    assert isinstance(matcher.match(query), list)


# -- LexicalIndex ------------------------------------------------------------------------


def test_japanese_query_finds_japanese_label_first(index):
    assert index.search("学習率")[0].concept_id == "learning-rate"
    first = index.search("過学習")[0]
    assert (first.concept_id, first.field, first.text, first.lang) == ("overfitting", "label", "過学習", "ja")


def test_japanese_sentence_matches_a_definition_sentence(index):
    first = index.search("学習率を徐々に下げる")[0]
    assert first.concept_id == "scheduler"
    assert (first.field, first.text, first.lang) == (
        "definition",
        "学習の進行に合わせて学習率を徐々に下げる仕組み。",
        "ja",
    )


def test_english_words_match_an_english_sentence_and_plural(index):
    first = index.search("memory cell with gates")[0]
    assert first.concept_id == "lstm"
    assert first.field == "definition" and first.lang == "en" and "forget gates" in first.text
    label_hit = index.search("learning rates")[0]
    assert (label_hit.concept_id, label_hit.field, label_hit.text) == ("learning-rate", "label", "Learning Rate")


def test_scores_descend_and_k_is_respected(index):
    hits = index.search("学習", k=3)
    assert len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.search("学習", k=0) == []


def test_unknown_words_give_nothing(index):
    assert index.search("zebra quokka") == []
    assert index.search("the of and") == []  # only stop words


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_index_bad_queries_are_quick_and_bounded(index, query):
    start = time.perf_counter()
    hits = index.search(query, k=5)
    assert len(hits) <= 5
    assert time.perf_counter() - start < 0.1


def test_empty_glossary():
    assert LexicalIndex([]).search("LSTM") == []
    assert LabelMatcher([]).match("LSTM") == []
    assert LexicalIndex([_concept("bare", "Bare")]).search("bare")[0].concept_id == "bare"


# -- the whole linked corpus -----------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_concepts(linked_glossary) -> list[Concept]:
    return list(linked_glossary.concepts.values())


@pytest.fixture(scope="module")
def corpus_index(corpus_concepts) -> LexicalIndex:
    return LexicalIndex(corpus_concepts)


def test_corpus_label_lookup(corpus_concepts):
    matcher = LabelMatcher(corpus_concepts)
    assert matcher.match("ＬＳＴＭ")[0].concept_id == "long-short-term-memory"
    assert matcher.match("llm")[0].concept_id == "large-language-model"
    assert matcher.match("what is LSTM")[0].concept_id == "long-short-term-memory"


@pytest.mark.parametrize(
    ("query", "concept_id"),
    [
        ("学習率", "learning-rate"),
        ("過学習", "overfitting"),
        ("LSTM", "long-short-term-memory"),
        ("複数の決定木を組み合わせる手法", "random-forest"),
    ],
)
def test_corpus_search(corpus_index, query, concept_id):
    assert corpus_index.search(query)[0].concept_id == concept_id


def _dev_metrics(eval_dir, concepts, rank) -> dict[str, float]:
    """MRR@10, hit@1, hit@10; relevant = every concept with one of the row's labels (normalised)."""
    by_label: dict[str, set[str]] = {}
    for concept in concepts:
        for label in [*concept.labels, *concept.hidden_labels]:
            by_label.setdefault(normalize(label.text), set()).add(concept.id)
    rr, hit1, hit10 = [], [], []
    for line in (eval_dir / "dev_queries.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if "\t" not in line:
            continue
        query, labels = line.split("\t", 1)
        relevant = set().union(*(by_label.get(normalize(label), set()) for label in labels.split(";")))
        assert relevant, f"no concept has any of {labels!r}"
        ranked = rank(query)[:10]
        position = next((n for n, concept_id in enumerate(ranked, 1) if concept_id in relevant), None)
        rr.append(1 / position if position else 0.0)
        hit1.append(position == 1)
        hit10.append(position is not None)
    return {"mrr": statistics.mean(rr), "hit1": statistics.mean(hit1), "hit10": statistics.mean(hit10)}


def test_dev_queries_lexical_quality(eval_dir, corpus_concepts, corpus_index):
    """Measured on the 25 dev queries (k1 1.2, b 0.75, label boost 1):

    ==========================================  ======  =====  ======
    tokenisation (Japanese; Latin text: words)  MRR@10  hit@1  hit@10
    ==========================================  ======  =====  ======
    bigrams                                     0.429   0.32   0.64
    unigrams + bigrams (kept)                   0.464   0.36   0.68
    SudachiPy core, mode B content words        0.467   0.36   0.68
    SudachiPy core, mode C content words        0.458   0.36   0.68
    ==========================================  ======  =====  ======

    Label lookup first, then BM25: MRR@10 0.494, hit@1 0.40, hit@10 0.68.
    One query of 25 moves MRR by up to 0.04, so each floor is the measurement less
    about one query; both stay above the BM25 reference (MRR 0.36, hit@10 0.54).
    """
    bm25 = _dev_metrics(eval_dir, corpus_concepts, lambda q: [h.concept_id for h in corpus_index.search(q, 10)])
    assert bm25["mrr"] >= 0.42, bm25
    assert bm25["hit10"] >= 0.64, bm25

    matcher = LabelMatcher(corpus_concepts)

    def labels_first(query: str) -> list[str]:
        ids = [h.concept_id for h in matcher.match(query)] + [h.concept_id for h in corpus_index.search(query, 10)]
        return list(dict.fromkeys(ids))

    combined = _dev_metrics(eval_dir, corpus_concepts, labels_first)
    assert combined["mrr"] >= 0.45, combined
    assert combined["mrr"] >= bm25["mrr"], (combined, bm25)
