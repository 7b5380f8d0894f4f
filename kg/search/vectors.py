"""The semantic index: FAISS inner product over L2-normalised vectors (cosine), saved with what built it."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from kg.errors import ConfigurationError, StoreError
from kg.search.encoders.base import normalize

INDEX_FILE = "vectors.faiss"
META_FILE = "vectors.json"
FORMAT_VERSION = 1

# Below this many vectors exact search is exact and still fast: one 384-d query took 0.6 ms
# over 10k vectors, 1.3 ms over 20k and 4.6 ms over 50k (11 ms over 100k) on the 2-core
# reference machine, against about 1 ms for HNSW at any of those sizes.
DEFAULT_HALF_THRESHOLD = 50_000
# From there, exact search over vectors kept as 16-bit floats: a scan reads half the bytes.
# Over 100k vectors one query took 3.1 ms (384-d) and 2.7 ms (256-d) with recall@10 0.999
# against float32, and it builds in 0.1 s. HNSW (M=32, efConstruction=200) took 83 s to
# build over the 100k fake vectors of the scale benchmark and found 0.67 of their 10
# nearest at efSearch 128: spread-out vectors are its worst case.
DEFAULT_HNSW_THRESHOLD = 200_000
# Recall@10 against exact search on real all-MiniLM-L6-v2 embeddings of the glossary corpus
# (tests/test_vectors.py) with M=32, efConstruction=200: efSearch 32 -> 0.97, 64 -> 0.99,
# 128 -> 0.996. efSearch is the knob: queries stay near 1 ms at 128.
DEFAULT_HNSW_M = 32
DEFAULT_HNSW_EF_CONSTRUCTION = 200
DEFAULT_HNSW_EF_SEARCH = 128

# Searches of at most this many queries run on one thread (see _serial_if).
SERIAL_QUERIES = 16

# From this many vectors on, an inverted file (IVF) replaces HNSW: on a million fake
# vectors HNSW (M=32, efConstruction=200) took 16 minutes to build and reached recall@10
# 0.61 at efSearch 128, where IVF with 4,096 lists built in 59 s and, probing 256 of them,
# reached 0.964 at 12 ms p50 (1,024 lists: 7 s to build, 0.937 at 11 ms probing 64).
DEFAULT_IVF_THRESHOLD = 500_000
IVF_TRAINING_PER_LIST = 64  # training vectors per list (faiss advises 30 to 256)

IndexKind = Literal["auto", "flat", "flat16", "hnsw", "ivf"]
KINDS = ("flat", "flat16", "hnsw", "ivf")


def ivf_lists(count: int) -> int:
    """Lists of an inverted file over ``count`` vectors: about 4 sqrt(n), a power of two.

    >>> ivf_lists(1_000_000), ivf_lists(500_000)
    (4096, 2048)
    """
    return 1 << max(4, round(np.log2(4 * np.sqrt(max(count, 1)))))


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as error:  # a core dependency, but say how to get it back
        raise ConfigurationError(f"faiss cannot be imported ({error}): run `pip install faiss-cpu`") from error
    return faiss


class VectorIndex:
    """Nearest neighbours by cosine similarity; rows are positions in the vectors it was built from.

    Build with ``VectorIndex.build``, open a saved one with ``VectorIndex.load``.
    Searching is thread-safe (per-call search parameters, no shared state changed).
    """

    def __init__(self, index: Any, index_type: str, params: dict[str, int], model: str | None = None) -> None:
        self._index = index
        self.index_type = index_type
        self.params = dict(params)
        self.model = model  # the encoder name, when loaded from disk

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"VectorIndex({self.index_type}, count={self.count}, dimension={self.dimension})"

    @classmethod
    def build(cls, vectors: np.ndarray, kind: IndexKind = "auto", hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
              *, half_threshold: int = DEFAULT_HALF_THRESHOLD, m: int = DEFAULT_HNSW_M,
              ef_construction: int = DEFAULT_HNSW_EF_CONSTRUCTION,
              ef_search: int = DEFAULT_HNSW_EF_SEARCH, ivf_threshold: int = DEFAULT_IVF_THRESHOLD,
              nprobe: int | None = None) -> VectorIndex:
        """Index ``vectors`` (one row per item; row i is answered as i).

        Args:
            vectors: shape ``(n, dimension)``; rows are L2-normalised here (zero rows stay zero),
                so scores are cosine similarities whatever the caller passed.
            kind: ``flat`` (exact), ``flat16`` (exact over vectors stored as 16-bit floats:
                half the memory and scan time), ``hnsw`` (approximate, fast on large sets), ``ivf``
                (an inverted file: approximate, quick to build on very large sets) or ``auto``:
                flat below ``half_threshold`` vectors, flat16 below ``hnsw_threshold``, HNSW
                below ``ivf_threshold``, IVF from there.
            half_threshold, hnsw_threshold: see ``kind``.
            m, ef_construction, ef_search: HNSW graph degree, build-time and query-time
                beam widths (larger: better recall, slower).
            nprobe: IVF lists searched per query (default a sixteenth of them).

        Returns:
            The index; ``index_type`` says which was chosen.
        """
        faiss = _faiss()
        vectors = _as_matrix(vectors)
        if kind != "auto" and kind not in KINDS:
            raise ValueError(f"kind must be auto, {', '.join(KINDS)}, not {kind!r}")
        if kind == "auto":
            size = len(vectors)
            kind = "ivf" if size >= ivf_threshold else "hnsw" if size >= hnsw_threshold else \
                "flat16" if size >= half_threshold else "flat"
        dimension = vectors.shape[1]
        if kind == "flat":
            index, params = faiss.IndexFlatIP(dimension), {}
        elif kind == "flat16":
            index = faiss.IndexScalarQuantizer(dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
            params = {}
        elif kind == "ivf":
            lists = min(ivf_lists(len(vectors)), max(1, len(vectors) // 39))  # faiss wants 39 points a list
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
            sample = min(len(vectors), IVF_TRAINING_PER_LIST * lists)
            rows = np.random.default_rng(0).choice(len(vectors), sample, replace=False) if sample < len(vectors) \
                else slice(None)
            index.train(vectors[rows])
            params = {"nlist": lists, "nprobe": int(nprobe or max(1, lists // 16))}
            index.nprobe = params["nprobe"]
        else:
            index = faiss.IndexHNSWFlat(dimension, m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
            params = {"M": m, "efConstruction": ef_construction, "efSearch": ef_search}
        index.add(vectors)
        if kind == "ivf":
            index.make_direct_map()  # reconstruct(row) for related terms
        return cls(index, kind, params)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most similar rows for each query, best first.

        Args:
            queries: one vector ``(dimension,)`` or a matrix ``(nq, dimension)``; normalised here.
            k: results wanted; more than the index holds gives all of them, 0 gives none.

        Returns:
            ``(scores, rows)``: float32 cosine similarities and int64 row numbers, of shape
            ``(min(k, count),)`` for one vector or ``(nq, min(k, count))`` for a matrix. Never
            ``-1``: a query HNSW could not fill (a rare disconnected graph region) is answered
            by exact search instead.
        """
        single = np.ndim(queries) == 1
        matrix = _as_matrix(np.atleast_2d(queries))
        if matrix.shape[1] != self.dimension:
            raise ValueError(f"queries have dimension {matrix.shape[1]}, the index {self.dimension}")
        k = max(0, min(int(k), self.count))
        if k == 0 or len(matrix) == 0:
            scores, rows = np.zeros((len(matrix), k), np.float32), np.zeros((len(matrix), k), np.int64)
        else:
            with _serial_if(len(matrix) <= SERIAL_QUERIES):
                scores, rows = self._search(matrix, k)
        return (scores[0], rows[0]) if single else (scores, rows)

    def _search(self, matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.index_type in ("flat", "flat16"):
            return self._index.search(matrix, k)
        faiss = _faiss()
        if self.index_type == "ivf":
            lists = self.params.get("nlist", 1)
            params = faiss.SearchParametersIVF(nprobe=min(lists, self.params.get("nprobe", 1)))
            scores, rows = self._index.search(matrix, k, params=params)
            short = np.flatnonzero((rows < 0).any(axis=1))
            if len(short):  # the probed lists held fewer than k vectors: probe them all
                every = faiss.SearchParametersIVF(nprobe=lists)
                scores[short], rows[short] = self._index.search(matrix[short], k, params=every)
            return scores, rows
        # efSearch below k cannot return k results; passed per call so that threads never race.
        params = faiss.SearchParametersHNSW(efSearch=max(self.params.get("efSearch", k), k))
        scores, rows = self._index.search(matrix, k, params=params)
        short = np.flatnonzero((rows < 0).any(axis=1))
        if len(short):
            exact = faiss.downcast_index(self._index.storage)
            scores[short], rows[short] = exact.search(matrix[short], k)
        return scores, rows

    # -- on disk ------------------------------------------------------------------------

    def reconstruct(self, rows) -> np.ndarray:
        """The stored (normalised) vectors of ``rows``, one row each."""
        return np.vstack([self._index.reconstruct(int(r)) for r in rows])

    def save(self, directory: Path | str, model_name: str) -> None:
        """Write ``vectors.faiss`` and ``vectors.json`` (what built it) into ``directory``.

        Meant for a store version's staging directory, which is published by renaming it;
        files are fsync'ed so that rename never publishes a partial index after a crash.
        """
        faiss = _faiss()
        directory = Path(directory)
        data = faiss.serialize_index(self._index).tobytes()
        meta = {
            "format_version": FORMAT_VERSION,
            "model": model_name,
            "dimension": self.dimension,
            "index_type": self.index_type,
            "count": self.count,
            "metric": "inner_product",
            "normalized": True,
            "params": self.params,
            "built_with": {"faiss": faiss.__version__},
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        _write_file(directory / INDEX_FILE, data)
        _write_file(directory / META_FILE, json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8"))

    @staticmethod
    def read_meta(directory: Path | str) -> dict[str, Any]:
        """The ``vectors.json`` of a saved index.

        Raises:
            StoreError: it is missing or unreadable.
        """
        path = Path(directory) / META_FILE
        try:
            meta = json.loads(path.read_bytes())
        except FileNotFoundError as error:
            raise StoreError(f"{path} is missing: the store has no semantic index, re-run `kg ingest --force`",
                             file=str(path)) from error
        except (OSError, ValueError) as error:
            raise StoreError(f"{path} cannot be read ({error}): re-run `kg ingest --force`",
                             file=str(path)) from error
        if not isinstance(meta, dict):
            raise StoreError(f"{path} is not an index description: re-run `kg ingest --force`", file=str(path))
        return meta

    @classmethod
    def load(cls, directory: Path | str, expected_model: str | None = None,
             expected_dimension: int | None = None, *, ef_search: int | None = None) -> VectorIndex:
        """Open an index written by ``save``, refusing one built by another model.

        Args:
            directory: where ``save`` wrote it.
            expected_model: the encoder name queries will be embedded with (None: not checked).
            expected_dimension: that encoder's dimension (None: not checked).
            ef_search: overrides the saved HNSW query beam width.

        Raises:
            StoreError: files missing or corrupt, or built by another model or dimension
                (the message names both and says to re-run ``kg ingest --force``).
        """
        directory = Path(directory)
        meta = cls.read_meta(directory)
        built_by = meta.get("model")
        if expected_model is not None and built_by != expected_model:
            raise StoreError(
                f"the semantic index in {directory} was built with model {built_by!r}, but the configured "
                f"model is {expected_model!r}: re-run `kg ingest --force` to rebuild it with {expected_model!r}, "
                f"or set KG_MODEL={built_by} back", file=str(directory), index_model=built_by,
                model=expected_model)
        if expected_dimension is not None and meta.get("dimension") != expected_dimension:
            raise StoreError(
                f"the semantic index in {directory} has dimension {meta.get('dimension')} (model {built_by!r}), "
                f"the configured model {expected_model!r} gives {expected_dimension}: re-run "
                "`kg ingest --force`", file=str(directory), index_model=built_by, model=expected_model)
        if meta.get("format_version") != FORMAT_VERSION or meta.get("index_type") not in KINDS:
            raise StoreError(f"{directory / META_FILE} describes an index this version of kg cannot read "
                             f"(format {meta.get('format_version')}, type {meta.get('index_type')!r}): "
                             "re-run `kg ingest --force`", file=str(directory))
        path = directory / INDEX_FILE
        try:
            data = path.read_bytes()
        except OSError as error:
            raise StoreError(f"{path} cannot be read ({error}): re-run `kg ingest --force`",
                             file=str(path)) from error
        if meta.get("sha256") != hashlib.sha256(data).hexdigest():
            raise StoreError(f"{path} does not match {META_FILE} (truncated or replaced): "
                             "re-run `kg ingest --force`", file=str(path))
        faiss = _faiss()
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as error:  # faiss reports every read failure as RuntimeError
            raise StoreError(f"{path} cannot be read by faiss {faiss.__version__} ({error}): "
                             "re-run `kg ingest --force`", file=str(path)) from error
        if index.ntotal != meta.get("count") or index.d != meta.get("dimension"):
            raise StoreError(f"{path} holds {index.ntotal} vectors of dimension {index.d}, {META_FILE} says "
                             f"{meta.get('count')} of {meta.get('dimension')}: re-run `kg ingest --force`",
                             file=str(path))
        params = dict(meta.get("params") or {})
        if meta["index_type"] == "hnsw" and ef_search is not None:
            params["efSearch"] = int(ef_search)
        return cls(index, meta["index_type"], params, model=built_by)


@contextlib.contextmanager
def _serial_if(condition: bool) -> Iterator[None]:
    """Run faiss on one OpenMP thread in this block (the setting is per calling thread, so safe).

    For a few queries, waking a second thread costs more than it saves: on the 2-core
    reference machine under load, one 384-d query over 10k vectors took 0.6 ms on one
    thread and 16 ms on two.
    """
    if not condition:
        yield
        return
    faiss = _faiss()
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    """A normalised C-contiguous float32 copy of a 2-D array (what faiss needs)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("vectors contain NaN or infinity")
    return normalize(matrix)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
