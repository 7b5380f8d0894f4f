"""Search: label lookup first, then dense, lexical or their fusion (the default)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kg.cache import LRUCache
from kg.errors import BadParameterError
from kg.labels import detect_lang
from kg.search.encoders import get_encoder
from kg.search.lexical import LabelMatcher, LexicalIndex
from kg.search.lexical_store import load_lexical
from kg.search.semantic import PASSAGES_FILE, SemanticIndex, glosser_for, hnsw_params
from kg.text import plain_text

if TYPE_CHECKING:
    from kg.glossary import Glossary

MODES = ("hybrid", "dense", "lexical")
MAX_QUERY_CHARS = 1000
MAX_K = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Hybrid = dense cosine + w * BM25 / best BM25 of the query. BM25 over character
# n-grams only helps when the query shares the definitions' script: for Japanese
# queries it lifted MRR@10 on 30 Japanese paraphrases from 0.62 to 0.86, for English
# queries over mostly Japanese definitions anything above a nudge hurt (dev set
# 0.79 -> 0.61 at w=0.5). Rank fusion (RRF) was worse than both. See README.
_LEXICAL_WEIGHT = {"ja": 0.5, "en": 0.05}
# Label hits outrank any fused score (cosine <= 1, lexical part <= 0.5).
_LABEL_BOOST = {"exact": 10.0, "prefix": 5.0, "acronym": 5.0, "typo": 5.0, "contains": 0.1}
# A name that no label spells and one concept's definitions use ("IoU": the entry "also called
# IoU") ranks that concept with a label's prefix and is as close as a label held in the query
# at its best: the letters of a name mean nothing to the dense model (IoU's nearest concepts
# by cosine were RDO and OpenAI, at 0.35).
_NAMED_BOOST, _NAMED_SCORE = 5.0, 0.6
_SNIPPET_CHARS = 160


@dataclass
class SearchHit:
    """One ranked concept, with what matched and why.

    ``score`` is its relevance on one 0-1 scale whatever found it: a label's match (1 exact,
    0.5-0.9 a prefix, 0.9 the label's initials, 0.72-0.8 a label misspelt, 0.2-0.5 a label held
    in the query; 0.6 for a name of the query that only its definition uses, ``signals["name"]``),
    else the cosine of its meaning to the query's (``lexical`` mode: the share of the query's
    words it holds). ``weak``: below the store's floor (``Settings.search_floor``)."""

    id: str
    name: str
    labels: dict[str, str]
    score: float
    snippet: str
    matched: dict[str, str]  # kind (label | definition), text, lang, by (label | name | dense | lexical)
    source: dict[str, Any] | None
    signals: dict[str, Any] = field(default_factory=dict)
    weak: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "labels": self.labels,
            "score": round(self.score, 4),
            "weak": self.weak,
            "snippet": self.snippet,
            "matched": self.matched,
            "source": self.source,
            "signals": self.signals,
        }


@dataclass
class SearchAnswer:
    """A whole result list: the hits in rank order, whether any is a close match, and when
    none is, labels spelt like the query (a typo's "did you mean")."""

    query: str
    mode: str
    hits: list[SearchHit]
    suggestions: list[dict[str, str]] = field(default_factory=list)
    # Names in the query (XGBoost, JWT) no label or definition uses: why nothing is close.
    unknown_names: list[str] = field(default_factory=list)

    @property
    def close_match(self) -> bool:
        return any(not hit.weak for hit in self.hits)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "close_match": self.close_match,
                "results": [hit.to_dict() for hit in self.hits], "suggestions": self.suggestions,
                "unknown_names": self.unknown_names}


def clean_query(query: str) -> str:
    """The query as searched: NFC, control characters removed, whitespace collapsed.

    Raises:
        BadParameterError: empty after cleaning, or longer than ``MAX_QUERY_CHARS``.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise BadParameterError(
            f"q is {len(query)} characters long; at most {MAX_QUERY_CHARS} are searched", parameter="q"
        )
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", query)).split())
    if not text:
        raise BadParameterError("q must not be empty", parameter="q")
    return text


def _has_content(text: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def _snippet(text: str) -> str:
    text = plain_text(text)
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1].rstrip() + "…"


class SearchEngine:
    """Label matcher, BM25 index and (optionally) the dense index over one glossary."""

    def __init__(
        self, glossary: Glossary, labels: LabelMatcher, lexical: LexicalIndex, semantic: SemanticIndex | None
    ) -> None:
        self.glossary = glossary
        self.labels = labels
        self.lexical = lexical
        self.semantic = semantic
        # Whole answers of repeated queries (an engine lives as long as its store version). Kept
        # small: a list of hits weighs ~10 KB, and the HTTP layer keeps its own cache of the
        # serialized answers (api.app), a third of the size.
        self._answers = LRUCache(256)

    def search(self, query: str, k: int = 10, mode: str = "hybrid", lang: str | None = None) -> list[SearchHit]:
        """Rank concepts for ``query``.

        Args:
            query: any text, Japanese or English; a label ranks its concept first.
            k: how many hits (1-100).
            mode: ``hybrid`` (default), ``dense`` or ``lexical``.
            lang: keep only concepts with a label in this language (``ja``, ``en``...).

        Raises:
            BadParameterError: empty or overlong query, bad ``k``, ``mode`` or ``lang``.
        """
        if mode not in MODES:
            raise BadParameterError(f"mode must be one of {', '.join(MODES)}", parameter="mode", valid=list(MODES))
        if not 1 <= k <= MAX_K:
            raise BadParameterError(f"k must be between 1 and {MAX_K}", parameter="k")
        if lang is not None and not re.fullmatch(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]+)*", lang):
            raise BadParameterError("lang must be a language tag such as ja or en", parameter="lang")
        if mode == "dense" and self.semantic is None:
            raise BadParameterError("this store has no dense index; use mode=lexical", parameter="mode")
        text = clean_query(query)
        if not _has_content(text):
            return []  # only punctuation or symbols: nothing to look for
        return list(self._answers.get((text, k, mode, lang), lambda: self._search(text, k, mode, lang)))

    def _search(self, text: str, k: int, mode: str, lang: str | None) -> tuple[SearchHit, ...]:

        pool = max(k * 5, 50) if lang else max(k * 3, 30)
        scores: dict[str, float] = {}
        matched: dict[str, dict[str, str]] = {}
        signals: dict[str, dict[str, Any]] = {}

        def note(cid: str, key: str, value: Any) -> None:
            signals.setdefault(cid, {})[key] = value

        if mode != "dense":
            for hit in self.labels.match(text, limit=pool):
                boost = _LABEL_BOOST.get(hit.kind, 0.0) * hit.score
                scores[hit.concept_id] = scores.get(hit.concept_id, 0.0) + boost
                matched.setdefault(
                    hit.concept_id, {"kind": "label", "text": hit.label, "lang": hit.lang, "by": "label"}
                )
                note(hit.concept_id, "label", hit.kind)
                note(hit.concept_id, "label_score", max(hit.score, signals[hit.concept_id].get("label_score", 0.0)))
            for name, cid in self.named_by(text).items():
                scores[cid] = scores.get(cid, 0.0) + _NAMED_BOOST * _NAMED_SCORE
                matched.setdefault(cid, {"by": "name"})  # the sentence with the name is found if shown
                note(cid, "name", name)
                note(cid, "label_score", max(_NAMED_SCORE, signals[cid].get("label_score", 0.0)))
        dense_last = 0.0  # the cosine of the last dense hit
        if mode in ("hybrid", "dense") and self.semantic is not None:
            dense = self.semantic.search(text, pool)
            dense_last = min((score for _, score, _ in dense), default=0.0)
            for rank, (cid, score, passage) in enumerate(dense, 1):
                scores[cid] = scores.get(cid, 0.0) + score
                matched.setdefault(
                    cid,
                    {
                        "kind": "label" if passage.kind == "labels" else "definition",
                        "text": passage.shown,
                        "lang": passage.lang,
                        "by": "dense",
                    },
                )
                note(cid, "dense", {"rank": rank, "score": round(score, 4)})
        if mode in ("hybrid", "lexical"):
            lexical = self.lexical.scores(text, pool)
            best = max((score for _, score in lexical), default=1.0) or 1.0
            weight = 1.0 if mode == "lexical" or self.semantic is None else _LEXICAL_WEIGHT.get(detect_lang(text), 0.05)
            for rank, (cid, score) in enumerate(lexical, 1):
                if mode == "hybrid" and cid not in scores:
                    scores[cid] = dense_last  # not among the dense hits: as good as the last of them
                scores[cid] = scores.get(cid, 0.0) + weight * score / best
                matched.setdefault(cid, {"by": "lexical"})  # its passage is found if it is shown
                note(cid, "lexical", {"rank": rank, "score": round(score, 4)})

        relevance = self._relevance(text, mode, signals, dense_last)
        floor = self._floor(text, mode)
        # A name the glossary never mentions: only a label match is close (see SearchAnswer).
        unknown = bool(self.unknown_names(text))
        # A concept with no definition has only its labels to go by: it is not shown on the
        # strength of shared words, nor of a meaning too far from the query.
        for cid in [c for c in scores if c in self.glossary.concepts and not self.glossary.concepts[c].definitions
                    and "label" not in signals.get(c, {}) and relevance(c) < floor]:
            del scores[cid]
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        shown = self._shown(ranked, k, lang)
        for cid, passage in self.lexical.passages([c for c in shown if "text" not in matched[c]], text).items():
            matched[cid].update(kind=passage.field, text=passage.text, lang=passage.lang)
        hits: list[SearchHit] = []
        for cid in shown:
            concept = self.glossary.concepts[cid]
            pref = concept.pref_labels()
            how = matched[cid]
            source = (
                concept.definitions[0].source
                if concept.definitions
                else (concept.sources[0] if concept.sources else None)
            )
            hits.append(
                SearchHit(
                    id=cid,
                    name=concept.name,
                    labels=pref,
                    score=relevance(cid),
                    weak=relevance(cid) < floor or (unknown and signals[cid].get("label_score", 0.0) < 0.5),
                    snippet=_snippet(
                        how["text"]
                        if how["kind"] == "definition"
                        else (concept.definitions[0].text if concept.definitions else how["text"])
                    ),
                    matched={**how, "lang": how.get("lang") or detect_lang(how["text"])},
                    source={"file": source.file, "line": source.line, "url": source.url} if source else None,
                    signals=signals.get(cid, {}),
                )
            )
        return tuple(hits)

    def named_by(self, query: str) -> dict[str, str]:
        """The names in ``query`` that one concept's definitions use (``LexicalIndex.named_by``),
        with that concept, but for a name a label spells or begins (its label matches it)."""
        return {name: cid for name, cid in self.lexical.named_by(query).items()
                if not any(hit.kind in ("exact", "acronym", "prefix") for hit in self.labels.match(name, limit=5))}

    def unknown_names(self, query: str) -> list[str]:
        """The names in ``query`` no label or definition uses (``LexicalIndex.unknown_names``),
        but for a label's own short form: "BatchNorm" begins "Batch Normalization" (five letters
        at least: an acronym such as "RL" beginning "RLHF" names something else)."""
        return [name for name in self.lexical.unknown_names(query)
                if not any(hit.kind in ("exact", "acronym") or (hit.kind == "prefix" and len(name) >= 5)
                           for hit in self.labels.match(name, limit=5))]

    def _floor(self, text: str, mode: str) -> float:
        """The relevance below which a hit is weak. Only closeness of meaning was measured for
        it: in ``lexical`` mode (or with no dense index) no hit is called weak."""
        if mode == "lexical" or self.semantic is None:
            return 0.0
        settings = self.glossary.settings
        glossed = self.semantic.glosser is not None and detect_lang(text) == "ja"
        return settings.search_floor_glossed if glossed else settings.search_floor

    def _relevance(self, text: str, mode: str, signals: dict[str, dict[str, Any]],
                   dense_last: float) -> Callable[[str], float]:
        """A candidate's relevance, 0-1 (see ``SearchHit``), worked out only for the candidates
        asked about (``lexical`` coverage tokenizes a concept's passages). A hit the dense search
        did not return is at most as close in meaning as the last one it did (``dense_last``)."""
        by_meaning = mode != "lexical" and self.semantic is not None

        @functools.cache
        def relevance(cid: str) -> float:
            said = signals.get(cid, {})
            if by_meaning:
                text_score = said["dense"]["score"] if "dense" in said else dense_last
            else:
                text_score = self.lexical.coverage(cid, text)
            return min(1.0, max(0.0, said.get("label_score", 0.0), text_score))

        return relevance

    def _shown(self, ranked: list[tuple[str, float]], k: int, lang: str | None) -> list[str]:
        """The ids of the first ``k`` of ``ranked`` that will be shown (known, and in ``lang``)."""
        shown = []
        for cid, _score in ranked:
            concept = self.glossary.concepts.get(cid)
            if concept is not None and (not lang or lang in concept.pref_labels()):
                shown.append(cid)
                if len(shown) >= k:
                    break
        return shown


def open_engine(glossary: Glossary) -> SearchEngine:
    """The engine for ``glossary``: its store version's dense index when it has one,
    else one built now in memory (notebooks, tests); none when the settings say so."""

    settings = glossary.settings
    concepts = list(glossary.concepts.values())
    semantic = None
    if settings.semantic_index and concepts:
        encoder = get_encoder(settings.model)
        glosser = glosser_for(settings)
        directory = glossary.directory
        if directory is not None and (directory / PASSAGES_FILE).exists():
            semantic = SemanticIndex.load(directory, encoder, glosser, ef_search=settings.hnsw_ef_search)
        else:
            semantic = SemanticIndex.build(glossary, encoder, glosser, hnsw=hnsw_params(settings))

    saved = load_lexical(glossary.directory)
    labels, lexical = saved if saved is not None else (LabelMatcher(concepts), LexicalIndex(concepts))
    return SearchEngine(glossary, labels, lexical, semantic)
