"""Search: label lookup first, modes, language filter, snippets, bad queries, store index, quality."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest import ingest_paths
from kg import Glossary, Settings
from kg.errors import BadParameterError, StoreError
from kg.search.evaluate import evaluate, read_no_answer_queries, read_queries
from kg.store.versions import Store, update_store

EVAL = Path(__file__).resolve().parent.parent / "eval"
FIXTURE_QUERIES = EVAL / "probe_queries.tsv"


@pytest.fixture(scope="module")
def fixture_glossary(fixtures) -> Glossary:
    return Glossary.from_ingest(ingest_paths([fixtures / "glossary"]), Settings(model="fake"))


@pytest.fixture(scope="module")
def corpus_glossary(linked_corpus) -> Glossary:
    return Glossary.from_ingest(ingest_paths([linked_corpus]), Settings(model="fake"))


def ids(hits) -> list[str]:
    return [hit.id for hit in hits]


@pytest.mark.parametrize("query", ["LSTM", "lstm", "ＬＳＴＭ", "Long Short-Term Memory", "long short term memory"])
def test_a_label_ranks_its_concept_first(corpus_glossary, query):
    hits = corpus_glossary.search(query)
    assert hits[0].id == "long-short-term-memory"
    assert hits[0].matched["by"] == "label"


def test_label_lookup_beats_lexical_noise(corpus_glossary):
    assert corpus_glossary.search("llm")[0].id == "large-language-model"
    assert corpus_glossary.search("学習率")[0].id == "learning-rate"
    assert corpus_glossary.search("コンピュータビジョン")[0].id == "computer-vision"


def test_hits_carry_snippet_match_and_source(fixture_glossary):
    hit = fixture_glossary.search("勾配に沿ってパラメータを更新", mode="lexical")[0]
    assert hit.id == "gradient-descent"
    assert hit.matched["kind"] == "definition" and hit.matched["lang"] == "ja" and hit.matched["by"] == "lexical"
    assert "勾配" in hit.snippet
    assert hit.source == {"file": "advanced.md", "line": 7, "url": None}
    assert hit.labels == {"ja": "勾配降下法", "en": "Gradient Descent"}
    data = hit.to_dict()
    json.dumps(data)
    assert {"id", "name", "labels", "score", "snippet", "matched", "source"} <= set(data)


def test_modes_differ_and_each_finds_something(fixture_glossary):
    for mode in ("hybrid", "dense", "lexical"):
        hits = fixture_glossary.search("損失関数の勾配", mode=mode)
        assert hits, mode
        assert {"gradient-descent", "loss-function"} & set(ids(hits[:3])), (mode, ids(hits))
    dense = fixture_glossary.search("Loss Function", mode="dense")
    assert all(h.matched["by"] == "dense" for h in dense)


def test_lang_filter_keeps_concepts_labelled_in_that_language(fixture_glossary):
    everything = fixture_glossary.search("model", k=20)
    english = fixture_glossary.search("model", k=20, lang="en")
    japanese = fixture_glossary.search("model", k=20, lang="ja")
    assert english and japanese
    assert all("en" in h.labels for h in english) and all("ja" in h.labels for h in japanese)
    assert "mixture-of-experts" in ids(english) and "mixture-of-experts" not in ids(japanese)
    assert set(ids(english)) | set(ids(japanese)) <= set(ids(everything)) | set(ids(english)) | set(ids(japanese))


@pytest.mark.parametrize("query", ["", "   ", "\x00\x01"])
def test_empty_queries_are_refused_by_name(fixture_glossary, query):
    with pytest.raises(BadParameterError) as raised:
        fixture_glossary.search(query)
    assert raised.value.details["parameter"] == "q"


def test_odd_queries_never_fail(fixture_glossary):
    assert fixture_glossary.search("?!…。、・") == []
    assert fixture_glossary.search("deep\x00learning\x1f")  # control characters are dropped
    with pytest.raises(BadParameterError):
        fixture_glossary.search("x" * 10_000)
    assert len(fixture_glossary.search("x" * 1000)) <= 10


@pytest.mark.parametrize("k", [0, -1, 101, 100_000])
def test_bad_k_is_refused(fixture_glossary, k):
    with pytest.raises(BadParameterError) as raised:
        fixture_glossary.search("deep learning", k=k)
    assert raised.value.details["parameter"] == "k"


def test_bad_mode_and_lang_are_refused(fixture_glossary):
    with pytest.raises(BadParameterError):
        fixture_glossary.search("deep", mode="fuzzy")
    with pytest.raises(BadParameterError):
        fixture_glossary.search("deep", lang="japanese!")


def test_k_limits_hits(corpus_glossary):
    assert len(corpus_glossary.search("learning", k=3)) == 3
    assert len(corpus_glossary.search("learning", k=100)) <= 100


# -- the store's index --------------------------------------------------------------------


def test_ingest_builds_the_index_and_reingest_encodes_only_changed_concepts(tmp_path, fixtures):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for file in (fixtures / "glossary").iterdir():
        (corpus / file.name).write_bytes(file.read_bytes())
    settings = Settings(store=tmp_path / "store", model="fake")
    first = update_store([corpus], settings)
    index = Store(settings.store).manifest()["extra"]["index"]
    assert index["model"] == "fake-hashing-256" and index["passages"] == len(first.result.concepts)
    assert index["encoded"] == index["passages"] and index["from_cache"] == 0

    text = (corpus / "advanced.md").read_text(encoding="utf-8")
    (corpus / "advanced.md").write_text(
        text.replace("入力の尺度をそろえる前処理。", "入力の尺度を揃える処理。"), encoding="utf-8"
    )
    update_store([corpus], settings)
    index = Store(settings.store).manifest()["extra"]["index"]
    assert index["encoded"] == 1 and index["from_cache"] == index["passages"] - 1

    glossary = Store(settings.store).load(settings)
    assert glossary.search("尺度を揃える", mode="dense")[0].id == "normalization"
    assert glossary.health()["model"] == "fake-hashing-256"


def test_a_store_built_with_another_model_is_refused_clearly(tmp_path, fixtures):
    built = Settings(store=tmp_path / "store", model="fake")
    update_store([fixtures / "glossary"], built)
    other = Settings(store=tmp_path / "store", model="fake:64")
    glossary = Store(other.store).load(other)
    with pytest.raises(StoreError) as raised:
        glossary.search("deep learning")
    message = str(raised.value)
    assert "fake-hashing-256" in message and "fake-hashing-64" in message and "kg ingest" in message


def test_changing_the_model_re_ingests(tmp_path, fixtures):
    update_store([fixtures / "glossary"], Settings(store=tmp_path / "store", model="fake"))
    again = update_store([fixtures / "glossary"], Settings(store=tmp_path / "store", model="fake:64"))
    assert again.changed
    assert Store(tmp_path / "store").manifest()["extra"]["index"]["model"] == "fake-hashing-64"


# -- evaluation -----------------------------------------------------------------------------


def test_evaluate_scores_a_known_ranking(tmp_path):
    queries = tmp_path / "q.tsv"
    queries.write_text("query\tlabels\nfirst\tA;B\nsecond\tC\nthird\tnothing\n", encoding="utf-8")
    ranking = {"first": ["b", "x"], "second": ["x", "y", "c"], "third": ["a"]}
    known = {"A": ["a"], "B": ["b"], "C": ["c"]}
    result = evaluate(read_queries(queries), ranking.__getitem__, lambda label: known.get(label, []))
    metrics = result.metrics
    assert metrics["queries"] == 2  # "third" names no concept: reported, not counted
    assert metrics["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert metrics["hit@1"] == 0.5 and metrics["hit@10"] == 1.0
    assert result.unknown_labels == [(4, "nothing")]
    assert "MRR@10" in result.to_text()


def test_read_queries_names_the_bad_line(tmp_path):
    from kg.errors import ParseError

    bad = tmp_path / "bad.tsv"
    bad.write_text("query\tlabels\ngood\tA\nno tab here\n", encoding="utf-8")
    with pytest.raises(ParseError) as raised:
        read_queries(bad)
    assert raised.value.line == 3 and raised.value.file.endswith("bad.tsv")


def test_scores_are_relevance_on_one_scale_in_every_mode(corpus_glossary):
    for mode in ("hybrid", "dense", "lexical"):
        for query in ("LSTM", "how do I stop a model from overfitting?", "過学習を防ぐ", "肉じゃがの作り方"):
            for hit in corpus_glossary.search(query, k=20, mode=mode):
                assert 0.0 <= hit.score <= 1.0, (mode, query, hit.id, hit.score)
    exact = corpus_glossary.search("LSTM")[0]
    assert exact.score == 1.0 and not exact.weak and exact.matched["by"] == "label"


def test_nothing_close_is_said_and_a_misspelt_label_is_suggested(corpus_glossary):
    answer = corpus_glossary.search_answer("Overfiting zzqx")
    weakest = corpus_glossary.search_answer("qqqq zzzz xxxx")
    assert not weakest.close_match and all(hit.weak for hit in weakest.hits)
    data = weakest.to_dict()
    assert data["close_match"] is False and all(hit["weak"] for hit in data["results"])
    if not answer.close_match:  # a typo far from every definition: the label is suggested by spelling
        assert "overfitting" in [s["id"] for s in answer.suggestions]
    assert corpus_glossary.search_answer("Overfitting").close_match
    assert corpus_glossary.search_answer("Overfitting").suggestions == []


def test_a_name_the_glossary_never_mentions_is_no_close_match(corpus_glossary):
    for query in ("How does XGBoost build its trees?", "JWTのアクセストークン"):
        answer = corpus_glossary.search_answer(query)
        assert answer.hits and not answer.close_match and answer.unknown_names, query
        assert answer.to_dict()["unknown_names"] == answer.unknown_names
    assert corpus_glossary.search_answer("How does XGBoost build its trees?").unknown_names == ["XGBoost"]
    # names it does use are no reason to doubt: LLM and GPT are in the corpus
    for query in ("LLM", "what is GPT-3?", "self-attention architecture behind GPT and BERT"):
        assert corpus_glossary.engine.lexical.unknown_names(query) == [], query
    assert corpus_glossary.search_answer("LLM").close_match
    # a label's own short form is no unknown name (Batch Normalization), a short acronym that
    # only begins a label is (RL is not RLHF)
    assert corpus_glossary.engine.lexical.unknown_names("BatchNorm layer") == ["BatchNorm"]
    assert corpus_glossary.engine.unknown_names("BatchNorm layer") == []
    assert corpus_glossary.search_answer("BatchNorm layer").unknown_names == []
    assert corpus_glossary.candidates("RLHF") and corpus_glossary.engine.unknown_names("RL vs bandits") == ["RL"]
    # the initials of a label are no unknown name either, and find it
    assert corpus_glossary.engine.unknown_names("MLE") == []
    assert ids(corpus_glossary.search("MLE"))[0] == "maximum-likelihood-estimation"
    assert corpus_glossary.search_answer("MLE").close_match


def test_a_name_only_one_definition_uses_finds_that_concept(corpus_glossary):
    # "集合間の類似度を表す指標で、IoUとも呼ばれる。" is in Jaccard Index's entry alone; CABAC in
    # Encoding's, AdamW in Optimizer's: the letters mean nothing to a model of meaning.
    for query, concept in [("IoU", "jaccard-index"), ("CABAC", "encoding"), ("AdamW", "optimizer"),
                           ("IoU of two bounding boxes", "jaccard-index")]:
        answer = corpus_glossary.search_answer(query)
        first = answer.hits[0]
        assert (first.id, first.matched["by"], first.signals["name"]) == (concept, "name", query.split()[0]), query
        assert not first.weak and answer.close_match and first.score == pytest.approx(0.6)
    assert "IoU" in corpus_glossary.search("IoU")[0].snippet  # the sentence that uses the name
    engine = corpus_glossary.engine
    # a name many definitions use says nothing about which (GPU, CPU); a label's own name is
    # left to the label (LLM); a part of a hyphenated word is no name ("NN" of "k-NN")
    assert engine.named_by("GPU memory") == {} and engine.named_by("LLM") == {}
    assert engine.lexical.named_by("k-NN classifier") == {}
    assert engine.named_by("the IoU and CABAC") == {"IoU": "jaccard-index", "CABAC": "encoding"}


def test_a_misspelt_label_is_found_as_a_close_match(corpus_glossary):
    for query, concept in [("perplexty", "perplexity"), ("confussion matrix", "confusion-matrix"),
                           ("backpropogation", "backpropagation")]:
        answer = corpus_glossary.search_answer(query)
        assert (answer.hits[0].id, answer.hits[0].signals["label"]) == (concept, "typo") and answer.close_match


def test_the_floor_is_a_setting(linked_corpus):
    result = ingest_paths([linked_corpus])
    strict = Glossary.from_ingest(result, Settings(model="fake", search_floor=1.0, search_floor_glossed=1.0))
    lenient = Glossary.from_ingest(result, Settings(model="fake", search_floor=0.0, search_floor_glossed=0.0))
    query = "how do I stop a model from overfitting?"
    defined = {cid for cid, concept in strict.concepts.items() if concept.definitions}
    # the floor never reorders; it only keeps out concepts with no definition that are not close
    assert [i for i in ids(lenient.search(query)) if i in defined][:5] == ids(strict.search(query))[:5]
    assert all(hit.weak for hit in strict.search(query)) and not strict.search_answer(query).close_match
    assert not any(hit.weak for hit in lenient.search(query))
    assert strict.search_answer("LSTM").close_match  # an exact label is relevance 1


def test_a_concept_without_definition_is_found_by_its_labels_only(tmp_path):
    page = tmp_path / "g.md"
    page.write_text("## トランスコード | Transcoding\n\n## 過学習 | Overfitting\n\n- 訓練データに過剰に適合し、"
                    "未知のデータで性能が落ちること。\n", encoding="utf-8")
    glossary = Glossary.from_ingest(ingest_paths([page]), Settings(model="fake", search_floor=0.2))
    assert "transcoding" not in ids(glossary.search("overfitting on training data"))
    assert ids(glossary.search("Transcoding"))[0] == "transcoding"


@pytest.mark.slow
def test_real_model_quality_on_the_linked_corpus(linked_corpus, eval_dir, tmp_path):
    """The acceptance bar: dev MRR@10 >= 0.60 and hit@10 >= 0.90 with the default encoder;
    our own probe queries (never tuned on) are held to the held-out bar, 0.65 / 0.90."""
    settings = Settings(store=tmp_path / "store", model=Settings.model_fields["model"].default)
    assert update_store([linked_corpus], settings).exit_code == 0
    glossary = Store(settings.store).load(settings)

    def measure(path, no_answer):
        return evaluate(
            read_queries(path),
            lambda q: ids(glossary.search(q)),
            lambda label: [c.id for c in glossary.candidates(label)],
            close=lambda q: glossary.search_answer(q).close_match,
            no_answer=read_no_answer_queries(EVAL / no_answer),
        ).metrics

    dev = measure(eval_dir / "dev_queries.tsv", "no_answer_design.tsv")
    assert dev["mrr@10"] >= 0.60 and dev["hit@10"] >= 0.90, dev
    probe = measure(FIXTURE_QUERIES, "no_answer_heldout.tsv")
    assert probe["mrr@10"] >= 0.65 and probe["hit@10"] >= 0.90, probe
    # The relevance floor, near the level docs/search.md reports (96-97% and 90%; a guard, not a
    # target): one more query on the other side of the floor is allowed, as a probe query sits
    # 0.005 above it.
    for metrics in (dev, probe):
        assert metrics["close_match"] >= 0.9 and metrics["no_close_match"] >= 0.75, metrics
    top = glossary.search("how do I stop a model from overfitting?", k=5)
    assert {"dropout", "early-stopping", "overfitting", "regularization"} & set(ids(top[:3]))


@pytest.mark.slow
def test_torch_and_openvino_int8_rank_alike(linked_corpus, eval_dir):
    """The default encoder (OpenVINO, int8 weights) was kept because it loses no quality
    against the same model on torch: the dev set must score the same within one query."""
    glossary = Glossary.from_ingest(ingest_paths([linked_corpus]))
    scores = {}
    for model in ("default", "openvino-int8"):
        engine_glossary = Glossary(glossary.concepts.values(), settings=Settings(model=model))
        scores[model] = evaluate(read_queries(eval_dir / "dev_queries.tsv"),
                                 lambda q, g=engine_glossary: ids(g.search(q, mode="dense")),
                                 lambda label: [c.id for c in glossary.candidates(label)]).metrics
    assert abs(scores["default"]["mrr@10"] - scores["openvino-int8"]["mrr@10"]) <= 0.04, scores
    assert scores["default"]["hit@10"] == scores["openvino-int8"]["hit@10"], scores
