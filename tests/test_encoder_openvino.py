"""The OpenVINO encoder backends (KG_MODEL=openvino-int8): exported offline once, close to torch."""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from kg.errors import ConfigurationError
from kg.search.encoders import get_encoder, resolve_spec
from kg.search.encoders.openvino import load

TEXTS = ["勾配降下法", "how do I stop a model from overfitting?", "Deep Learning. " + "many layers " * 300, "LLM"]


def test_specs_name_the_backend():
    assert resolve_spec("openvino-int8") == ("openvino-int8", "")
    assert resolve_spec("openvino:all-MiniLM-L6-v2") == ("openvino", "")


def test_missing_openvino_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(ConfigurationError, match=r"pip install -e \. .*KG_MODEL=default"):
        load("openvino-int8", "", cache_dir=tmp_path)


def test_only_local_model_directories_are_converted(tmp_path):
    with pytest.raises(ConfigurationError, match="not a local sentence-transformers model directory"):
        load("openvino-int8", str(tmp_path / "nowhere"), cache_dir=tmp_path)


@pytest.mark.slow
def test_int8_export_is_cached_and_close_to_torch(tmp_path):
    encoder = load("openvino-int8", "", cache_dir=tmp_path)
    assert encoder.name == "sentence-transformers/all-MiniLM-L6-v2+openvino-int8" and encoder.dimension == 384
    assert sys.modules.get("openvino_telemetry") is None  # never phones home
    exports = list(tmp_path.iterdir())
    assert len(exports) == 1 and (exports[0] / "model.xml").exists()
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    reference = get_encoder("default").encode(TEXTS)
    assert (vectors * reference).sum(axis=1).min() > 0.99  # int8 weights: near, not equal

    again = load("openvino-int8", "", cache_dir=tmp_path)  # reuses the export
    assert list(tmp_path.iterdir()) == exports
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(again.encode(TEXTS))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and all(np.allclose(r, vectors, atol=1e-5) for r in results)
