"""The FAISS vector index: exact search equals brute force, HNSW recall on real embeddings (slow),
save/load with what built it, and refusing an index built by another model."""
from __future__ import annotations

import json
import re
import threading
import time

import numpy as np
import pytest

from kg.errors import StoreError
from kg.search import vectors as vectors_module
from kg.search.encoders import get_encoder
from kg.search.vectors import INDEX_FILE, META_FILE, VectorIndex, ivf_lists
from kg.settings import Settings

TEXTS = [
    "Dropout randomly disables units to prevent overfitting",
    "Early stopping halts training when validation loss rises",
    "Gradient descent follows the negative gradient of the loss",
    "The learning rate scales each gradient descent step",
    "A transformer is built from self-attention layers",
    "Self-attention relates every token to every other token",
    "A video codec compresses frames with motion vectors",
    "ドロップアウトは過学習を防ぐ",
    "過学習は訓練データに適合しすぎること",
    "正則化は過学習を抑える",
]


@pytest.fixture(scope="module")
def fake_vectors() -> np.ndarray:
    return get_encoder("fake:64").encode(TEXTS)


def brute_force(data: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ data.T
    rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, rows, axis=1), rows


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def test_exact_search_equals_brute_force():
    rng = np.random.default_rng(7)
    data = rng.standard_normal((500, 32)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[:20] + 0.1 * rng.standard_normal((20, 32)).astype(np.float32)
    index = VectorIndex.build(data)
    assert index.index_type == "flat" and index.count == 500 and index.dimension == 32
    scores, rows = index.search(queries, 10)
    normalised = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    expected_scores, expected_rows = brute_force(data, normalised, 10)
    assert np.array_equal(rows, expected_rows)
    assert np.allclose(scores, expected_scores, atol=1e-5)
    assert rows.dtype == np.int64 and scores.dtype == np.float32


def test_fake_text_vectors_find_their_neighbours(fake_vectors):
    index = VectorIndex.build(fake_vectors)
    query = get_encoder("fake:64").encode(["how to prevent overfitting with dropout"])
    scores, rows = index.search(query[0], 3)
    assert rows[0] == 0 and scores[0] == pytest.approx(float(query[0] @ fake_vectors[0]), abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)


def test_scores_are_cosine_even_for_unnormalised_input():
    data = np.array([[3.0, 4.0], [10.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    index = VectorIndex.build(data)
    scores, rows = index.search(np.array([2.0, 0.0]), 3)
    assert list(rows[:2]) == [1, 0] and np.allclose(scores, [1.0, 0.6, 0.0], atol=1e-6)


def test_auto_kind_follows_the_threshold(fake_vectors):
    assert VectorIndex.build(fake_vectors, hnsw_threshold=11).index_type == "flat"
    assert VectorIndex.build(fake_vectors, half_threshold=10, hnsw_threshold=11).index_type == "flat16"
    hnsw = VectorIndex.build(fake_vectors, hnsw_threshold=10, m=8, ef_construction=20, ef_search=16)
    assert hnsw.index_type == "hnsw" and hnsw.params == {"M": 8, "efConstruction": 20, "efSearch": 16}
    assert VectorIndex.build(fake_vectors, kind="hnsw", hnsw_threshold=10**9).index_type == "hnsw"
    with pytest.raises(ValueError, match="kind"):
        VectorIndex.build(fake_vectors, kind="lsh")


@pytest.mark.parametrize("kind", ["flat", "flat16", "hnsw"])
def test_k_zero_huge_and_shapes(fake_vectors, kind):
    index = VectorIndex.build(fake_vectors, kind=kind)
    scores, rows = index.search(fake_vectors[0], 0)
    assert scores.shape == rows.shape == (0,)
    scores, rows = index.search(fake_vectors[:3], 0)
    assert scores.shape == rows.shape == (3, 0)
    scores, rows = index.search(fake_vectors[:3], 1000)
    assert rows.shape == (3, len(TEXTS)) and (rows >= 0).all()
    assert sorted(rows[0]) == list(range(len(TEXTS)))
    assert rows[0, 0] == 0 and scores[0, 0] == pytest.approx(1.0, abs=1e-3 if kind == "flat16" else 1e-5)
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.zeros(63, np.float32), 3)


def test_empty_index_answers_nothing():
    index = VectorIndex.build(np.zeros((0, 16), np.float32))
    assert index.count == 0
    scores, rows = index.search(np.ones(16, np.float32), 5)
    assert scores.shape == rows.shape == (0,)


def test_bad_vectors_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        VectorIndex.build(np.zeros(16, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        VectorIndex.build(np.full((2, 4), np.nan, np.float32))


def test_hnsw_agrees_with_exact_on_a_small_set():
    rng = np.random.default_rng(3)
    data = rng.standard_normal((2000, 32)).astype(np.float32)
    queries = rng.standard_normal((50, 32)).astype(np.float32)
    _, truth = VectorIndex.build(data, kind="flat").search(queries, 10)
    _, found = VectorIndex.build(data, kind="hnsw").search(queries, 10)
    assert recall_at(found, truth) >= 0.95


def test_half_precision_search_is_exact_but_for_rounding(tmp_path):
    # 16-bit floats keep about three decimal digits: the same neighbours as float32 but for
    # near ties, scores within 1e-3, and half the bytes.
    rng = np.random.default_rng(4)
    data = rng.standard_normal((3000, 64)).astype(np.float32)
    queries = rng.standard_normal((100, 64)).astype(np.float32)
    exact, half = VectorIndex.build(data, kind="flat"), VectorIndex.build(data, kind="flat16")
    truth_scores, truth = exact.search(queries, 10)
    scores, found = half.search(queries, 10)
    assert recall_at(found, truth) >= 0.99 and np.allclose(scores, truth_scores, atol=1e-3)
    assert np.allclose(half.reconstruct([0, 9]), exact.reconstruct([0, 9]), atol=1e-3)
    for name, index in (("exact", exact), ("half", half)):
        (tmp_path / name).mkdir()
        index.save(tmp_path / name, "m")
    size = {name: (tmp_path / name / INDEX_FILE).stat().st_size for name in ("exact", "half")}
    assert half.params == {} and size["half"] < 0.6 * size["exact"]


def test_hnsw_rows_it_cannot_fill_are_answered_exactly(fake_vectors):
    # HNSW answers -1 when a graph region is unreachable; too rare to provoke, so the
    # index is wrapped to answer one query that way, as faiss would.
    index = VectorIndex.build(fake_vectors, kind="hnsw")
    real = index._index

    class Unfilled:
        storage, ntotal, d = real.storage, real.ntotal, real.d

        def search(self, matrix, k, params=None):
            scores, rows = real.search(matrix, k, params=params)
            rows[0, k // 2:] = -1
            return scores, rows

    index._index = Unfilled()
    scores, rows = index.search(fake_vectors[:2], 6)
    expected_scores, expected_rows = brute_force(fake_vectors, fake_vectors[:2], 6)
    assert (rows >= 0).all()
    assert np.allclose(scores[0], expected_scores[0], atol=1e-5)
    # The rows are the exact top 6 (in any order among equal scores), each with its true score.
    normalized = fake_vectors / np.linalg.norm(fake_vectors, axis=1, keepdims=True)
    assert np.allclose(normalized[rows[0]] @ normalized[0], scores[0], atol=1e-5)


def test_concurrent_searches_match_serial(fake_vectors):
    index = VectorIndex.build(np.tile(fake_vectors, (50, 1)), kind="hnsw")
    expected = [index.search(q, 5)[1] for q in fake_vectors]
    results: dict[int, list] = {}

    def worker(n: int) -> None:
        results[n] = [index.search(q, 5)[1] for q in fake_vectors for _ in range(20)][::20]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for found in results.values():
        assert all(np.array_equal(a, b) for a, b in zip(found, expected, strict=True))


# -- on disk ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["flat", "flat16", "hnsw"])
def test_save_load_round_trip(tmp_path, fake_vectors, kind):
    index = VectorIndex.build(fake_vectors, kind=kind)
    index.save(tmp_path, "fake-hashing-64")
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["model"] == "fake-hashing-64" and meta["dimension"] == 64 and meta["count"] == len(TEXTS)
    assert meta["index_type"] == kind and meta["metric"] == "inner_product" and meta["params"] == index.params
    assert meta["built_with"]["faiss"]
    assert not (tmp_path / INDEX_FILE).read_bytes().startswith(b"\x80")  # not a pickle
    loaded = VectorIndex.load(tmp_path, "fake-hashing-64", 64)
    assert loaded.model == "fake-hashing-64" and loaded.index_type == kind and loaded.count == len(TEXTS)
    for query in fake_vectors:
        assert np.array_equal(loaded.search(query, 5)[1], index.search(query, 5)[1])
    assert VectorIndex.load(tmp_path).count == len(TEXTS)  # nothing to check against: accepted


def test_load_can_override_ef_search(tmp_path, fake_vectors):
    VectorIndex.build(fake_vectors, kind="hnsw", ef_search=16).save(tmp_path, "m")
    assert VectorIndex.load(tmp_path, "m", ef_search=300).params["efSearch"] == 300


def test_other_model_is_refused_with_a_clear_message(tmp_path, fake_vectors):
    VectorIndex.build(fake_vectors).save(tmp_path, "fake-hashing-64")
    with pytest.raises(StoreError) as info:
        VectorIndex.load(tmp_path, "sentence-transformers/all-MiniLM-L6-v2", 384)
    message = info.value.message
    assert "fake-hashing-64" in message and "sentence-transformers/all-MiniLM-L6-v2" in message
    assert "kg ingest --force" in message and "KG_MODEL" in message
    assert info.value.details["index_model"] == "fake-hashing-64"
    with pytest.raises(StoreError, match="dimension 64.*gives 32.*kg ingest --force"):
        VectorIndex.load(tmp_path, None, 32)


def test_missing_or_damaged_files_are_store_errors(tmp_path, fake_vectors):
    with pytest.raises(StoreError, match="missing.*kg ingest --force"):
        VectorIndex.load(tmp_path, "m")
    VectorIndex.build(fake_vectors).save(tmp_path, "m")
    data = (tmp_path / INDEX_FILE).read_bytes()
    (tmp_path / INDEX_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError, match="truncated or replaced"):
        VectorIndex.load(tmp_path, "m")
    (tmp_path / META_FILE).write_text("{not json")
    with pytest.raises(StoreError, match="cannot be read"):
        VectorIndex.load(tmp_path, "m")
    (tmp_path / META_FILE).write_text(json.dumps({"model": "m", "format_version": 99, "index_type": "flat"}))
    with pytest.raises(StoreError, match="cannot read"):
        VectorIndex.load(tmp_path, "m")


def test_settings_defaults_match_the_module_defaults():
    settings = Settings(model=Settings.model_fields["model"].default)  # tests run with KG_MODEL=fake
    assert settings.model == "openvino-int8"  # the bundled all-MiniLM-L6-v2, on OpenVINO int8
    assert settings.hnsw_threshold == vectors_module.DEFAULT_HNSW_THRESHOLD
    assert settings.half_threshold == vectors_module.DEFAULT_HALF_THRESHOLD
    assert settings.hnsw_m == vectors_module.DEFAULT_HNSW_M
    assert settings.hnsw_ef_construction == vectors_module.DEFAULT_HNSW_EF_CONSTRUCTION
    assert settings.hnsw_ef_search == vectors_module.DEFAULT_HNSW_EF_SEARCH


# -- recall on real embeddings ----------------------------------------------------------------

_CLAUSE = re.compile(r"(?<=[。．！？!?])|(?<=\.)\s+|[：:；;、,，]\s*")


def glossary_passages(corpus) -> list[str]:
    """Every definition line of the corpus, its clauses, and every label: a few thousand real texts."""
    from ingest import ingest_paths

    texts: list[str] = []
    for concept in ingest_paths([corpus]).concepts:
        texts += [label.text for label in concept.labels]
        for line in concept.definition_text.splitlines():
            line = line.strip(" -*\t")
            texts += [part for part in [line, *(p.strip(" -*\t") for p in _CLAUSE.split(line))] if len(part) >= 8]
    return list(dict.fromkeys(texts))


@pytest.mark.slow
def test_hnsw_recall_on_real_embeddings(linked_corpus):
    texts = glossary_passages(linked_corpus)
    assert len(texts) >= 2000
    embeddings = get_encoder(None).encode(texts, batch_size=64)
    # Held-out texts as queries: none of them is in the index, as with a user's question.
    order = np.random.default_rng(0).permutation(len(texts))
    held_out = len(texts) // 8
    queries, data = embeddings[order[:held_out]], embeddings[order[held_out:]]

    exact = VectorIndex.build(data, kind="flat")
    approximate = VectorIndex.build(data, kind="auto", hnsw_threshold=0)  # the default parameters
    assert approximate.index_type == "hnsw"
    _, truth = exact.search(queries, 10)
    _, found = approximate.search(queries, 10)
    recall = recall_at(found, truth)

    def p50_ms(index: VectorIndex) -> float:
        times = []
        for query in queries[:200]:
            start = time.perf_counter()
            index.search(query, 10)
            times.append(time.perf_counter() - start)
        return 1000 * float(np.median(times))

    print(f"\n{len(data)} vectors, {len(queries)} queries: HNSW recall@10 {recall:.4f} {approximate.params}; "
          f"search p50 exact {p50_ms(exact):.3f} ms, HNSW {p50_ms(approximate):.3f} ms")
    assert recall >= 0.95


def test_ivf_recall_grows_with_lists_probed_and_every_row_is_filled(tmp_path):
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((40, 32))
    data = (centres[rng.integers(0, 40, 6000)] + 0.3 * rng.standard_normal((6000, 32))).astype(np.float32)
    queries = (centres[rng.integers(0, 40, 60)] + 0.3 * rng.standard_normal((60, 32))).astype(np.float32)
    normalized = data / np.linalg.norm(data, axis=1, keepdims=True)
    _, truth = brute_force(normalized, queries / np.linalg.norm(queries, axis=1, keepdims=True), 10)
    recalls = []
    lists = min(ivf_lists(len(data)), len(data) // 39)  # at most as many lists as faiss can train
    assert lists == 153
    for nprobe in (1, 8, lists):
        index = VectorIndex.build(data, kind="ivf", nprobe=nprobe)
        assert index.index_type == "ivf" and index.params == {"nlist": lists, "nprobe": nprobe}
        _, rows = index.search(queries, 10)
        assert (rows >= 0).all()
        recalls.append(recall_at(rows, truth))
    assert recalls[0] < recalls[1] <= recalls[2] and recalls[2] > 0.99  # every list probed: exact
    # auto picks IVF from ivf_threshold on; it saves, loads and reconstructs like the others.
    auto = VectorIndex.build(data, ivf_threshold=5000, hnsw_threshold=1000)
    assert auto.index_type == "ivf" and auto.params["nprobe"] == lists // 16
    auto.save(tmp_path, "test-model")
    loaded = VectorIndex.load(tmp_path, expected_model="test-model")
    assert loaded.index_type == "ivf" and loaded.params == auto.params
    assert np.array_equal(loaded.search(queries, 5)[1], auto.search(queries, 5)[1])
    assert np.allclose(loaded.reconstruct([0, 7]), normalized[[0, 7]], atol=1e-6)
