"""Dense retrieval: what text of a concept is embedded, the FAISS index over it, query encoding.

all-MiniLM-L6-v2 is an English model and most definitions are Japanese, so each
concept is embedded through English: its labels (most concepts have an English
one) and its definition glossed word by word into English with JMdict
(``kg.search.gloss``). Japanese queries are glossed the same way. A concept may have
several passages; its score is the best of them. The layout was chosen by
measurement (``kg eval``; see README, "Search quality").
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kg.cache import LRUCache
from kg.errors import StoreError
from kg.labels import detect_lang, text_lang
from kg.search.encoders import EmbeddingCache, get_encoder
from kg.search.encoders.cache import encode_cached
from kg.search.vectors import VectorIndex
from kg.text import BULLET, plain_lines

if TYPE_CHECKING:
    from kg.glossary import Glossary
    from kg.search.encoders import Encoder
    from kg.search.gloss import JapaneseGlosser

PASSAGES_FILE = "passages.json"
#: Bump when ``concept_passages`` changes what is embedded: stores are then re-embedded.
PASSAGE_LAYOUT = 2  # 2: the definition cut at _EMBEDDED_CHARS
_SNIPPET_SOURCE_CHARS = 400
#: Characters of a definition embedded, far beyond the 256 word pieces the model reads
#: (the longest definition of the corpus has 2,600): glossing a one-line definition of
#: 20 MB took 27 s and 1.8 GB, to be cut by the tokenizer.
_EMBEDDED_CHARS = 10_000


@dataclass(frozen=True)
class Passage:
    """One embedded text of a concept. ``shown`` is what a snippet quotes; ``text`` is embedded."""

    concept_id: str
    kind: str  # "labels" | "definition"
    text: str
    shown: str
    lang: str


def _first_sentences(text: str, limit: int = _SNIPPET_SOURCE_CHARS) -> str:
    lines = [line.strip().removeprefix(BULLET) for line in plain_lines(text)]
    out = ""
    for line in lines:
        if len(out) + len(line) > limit:
            break
        out += line + "\n"
    return out.strip() or text[:limit]


def concept_passages(glossary: Glossary, glosser: JapaneseGlosser | None) -> list[Passage]:
    """One passage per concept: all its labels, then its definition glossed into English.

    Measured against richer layouts (a separate labels passage, one passage per
    definition line, the English labels of linked terms appended): none beat this
    on both the dev queries and our own probe set, and one vector per concept keeps
    the index small. Definitions in English are embedded as they are.
    """
    gloss = glosser.gloss if glosser is not None else (lambda text: text)
    passages: list[Passage] = []
    for concept in glossary.concepts.values():
        labels = "; ".join(l.text for l in concept.labels)
        definition = concept.definition_text
        lang = text_lang(definition) if definition else (concept.labels[0].lang if concept.labels else "en")
        embedded = definition[:_EMBEDDED_CHARS]
        body = gloss(embedded) if embedded and lang == "ja" else embedded
        text = f"{labels}. {body}" if body else labels
        shown = _first_sentences(definition, _SNIPPET_SOURCE_CHARS) if definition else labels
        passages.append(Passage(concept.id, "definition" if definition else "labels", text, shown, lang))
    return passages


def prepare_query(query: str, glosser: JapaneseGlosser | None) -> str:
    """The text embedded for a query: Japanese is glossed into English like the passages."""
    if glosser is not None and detect_lang(query) == "ja":
        glossed = glosser.gloss(query)
        return glossed or query
    return query


class SemanticIndex:
    """Passages of every concept, their vectors in a FAISS index, and the encoder for queries."""

    def __init__(self, passages: list[Passage], index, encoder: Encoder, glosser: JapaneseGlosser | None) -> None:
        self.passages = passages
        self.index = index
        self.encoder = encoder
        self.glosser = glosser
        self._queries = LRUCache(2048)  # a repeated query skips the encoder

    @classmethod
    def build(
        cls,
        glossary: Glossary,
        encoder: Encoder,
        glosser: JapaneseGlosser | None = None,
        cache: EmbeddingCache | None = None,
        hnsw: dict[str, int] | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = 64,
    ) -> SemanticIndex:
        """Embed every concept's passages (only texts not already in ``cache``) and index them."""
        passages = concept_passages(glossary, glosser)
        texts = [p.text for p in passages]
        vectors = encode_cached(encoder, texts, cache, batch_size=batch_size, progress=progress)
        index = VectorIndex.build(np.asarray(vectors, dtype="float32"), **(hnsw or {}))
        return cls(passages, index, encoder, glosser)

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the index and passages into ``directory``; returns manifest entries."""
        self.index.save(directory, self.encoder.name)
        (directory / PASSAGES_FILE).write_text(
            json.dumps([asdict(p) for p in self.passages], ensure_ascii=False), encoding="utf-8"
        )
        return {"model": self.encoder.name, "dimension": self.encoder.dimension, "passages": len(self.passages)}

    @classmethod
    def load(cls, directory: Path, encoder: Encoder, glosser: JapaneseGlosser | None,
             ef_search: int | None = None) -> SemanticIndex:
        """Open a saved index; refused (StoreError) when it was built with another model."""
        index = VectorIndex.load(directory, expected_model=encoder.name, expected_dimension=encoder.dimension,
                                 ef_search=ef_search)
        try:
            records = json.loads((directory / PASSAGES_FILE).read_text(encoding="utf-8"))
            passages = [Passage(**record) for record in records]
        except (OSError, ValueError, TypeError) as error:
            raise StoreError(
                f"{directory / PASSAGES_FILE} cannot be read ({error}): re-run `kg ingest --force`",
                file=str(directory / PASSAGES_FILE),
            ) from error
        return cls(passages, index, encoder, glosser)

    def query_vector(self, query: str) -> np.ndarray:
        text = prepare_query(query, self.glosser)
        return self._queries.get(text, lambda: self.encoder.encode([text])[0])

    def search(self, query: str, k: int = 10) -> list[tuple[str, float, Passage]]:
        """Concepts by their best passage's cosine similarity to the query: (id, score, passage)."""
        if not self.passages or k < 1:
            return []
        vector = self.query_vector(query)
        # Several passages per concept: ask for more rows than concepts wanted.
        scores, rows = self.index.search(vector[None, :], min(len(self.passages), k * 4))
        best: dict[str, tuple[float, Passage]] = {}
        for score, row in zip(scores[0], rows[0], strict=True):
            passage = self.passages[int(row)]
            if passage.concept_id not in best or score > best[passage.concept_id][0]:
                best[passage.concept_id] = (float(score), passage)
        ranked = sorted(best.items(), key=lambda item: -item[1][0])[:k]
        return [(cid, score, passage) for cid, (score, passage) in ranked]


def hnsw_params(settings) -> dict[str, int]:
    """The index-building settings, as ``VectorIndex.build`` takes them."""
    return {
        "half_threshold": settings.half_threshold,
        "hnsw_threshold": settings.hnsw_threshold,
        "ivf_threshold": settings.ivf_threshold,
        "nprobe": settings.ivf_nprobe or None,
        "m": settings.hnsw_m,
        "ef_construction": settings.hnsw_ef_construction,
        "ef_search": settings.hnsw_ef_search,
    }


_glossers: dict[str, JapaneseGlosser] = {}
_glossers_lock = threading.Lock()


def glosser_for(settings) -> JapaneseGlosser | None:
    """The process-wide glosser (thread-safe, loads its dictionaries once), or None when off."""
    if not settings.gloss_japanese:
        return None
    with _glossers_lock:
        if "default" not in _glossers:
            # heavy: kg.search.gloss and its JMdict tables add ~9 ms to `kg` start-up
            from kg.search.gloss import JapaneseGlosser

            _glossers["default"] = JapaneseGlosser()
        return _glossers["default"]


def build_into(directory: Path, result, settings, progress=None, glossary: Glossary | None = None) -> dict[str, Any]:
    """Embed an ingest result and save its dense index into a store version being built.

    Only texts missing from the embedding cache (``settings.embedding_cache_dir``) are
    encoded, so re-ingesting after a small edit encodes only the concepts that changed.

    Returns:
        Manifest entries: model, dimension, index type, passages, cache hits and misses.
    """

    encoder = get_encoder(settings.model)
    # a cycle: kg.glossary imports this module (via kg.search.engine)
    from kg.glossary import Glossary

    glossary = glossary or Glossary.from_ingest(result, settings)
    encode_progress = None
    if progress is not None:

        def encode_progress(done: int, total: int) -> None:
            progress(done, total, "embedding")

    with EmbeddingCache(settings.embedding_cache_dir) as cache:
        index = SemanticIndex.build(
            glossary,
            encoder,
            glosser_for(settings),
            cache=cache,
            hnsw=hnsw_params(settings),
            progress=encode_progress,
            batch_size=settings.encode_batch_size,
        )
        stats = cache.last
    entries = index.save(directory)
    entries.update(
        {
            "index_type": index.index.index_type,
            "encoded": stats.misses if stats else None,
            "from_cache": stats.hits if stats else None,
        }
    )
    return entries
