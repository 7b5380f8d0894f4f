"""A persistent embedding cache, so a re-ingest encodes only the texts that changed."""
from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kg.search.encoders.base import EncodeProgress, Encoder

log = logging.getLogger(__name__)

FILE_NAME = "embeddings.sqlite3"
_SCHEMA_VERSION = 1
_CHUNK = 500  # keys per SELECT: well under SQLite's limit on bound parameters
_LE_FLOAT32 = np.dtype("<f4")  # fixed byte order, so a cache copied between machines still reads


@dataclass
class CacheStats:
    """Distinct texts served from the cache (``hits``) and encoded anew (``misses``)."""

    hits: int = 0
    misses: int = 0


def text_key(text: str) -> str:
    """The cache key of a text: the SHA-256 of its UTF-8 bytes, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors keyed by (encoder name, SHA-256 of the text), in ``DIRECTORY/embeddings.sqlite3``.

    SQLite in WAL mode: every write is one transaction, so a writer killed half-way
    leaves the cache as it was before that write; readers never block on a writer,
    and concurrent writers wait for each other. Vectors are raw little-endian float32
    bytes (no pickle). The cache is disposable: a file that cannot be opened or is
    corrupt is moved aside (``*.corrupt-<time>``) and started afresh, and if even that
    fails the cache turns itself off (``enabled`` is False) with a warning, so an
    ingest never fails because of it.

    ``stats`` counts over the cache's life, ``last`` over the latest ``encode_cached``.
    """

    def __init__(self, directory: Path | str) -> None:
        self.path = Path(directory).expanduser() / FILE_NAME
        self.stats = CacheStats()
        self.last = CacheStats()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except (sqlite3.DatabaseError, OSError) as error:
            log.warning("embedding cache %s is unreadable (%s): starting a new one", self.path, error)
            try:
                self._set_aside()
                self._db = self._open()
            except (sqlite3.DatabaseError, OSError) as again:
                log.warning("embedding cache %s disabled: %s", self.path, again)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are opened explicitly below, nothing implicit.
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: a crash loses at most the last write
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                db.execute("DROP TABLE IF EXISTS embeddings")  # a cache: rebuilding it is always safe
            db.execute("CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, key TEXT NOT NULL, "
                       "dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID")
            db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            db.execute("SELECT count(*) FROM embeddings").fetchone()  # fail now on a corrupt file
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            path = self.path.with_name(self.path.name + suffix)
            if path.exists():
                path.rename(path.with_name(f"{path.name}.corrupt-{stamp}"))

    def get_many(self, model: str, dimension: int, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys`` for ``model``; anything unreadable counts as absent."""
        # In key order, as the table's B-tree keeps them: 3 times faster than the texts' order
        # for 100,000 keys (SHA-256 keys are otherwise scattered over every page).
        keys = sorted(set(keys))
        found: dict[str, np.ndarray] = {}
        if self._db is None:
            return found
        try:
            with self._lock:
                for start in range(0, len(keys), _CHUNK):
                    chunk = keys[start:start + _CHUNK]
                    rows = self._db.execute(
                        f"SELECT key, dim, vector FROM embeddings WHERE model = ? AND key IN "
                        f"({','.join('?' * len(chunk))})", [model, *chunk]).fetchall()
                    for key, dim, blob in rows:
                        if dim == dimension and len(blob) == dimension * _LE_FLOAT32.itemsize:
                            found[key] = np.frombuffer(blob, dtype=_LE_FLOAT32)
        except sqlite3.DatabaseError as error:
            log.warning("embedding cache %s could not be read (%s): encoding without it", self.path, error)
            return {}
        return found

    def put_many(self, model: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        """Store ``(key, vector)`` pairs for ``model`` in one transaction (all or nothing)."""
        if self._db is None or not items:
            return
        # Inserted in key order: each page of the B-tree is filled once, 2.5 times faster than
        # random order for 100,000 vectors.
        rows = [(model, key, int(vector.shape[0]), np.ascontiguousarray(vector, dtype=_LE_FLOAT32).tobytes())
                for key, vector in sorted(items, key=lambda item: item[0])]
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)", rows)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as error:
            log.warning("embedding cache %s could not be written (%s): vectors not cached", self.path, error)

    def retain(self, model: str, keys: Iterable[str]) -> int:
        """Delete ``model``'s vectors whose key is not in ``keys``; returns how many were deleted.

        Call after an ingest with the keys of the texts now in use, so the cache does not
        grow with every edit.
        """
        if self._db is None:
            return 0
        keep = [(key,) for key in set(keys)]
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute("CREATE TEMP TABLE IF NOT EXISTS keep_keys (key TEXT PRIMARY KEY)")
                    self._db.execute("DELETE FROM keep_keys")
                    self._db.executemany("INSERT OR IGNORE INTO keep_keys VALUES (?)", keep)
                    deleted = self._db.execute(
                        "DELETE FROM embeddings WHERE model = ? AND key NOT IN (SELECT key FROM keep_keys)",
                        [model]).rowcount
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as error:
            log.warning("embedding cache %s could not be pruned (%s)", self.path, error)
            return 0
        return deleted

    def count(self, model: str | None = None) -> int:
        """How many vectors are cached (for ``model``, or for all models)."""
        if self._db is None:
            return 0
        with self._lock:
            if model is None:
                return self._db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
            return self._db.execute("SELECT count(*) FROM embeddings WHERE model = ?", [model]).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path.parent)!r})"


def encode_cached(encoder: Encoder, texts: Sequence[str], cache: EmbeddingCache | None, batch_size: int = 64,
                  progress: EncodeProgress | None = None) -> np.ndarray:
    """``encoder.encode(texts)``, taking what it can from ``cache`` and storing what it had to encode.

    Args:
        encoder: its ``name`` and ``dimension`` key the cache.
        texts: the texts; duplicates are encoded once.
        cache: None encodes everything.
        batch_size, progress: passed to ``encoder.encode`` for the texts not cached
            (``progress`` counts those only).

    Returns:
        The same array ``encoder.encode(texts)`` would return. ``cache.last`` then holds
        the distinct texts found (hits) and encoded (misses).
    """
    if isinstance(texts, str):
        raise TypeError("encode_cached() takes a list of texts, not a single str")
    texts = list(texts)
    if cache is None:
        return encoder.encode(texts, batch_size=batch_size, progress=progress)
    keys = [text_key(text) for text in texts]
    found = cache.get_many(encoder.name, encoder.dimension, keys)
    missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in found}
    if missing:
        fresh = encoder.encode(list(missing.values()), batch_size=batch_size, progress=progress)
        new = list(zip(missing, fresh, strict=True))
        cache.put_many(encoder.name, new)
        found.update(new)
    cache.last = CacheStats(hits=len(set(keys)) - len(missing), misses=len(missing))
    cache.stats.hits += cache.last.hits
    cache.stats.misses += cache.last.misses
    out = np.empty((len(texts), encoder.dimension), dtype=np.float32)
    for row, key in enumerate(keys):
        out[row] = found[key]
    return out
