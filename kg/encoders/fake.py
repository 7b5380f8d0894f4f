"""A deterministic hashing encoder: no model, no torch, for tests and quick trials."""
from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

import numpy as np

from kg.encoders.base import EncodeProgress, Encoder

DEFAULT_DIMENSION = 256

_WORD = re.compile(r"\w+")
# Words carry most of the meaning; 3-grams make inflections and unspaced Japanese overlap.
_WORD_WEIGHT = 1.0
_GRAM_WEIGHT = 0.5


class FakeEncoder(Encoder):
    """Signed feature hashing of word unigrams and character 3-grams (NFKC, lowercased).

    The same text always gives the same vector, in every process and on every
    machine (blake2b, not Python's salted ``hash()``), and texts that share words
    score higher than texts that share none. Named ``fake-hashing-<dimension>``.
    """

    def __init__(self, dimension: int = DEFAULT_DIMENSION) -> None:
        if not 2 <= dimension <= 65536:
            raise ValueError(f"dimension must be between 2 and 65536, got {dimension}")
        self.dimension = dimension
        self.name = f"fake-hashing-{dimension}"

    def _encode(self, texts: list[str], batch_size: int, progress: EncodeProgress | None) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for feature, weight in features(text):
                slot, sign = _slot(feature, self.dimension)
                out[i, slot] += sign * weight
            if progress is not None and ((i + 1) % batch_size == 0 or i + 1 == len(texts)):
                progress(i + 1, len(texts))
        return out


def features(text: str) -> list[tuple[str, float]]:
    """The weighted features of ``text``.

    >>> [f for f, _ in features("Ａ Bc")]
    ['w:a', 'w:bc', 'g:a b', 'g: bc']
    """
    words = _WORD.findall(unicodedata.normalize("NFKC", text).lower())
    joined = " ".join(words)
    result = [("w:" + word, _WORD_WEIGHT) for word in words]
    result += [("g:" + joined[i:i + 3], _GRAM_WEIGHT) for i in range(len(joined) - 2)]
    return result


@functools.lru_cache(maxsize=1 << 16)
def _slot(feature: str, dimension: int) -> tuple[int, float]:
    digest = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")
    # The top bit picks the sign, so colliding features cancel out on average instead of piling up.
    return digest % dimension, (1.0 if digest >> 63 else -1.0)
