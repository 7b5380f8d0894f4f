"""Encoders: the hashing fake, the registry, the real default model (slow) and the embedding cache."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import kg.search.encoders as encoders
from kg.errors import ConfigurationError
from kg.search.encoders import DEFAULT_MODEL, EmbeddingCache, Encoder, encode_cached, get_encoder, resolve_spec
from kg.search.encoders.cache import FILE_NAME, text_key
from kg.search.encoders.fake import FakeEncoder

ROOT = Path(__file__).resolve().parent.parent


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)  # rows are normalised


class CountingEncoder(FakeEncoder):
    """The fake encoder, remembering which texts it was asked to encode."""

    def __init__(self, dimension: int = 64) -> None:
        super().__init__(dimension)
        self.seen: list[str] = []

    def _encode(self, texts, batch_size, progress):
        self.seen.extend(texts)
        return super()._encode(texts, batch_size, progress)


# -- the fake encoder -------------------------------------------------------------------


def test_fake_vectors_are_normalised_float32_rows():
    encoder = FakeEncoder()
    vectors = encoder.encode(["Deep learning", "過学習を防ぐ", "a b c d e f"])
    assert encoder.name == "fake-hashing-256" and encoder.dimension == 256
    assert vectors.dtype == np.float32 and vectors.shape == (3, 256) and vectors.flags.c_contiguous
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_fake_is_deterministic_across_instances_and_processes():
    texts = ["Dropout prevents overfitting", "ドロップアウト", "Transformer"]
    first = FakeEncoder().encode(texts)
    assert np.array_equal(first, FakeEncoder().encode(texts))
    # Python's hash() is salted per process: a different seed must not change anything.
    code = ("import sys, numpy as np; from kg.search.encoders.fake import FakeEncoder; "
            f"sys.stdout.write(FakeEncoder().encode({texts!r}).tobytes().hex())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    assert bytes.fromhex(out) == first.tobytes()


def test_fake_similarity_follows_shared_words():
    encoder = get_encoder("fake")
    query, close, far = encoder.encode([
        "learning rate schedule for gradient descent",
        "gradient descent with a decaying learning rate",
        "video codec bitrate and motion vectors",
    ])
    assert cosine(query, close) > cosine(query, far) + 0.2
    ja_query, ja_close, ja_far = encoder.encode(["深層学習の過学習", "過学習と正則化", "動画コーデック"])
    assert cosine(ja_query, ja_close) > cosine(ja_query, ja_far)
    # NFKC and case folding: full-width and upper case letters are the same features.
    a, b = encoder.encode(["ＢＥＲＴ Model", "bert model"])
    assert cosine(a, b) == pytest.approx(1.0, abs=1e-6)


def test_encode_edge_cases():
    encoder = FakeEncoder(32)
    assert encoder.encode([]).shape == (0, 32)
    assert np.array_equal(encoder.encode([""]), np.zeros((1, 32), np.float32))  # no feature: stays zero
    with pytest.raises(TypeError, match="not a single str"):
        encoder.encode("one text")
    with pytest.raises(TypeError):
        encoder.encode(["ok", 3])
    calls = []
    encoder.encode([f"text {i}" for i in range(5)], batch_size=2, progress=lambda done, total: calls.append(done))
    assert calls == [2, 4, 5]


# -- the registry ---------------------------------------------------------------------------


def test_resolve_spec_aliases():
    for spec in (None, "", "default", "all-MiniLM-L6-v2", DEFAULT_MODEL, " sentence-transformers/all-minilm-l6-v2 "):
        assert resolve_spec(spec) == ("default", "")
    assert resolve_spec("fake") == resolve_spec("fake:256") == ("fake", "256")
    assert resolve_spec("fake:0064") == ("fake", "64")
    assert resolve_spec("/models/my-model") == ("sentence-transformers", "/models/my-model")


@pytest.mark.parametrize("spec", ["fake:", "fake:abc", "fake:1", "fake:100000"])
def test_bad_fake_spec_is_a_configuration_error(spec):
    with pytest.raises(ConfigurationError, match="fake:DIM"):
        get_encoder(spec)


def test_get_encoder_caches_per_spec():
    fake = get_encoder("fake")
    assert fake is get_encoder("fake:256") and isinstance(fake, Encoder)
    small = get_encoder("fake:16")
    assert small is not fake and small.dimension == 16 and small.name == "fake-hashing-16"


def test_concurrent_first_calls_load_once(monkeypatch):
    built = []

    def slow_factory(argument):
        time.sleep(0.2)  # long enough for every thread to arrive while loading
        built.append(argument)
        return FakeEncoder(int(argument))

    monkeypatch.setitem(encoders._BACKENDS, "fake", slow_factory)
    monkeypatch.setattr(encoders, "_loaded", {})  # an empty registry, restored afterwards
    results = []
    threads = [threading.Thread(target=lambda: results.append(get_encoder("fake:24"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["24"] and len(results) == 8 and all(r is results[0] for r in results)


def test_importing_encoders_and_using_the_fake_never_imports_torch():
    code = ("import sys; from kg.search.encoders import get_encoder; import kg.search.vectors; "
            "get_encoder('fake').encode(['x']); "
            "bad = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["no-such-org/no-such-model", "/nonexistent/model/dir"])
def test_unknown_model_says_how_to_provide_it(spec):
    with pytest.raises(ConfigurationError) as info:
        get_encoder(spec)
    message = info.value.message
    assert spec in message and "offline" in message and "local" in message and "pre-download" in message
    assert info.value.details["model"] == spec


# -- the real default model -------------------------------------------------------------------


@pytest.mark.slow
def test_default_model_loads_offline_and_embeds_meaningfully():
    encoder = get_encoder(None)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert encoder is get_encoder("default") is get_encoder("all-MiniLM-L6-v2") is get_encoder(DEFAULT_MODEL)
    assert encoder.name == DEFAULT_MODEL and encoder.dimension == 384
    vectors = encoder.encode([
        "How can I stop a neural network from overfitting?",
        "Dropout randomly disables units during training to reduce overfitting.",
        "A video codec compresses frames using motion compensation.",
    ])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.1


@pytest.mark.slow
def test_default_model_keeps_input_order_across_batches():
    # The backend sorts texts by length into batches: the rows must come back in input order.
    encoder = get_encoder(None)
    texts = ["short", "a much longer sentence about attention in transformers " * 3, "mid length text", "x" * 5]
    calls = []
    batched = encoder.encode(texts, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    one_by_one = np.vstack([encoder.encode([text]) for text in texts])
    assert np.allclose(batched, one_by_one, atol=1e-5)
    assert calls == [(2, 4), (4, 4)]


@pytest.mark.slow
def test_default_model_is_safe_to_share_between_threads():
    encoder = get_encoder(None)
    texts = [f"query number {i} about gradient descent and dropout" for i in range(8)]
    expected = encoder.encode(texts)
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            results[n] = np.vstack([encoder.encode([text]) for text in texts])
        except BaseException as error:  # reported below: an exception in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(np.allclose(found, expected, atol=1e-5) for found in results.values())


# -- the embedding cache ----------------------------------------------------------------------


def test_cache_second_call_encodes_nothing(tmp_path):
    encoder = CountingEncoder()
    texts = ["Dropout", "Overfitting", "過学習", "Dropout"]
    with EmbeddingCache(tmp_path) as cache:
        first = encode_cached(encoder, texts, cache)
        assert encoder.seen == ["Dropout", "Overfitting", "過学習"]  # the duplicate encoded once
        assert (cache.last.hits, cache.last.misses) == (0, 3)
        encoder.seen.clear()
        second = encode_cached(encoder, texts, cache)
        assert encoder.seen == [] and (cache.last.hits, cache.last.misses) == (3, 0)
        assert (cache.stats.hits, cache.stats.misses) == (3, 3)
    assert np.array_equal(first, second)
    assert np.array_equal(first, FakeEncoder(64).encode(texts))


def test_cache_encodes_only_changed_text_and_survives_reopen(tmp_path):
    encoder = CountingEncoder()
    with EmbeddingCache(tmp_path) as cache:
        encode_cached(encoder, ["alpha", "beta", "gamma"], cache)
    encoder.seen.clear()
    with EmbeddingCache(tmp_path) as reopened:
        vectors = encode_cached(encoder, ["alpha", "beta (edited)", "gamma"], reopened)
        assert encoder.seen == ["beta (edited)"]
        assert (reopened.last.hits, reopened.last.misses) == (2, 1)
        assert reopened.count(encoder.name) == 4
    assert np.array_equal(vectors, FakeEncoder(64).encode(["alpha", "beta (edited)", "gamma"]))


def test_cache_keys_by_model_name(tmp_path):
    with EmbeddingCache(tmp_path) as cache:
        small, large = CountingEncoder(16), CountingEncoder(32)
        encode_cached(small, ["same text"], cache)
        encode_cached(large, ["same text"], cache)
        assert small.seen == large.seen == ["same text"]
        assert cache.count() == 2 and cache.count(small.name) == 1


def test_cache_retain_prunes_unused_texts(tmp_path):
    encoder = CountingEncoder()
    with EmbeddingCache(tmp_path) as cache:
        encode_cached(encoder, ["kept", "dropped"], cache)
        encode_cached(FakeEncoder(16), ["other model"], cache)
        assert cache.retain(encoder.name, [text_key("kept")]) == 1
        assert cache.count(encoder.name) == 1 and cache.count() == 2


def test_no_cache_encodes_everything():
    encoder = CountingEncoder()
    encode_cached(encoder, ["a", "b"], None)
    encode_cached(encoder, ["a", "b"], None)
    assert encoder.seen == ["a", "b", "a", "b"]


def test_corrupt_cache_file_is_set_aside(tmp_path, caplog):
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with EmbeddingCache(tmp_path) as cache:
        assert cache.enabled
        encode_cached(CountingEncoder(), ["text"], cache)
        assert cache.count() == 1
    assert list(tmp_path.glob(f"{FILE_NAME}.corrupt-*"))
    assert "unreadable" in caplog.text


def test_unusable_cache_directory_disables_the_cache(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    cache = EmbeddingCache(blocker / "cache")
    assert not cache.enabled
    encoder = CountingEncoder()
    assert encode_cached(encoder, ["a"], cache).shape == (1, 64)
    assert encoder.seen == ["a"] and "disabled" in caplog.text


# A writer that stores batches in a loop until killed.
WRITER = """\
import sys, numpy as np
from kg.search.encoders.cache import EmbeddingCache
cache = EmbeddingCache(sys.argv[1])
rng = np.random.default_rng(0)
print("ready", flush=True)
batch = 0
while True:
    cache.put_many("m", [(f"{batch}-{i}", rng.standard_normal(64).astype("float32")) for i in range(2000)])
    batch += 1
"""


def test_killed_writer_leaves_a_consistent_cache(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # several transactions committed, one most likely in flight
        # A reader while the writer runs neither blocks nor sees a partial batch.
        with EmbeddingCache(tmp_path) as reader:
            assert reader.count("m") % 2000 == 0
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    database = sqlite3.connect(tmp_path / FILE_NAME)
    assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    database.close()
    with EmbeddingCache(tmp_path) as cache:
        count = cache.count("m")
        assert count > 0 and count % 2000 == 0  # whole batches only
        found = cache.get_many("m", 64, [f"0-{i}" for i in range(2000)])
        assert len(found) == 2000 and all(v.shape == (64,) for v in found.values())
