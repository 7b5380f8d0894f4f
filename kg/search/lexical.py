"""Lexical search for Japanese/English glossaries: label lookup and BM25 over labels and definitions."""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from rapidfuzz import fuzz, process

from kg.labels import JAPANESE_CHAR, JAPANESE_CHARS, normalize, text_lang
from kg.model import Concept
from kg.text import BULLET, plain_lines

# Longer queries are cut here: past a few sentences more text only adds noise and
# time, and it keeps a 10,000-character paste as fast as a short query.
MAX_QUERY_CHARS = 256

_RUNS = re.compile(rf"(?P<ja>[{JAPANESE_CHARS}]+)|(?P<word>[^\W_{JAPANESE_CHARS}]+)")
_LONG_VOWEL = re.compile(r"(?<=[\u30a0-\u30ff])ー")
# A name as people write one: an acronym (LLM, JWT), CamelCase (XGBoost, LightGBM) or a word
# with digits (GPT4, H264); not a capitalised ordinary word (What, Gibbs).
_NAME_WORD = r"(?:[A-Z][A-Z0-9]+|[A-Za-z][a-z0-9]*[A-Z][A-Za-z0-9]*|[A-Za-z]+[0-9][A-Za-z0-9]*)"
_NAME = re.compile(rf"(?<![A-Za-z0-9]){_NAME_WORD}(?![A-Za-z0-9])")
# A name as a whole word, not a part of a hyphenated one ("NN" of "k-NN" names nothing).
_WHOLE_NAME = re.compile(rf"(?<![A-Za-z0-9-]){_NAME_WORD}(?![A-Za-z0-9-])")
_SENTENCES = re.compile(r"\n+|(?<=[。！？])|(?<=[.!?])\s+")

# Function words only: the definitions are mostly Japanese, so an English "the" is
# rare there and BM25 would give it a high IDF.
_STOPWORDS = frozenset(
    """a an and are as at be been but by can do does for from has have how i if in into is it its
    me my of on or so such than that the their them then there these this those to was we what
    when where which while who why will with without you your""".split()
)


def _latin(word: str) -> str | None:
    """A Latin-script word as a term: stop words dropped, a plural ``s`` stripped."""
    if word in _STOPWORDS:
        return None
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Index terms: words for Latin text; characters and character bigrams for Japanese,
    which has no spaces (measured as good as SudachiPy on the dev queries and needs
    no dictionary; see the module's tests).

    Long-vowel marks after katakana are dropped (コンピューター = コンピュータ), and so
    are English stop words; a plural ``s`` is stripped from English words.

    >>> tokenize("LSTMの学習率")
    ['lstm', 'の', '学', '習', '率', 'の学', '学習', '習率']
    >>> tokenize("The Models") == tokenize("model")
    True
    """
    terms: list[str] = []
    for run in _RUNS.finditer(unicodedata.normalize("NFKC", text).casefold()):
        if run["word"]:
            if word := _latin(run["word"]):
                terms.append(word)
            continue
        ja = _LONG_VOWEL.sub("", run["ja"]) if "ー" in run["ja"] else run["ja"]
        terms.extend(ja)
        terms.extend(map(str.__add__, ja, ja[1:]))
    return terms


# -- label lookup ---------------------------------------------------------------------


@dataclass(frozen=True)
class LabelHit:
    """A concept found by one of its labels.

    ``kind`` is ``exact`` (score 1.0), ``prefix`` (0.5-0.9, shorter labels higher),
    ``acronym`` (0.9: the query is the initials of a label no label spells, "MLE" for
    "Maximum Likelihood Estimation"), ``typo`` (0.72-0.8: the query is a label of eight
    characters or more misspelt, "perplexty") or ``contains`` (0.2-0.5: the query holds the
    label, or the initials of one, as whole words, e.g. "what is LSTM").
    """

    concept_id: str
    label: str
    lang: str
    kind: str
    score: float


def _key(text: str) -> str:
    """Match key: ``normalize`` plus spaces and long-vowel marks removed, so that
    "long short-term memory" = "Long Short Term Memory" and ユーザー = ユーザ."""
    return _LONG_VOWEL.sub("", normalize(text)).replace(" ", "")


_ACRONYM = re.compile(r"(?<![A-Za-z0-9])[A-Z]{3,6}(?![A-Za-z0-9])")
_LABEL_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _initials(label: str) -> str | None:
    """The initials of a Latin label of three to six words, hyphenated ones included:
    "Long Short-Term Memory" -> "lstm". None for fewer words (two letters name too much:
    "IT" is a word, not Instruction Tuning) or a label with other scripts.

    >>> _initials("Maximum Likelihood Estimation"), _initials("Dropout")
    ('mle', None)
    """
    if not label.isascii():
        return None
    words = _LABEL_WORDS.findall(label)
    return "".join(word[0] for word in words).casefold() if 3 <= len(words) <= 6 else None


def _strip_punct(text: str) -> str:
    """Surrounding punctuation, symbols and whitespace off ("「過学習」", "LSTM?")."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start])[0] in "PSZC":
        start += 1
    while end > start and unicodedata.category(text[end - 1])[0] in "PSZC":
        end -= 1
    return text[start:end]


def _words(text: str) -> list[str]:
    """Latin words (plural ``s`` stripped) and whole Japanese runs, for ``contains``:
    "LSTMとは" -> ["lstm", "とは"], so the label covers half of that query."""
    words = []
    for run in _RUNS.finditer(normalize(text)):
        word = run["ja"] or run["word"]
        words.append(_latin(word) or word if run["word"] else word)
    return words


class LabelMatcher:
    """Finds concepts whose label is the query (exact), starts with it (prefix), or,
    for Latin-script labels, occurs in it as whole words (contains).

    Labels and hidden labels are matched case-, width-, hyphen/space- and
    katakana-long-vowel-insensitively.
    """

    def __init__(self, concepts: Iterable[Concept], *, min_prefix: int = 2, min_coverage: float = 0.5) -> None:
        """
        Args:
            concepts: the glossary's concepts.
            min_prefix: shortest query (in key characters) that gets prefix hits.
            min_coverage: share of the query's content words a label must cover for a
                ``contains`` hit (so "GPT" in a long sentence about something else is not one).
        """
        self.min_prefix = min_prefix
        self.min_coverage = min_coverage
        self._exact: dict[str, list[tuple[str, str, str]]] = {}
        entries: list[tuple[str, str, str, str]] = []
        self._phrases: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}
        # "mle" -> Maximum Likelihood Estimation: the initials of Latin labels of two words or more.
        self._initials: dict[str, list[tuple[str, str, str]]] = {}
        for concept in concepts:
            for label in [*concept.labels, *concept.hidden_labels]:
                key = _key(label.text)
                if not key:
                    continue
                hit = (concept.id, label.text, label.lang)
                self._exact.setdefault(key, []).append(hit)
                entries.append((key, *hit))
                words = _words(label.text)
                if words and not JAPANESE_CHAR.search(label.text):
                    self._phrases.setdefault(tuple(words), []).append(hit)
                    initials = _initials(label.text)
                    if initials:
                        self._initials.setdefault(initials, []).append(hit)
        # Sorted keys for prefix lookups by bisection.
        entries.sort()
        self._keys = [e[0] for e in entries]
        self._entries = entries
        self._max_phrase = max((len(p) for p in self._phrases), default=0)
        # Label keys by first character and length, for misspellings (``_misspelt``): built here,
        # not on the first query, which took 0.1 s for it among 200,000 labels.
        self._keys_by_start: dict[tuple[str, int], list[str]] = {}
        for key in self._exact:
            self._keys_by_start.setdefault((key[0], len(key)), []).append(key)

    def match(self, query: str, limit: int = 10) -> list[LabelHit]:
        """Label hits for ``query``, best first, one per concept (its best label).

        Never raises; an empty or punctuation-only query gives ``[]``.
        """
        if limit < 1:
            return []
        query = query[:MAX_QUERY_CHARS]
        best: dict[str, LabelHit] = {}

        def add(hit: LabelHit) -> None:
            if hit.concept_id not in best or best[hit.concept_id].score < hit.score:
                best[hit.concept_id] = hit

        key = _key(_strip_punct(query))
        # The unstripped key too, so that labels such as "C++" keep their symbols.
        for candidate in dict.fromkeys([_key(query), key]):
            for concept_id, text, lang in self._exact.get(candidate, []):
                add(LabelHit(concept_id, text, lang, "exact", 1.0))
        if len(key) >= self.min_prefix:
            for i in range(bisect.bisect_left(self._keys, key), len(self._keys)):
                label_key, concept_id, text, lang = self._entries[i]
                if not label_key.startswith(key):
                    break
                if label_key != key:
                    add(LabelHit(concept_id, text, lang, "prefix", 0.5 + 0.4 * len(key) / len(label_key)))
        if key not in self._exact:  # an acronym that is itself a label names that label
            for concept_id, text, lang in self._initials.get(key, []):
                add(LabelHit(concept_id, text, lang, "acronym", 0.9))
            for hit in self._misspelt(key):
                add(hit)
        for hit in self._contained(query):
            add(hit)
        return sorted(best.values(), key=lambda h: -h.score)[:limit]

    #: A whole query this close to a label (rapidfuzz's ratio, 0-100) is that label misspelt:
    #: "confussion matrix", "backpropogation" score 93-97. No query without an answer in the
    #: labelled rounds came within 90 of a label (the nearest: グラフニューラルネットワーク, 88,
    #: to ニューラルネットワーク); shorter keys are left out, one letter is too much of them, and
    #: longer ones are sentences, not labels.
    TYPO_RATIO, TYPO_MIN_CHARS, TYPO_MAX_CHARS = 90.0, 8, 60

    def _misspelt(self, key: str) -> list[LabelHit]:
        """Labels ``key`` misspells. A misspelling keeps its first letter (as spelling checkers
        assume) and, at ratio 90, a length within 18-22% of the label's, so a query is compared
        with the few labels of those first characters and lengths, not all of them (200,000 keys
        took 40 ms)."""
        if not self.TYPO_MIN_CHARS <= len(key) <= self.TYPO_MAX_CHARS:
            return []
        # ratio = 2 * matches / (len(a) + len(b)) >= 0.9 needs 0.818 <= len(b) / len(a) <= 1.222
        lengths = range(math.ceil(len(key) * 9 / 11), math.floor(len(key) * 11 / 9) + 1)
        candidates = [label for n in lengths for label in self._keys_by_start.get((key[0], n), ())]
        found = process.extract(key, candidates, scorer=fuzz.ratio, score_cutoff=self.TYPO_RATIO, limit=3)
        return [LabelHit(concept_id, text, lang, "typo", round(0.8 * ratio / 100, 4))
                for label_key, ratio, _ in found for concept_id, text, lang in self._exact[label_key]]

    def _contained(self, query: str) -> list[LabelHit]:
        # Word n-grams of the query looked up as whole Latin-script labels. Japanese
        # labels inside Japanese text are left to BM25: without word boundaries a
        # substring test finds 決定木 in a query about random forests.
        words = _words(query)
        content = [w for w in words if w not in _STOPWORDS]
        if len(words) < 2 or not content:
            return []
        hits = []
        for n in range(1, min(self._max_phrase, len(words)) + 1):
            for i in range(len(words) - n + 1):
                phrase = tuple(words[i : i + n])
                for concept_id, text, lang in self._phrases.get(phrase, []):
                    coverage = min(1.0, sum(w not in _STOPWORDS for w in phrase) / len(content))
                    if coverage >= self.min_coverage:
                        hits.append(LabelHit(concept_id, text, lang, "contains", 0.2 + 0.3 * coverage))
        for acronym in _ACRONYM.findall(query):  # written in capitals: "MLE" in a sentence
            key = acronym.casefold()
            coverage = min(1.0, 1 / len(content))
            if key not in self._exact and coverage >= self.min_coverage:
                hits.extend(LabelHit(concept_id, text, lang, "contains", 0.2 + 0.3 * coverage)
                            for concept_id, text, lang in self._initials.get(key, []))
        return hits


# -- BM25 -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LexicalHit:
    """A BM25 hit with the passage that matched best, for a snippet.

    ``field`` is ``label`` or ``definition``; ``text`` is the label or the definition
    sentence with the most query-term weight; ``lang`` is its language.
    """

    concept_id: str
    score: float
    field: str
    text: str
    lang: str


class _Passage(NamedTuple):
    """A label or a definition sentence. Its terms are found again when it is a hit's
    candidate snippet: kept per passage, they made the saved index ten times larger."""

    field: str
    text: str
    lang: str | None  # None: found from the text when shown (most sentences never are)


def _sentences(text: str) -> list[str]:
    """A definition's sentences as plain text (what BM25 counts and a snippet quotes)."""
    return [part.strip() for line in plain_lines(text) for part in _SENTENCES.split(line.strip().removeprefix(BULLET))
            if part.strip()]


class LexicalIndex:
    """BM25 over two fields of each concept: its labels and its definitions.

    Each field is scored with its own length normalisation and the weighted scores
    are added; the per-term weights are computed once at build time, so a query is
    a few array additions. ``params`` records what the index was built with.
    """

    def __init__(
        self,
        concepts: Iterable[Concept],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        # Labels are a short field, so a label match already scores high; on the dev
        # queries a boost of 1.5-3 ranked concepts whose label is one word of an English
        # sentence ("precision", "weight") first and cost 0.05-0.1 MRR.
        label_boost: float = 1.0,
        definition_boost: float = 1.0,
        tokenizer: Callable[[str], list[str]] = tokenize,
    ) -> None:
        """
        Args:
            concepts: the glossary's concepts.
            k1, b: BM25 term-frequency saturation and length normalisation.
            label_boost, definition_boost: field weights.
            tokenizer: text -> terms; the default is ``tokenize``.
        """
        self.tokenizer = tokenizer
        self.params = {
            "tokenizer": getattr(tokenizer, "__name__", repr(tokenizer)),
            "k1": k1,
            "b": b,
            "label_boost": label_boost,
            "definition_boost": definition_boost,
        }
        self.ids: list[str] = []
        self._passages: list[list[_Passage]] = []
        # (term id, concept, tf) triples per field, in typed arrays as the concepts go by (lists
        # of Python ints, or a Counter kept per concept, weighed gigabytes at 100,000 concepts);
        # then BM25 weights in one numpy pass. All labels of a concept form one field (scoring
        # each label alone and keeping the best measured worse on the dev queries).
        self._vocab: dict[str, int] = {}
        vocab = self._vocab
        # Each name the definitions use (IoU, CABAC, AdamW), casefolded -> the one concept whose
        # definitions use it, or -1 when several do (see ``named_by``).
        self._names: dict[str, int] = {}
        columns = [(array("i"), array("i"), array("i")) for _field in range(2)]  # term ids, concepts, tfs (int32)

        def add(field: int, doc: int, counts: Counter[str]) -> None:
            term_ids, doc_ids, tfs = columns[field]
            term_ids.extend([vocab.setdefault(t, len(vocab)) for t in counts])  # a list: faster than a generator
            doc_ids.extend(itertools.repeat(doc, len(counts)))
            tfs.extend(counts.values())

        for doc, concept in enumerate(concepts):
            passages = []
            label_terms: Counter[str] = Counter()
            for label in [*concept.labels, *concept.hidden_labels]:
                label_terms.update(tokenizer(label.text))
                passages.append(_Passage("label", label.text, label.lang))
            definition_terms: Counter[str] = Counter()
            for definition in concept.definitions:
                for name in {name.casefold() for name in _WHOLE_NAME.findall(definition.text)}:
                    self._names[name] = doc if self._names.get(name, doc) == doc else -1
                for sentence in _sentences(definition.text):
                    definition_terms.update(tokenizer(sentence))
                    passages.append(_Passage("definition", sentence, None))
            self.ids.append(concept.id)
            self._passages.append(passages)
            add(0, doc, label_terms)
            add(1, doc, definition_terms)
        n = len(self.ids)
        triples = [(np.frombuffer(t, np.int32), np.frombuffer(d, np.int32),
                    np.frombuffer(f, np.int32).astype(np.float64)) for t, d, f in columns]
        size = len(self._vocab)
        weights, idf = [], np.zeros(size)
        for boost, (term_ids, doc_ids, tfs) in zip((label_boost, definition_boost), triples, strict=True):
            lengths = np.bincount(doc_ids, weights=tfs, minlength=n)
            norm = k1 * (1 - b + b * lengths / (lengths.mean() if n and lengths.any() else 1.0))
            df = np.bincount(term_ids, minlength=size)
            # Lucene's IDF: never negative, even for a term in most concepts.
            field_idf = np.log1p((n - df + 0.5) / (df + 0.5)) * (df > 0)
            idf = np.maximum(idf, field_idf)
            weights.append(boost * field_idf[term_ids] * tfs * (k1 + 1) / (tfs + norm[doc_ids]))
        # Postings sorted by term: the concepts of term t are _docs[_starts[t]:_starts[t + 1]].
        # A term in both fields of a concept has its two weights added (scipy sums duplicates,
        # in less memory than sorting (term, concept) keys did: 2.8 GB at 100,000 concepts).
        rows = np.concatenate([term_ids for term_ids, _, _ in triples])
        cols = np.concatenate([doc_ids for _, doc_ids, _ in triples])
        postings = sp.coo_matrix((np.concatenate(weights), (rows, cols)), shape=(size, max(n, 1))).tocsr()
        del rows, cols
        postings.sum_duplicates()
        self._weights, self._docs, self._starts = postings.data, postings.indices, postings.indptr
        self._idf = dict(zip(self._vocab, idf.tolist(), strict=True))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int = 10) -> list[LexicalHit]:
        """The ``k`` best concepts for ``query``, best first (only those with a score > 0).

        Never raises: empty, punctuation-only or control-character queries give
        ``[]``; a very long query is cut to ``MAX_QUERY_CHARS``.
        """
        terms = self._terms(query)
        return [self._hit(doc, score, terms) for doc, score in self._top(terms, k)]

    def scores(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """``search`` without the passages: (concept id, score) pairs, best first. Finding a
        hit's passage tokenizes the concept's every sentence; ``passage`` does it for the few
        hits that are shown."""
        return [(self.ids[doc], score) for doc, score in self._top(self._terms(query), k)]

    def passages(self, concept_ids: Iterable[str], query: str) -> dict[str, LexicalHit]:
        """The hits of ``concept_ids`` for ``query`` with the passage that matched best (score 0:
        ask ``scores`` for it)."""
        terms = self._terms(query)
        return {cid: self._hit(self._rows[cid], 0.0, terms) for cid in concept_ids}

    def unknown_names(self, query: str) -> list[str]:
        """The names in ``query`` (acronyms, CamelCase, words with digits: ``XGBoost``, ``JWT``,
        ``GPT4``) that no label or definition of the glossary uses. A glossary that never
        mentions a name has nothing close to a question about it.

        >>> LexicalIndex([]).unknown_names("What is XGBoost vs LLM, and why?")
        ['XGBoost', 'LLM']
        """
        names = []
        for word in _NAME.findall(query[:MAX_QUERY_CHARS]):
            terms = self.tokenizer(word)
            if terms and not any(term in self._vocab for term in terms) and word not in names:
                names.append(word)
        return names

    def named_by(self, query: str) -> dict[str, str]:
        """The names in ``query`` (as ``unknown_names`` finds them, but whole: not "NN" of "k-NN")
        that the definitions of exactly one concept use, with that concept's id. A name the
        glossary mentions once is what that definition explains: the answer to "IoU" is the
        entry that says "also called IoU", wherever the meaning of the letters cannot lead.

        >>> from kg.model import Concept, Definition, Label
        >>> jaccard = Concept("jaccard", [Label("Jaccard Index", "en")], [Definition("Also called IoU.")])
        >>> LexicalIndex([jaccard]).named_by("IoU of two boxes, or k-NN?")
        {'IoU': 'jaccard'}
        """
        found = {}
        for name in _WHOLE_NAME.findall(query[:MAX_QUERY_CHARS]):
            doc = self._names.get(name.casefold(), -1)
            if doc >= 0:
                found.setdefault(name, self.ids[doc])
        return found

    def coverage(self, concept_id: str, query: str) -> float:
        """How much of the query the concept's labels and definitions hold, 0..1: the IDF weight
        of the query's terms found in them over the weight of all its terms (a term the glossary
        never uses weighs as much as the rarest). An absolute measure, unlike a BM25 score."""
        terms = set(self.tokenizer(query[:MAX_QUERY_CHARS]))
        if not terms or concept_id not in self._rows:
            return 0.0
        rarest = max(self._idf.values(), default=1.0)
        held = set().union(*(self.tokenizer(p.text) for p in self._passages[self._rows[concept_id]]))
        total = math.fsum(self._idf.get(t, rarest) for t in terms)
        return math.fsum(self._idf.get(t, rarest) for t in terms & held) / total if total else 0.0

    @cached_property
    def _rows(self) -> dict[str, int]:
        return {cid: row for row, cid in enumerate(self.ids)}

    def _terms(self, query: str) -> set[str]:
        return {t for t in self.tokenizer(query[:MAX_QUERY_CHARS]) if t in self._vocab}

    @cached_property
    def _postings(self) -> sp.csr_matrix:
        """The postings as a term x concept sparse matrix (the same arrays, not a copy)."""
        return sp.csr_matrix((self._weights, self._docs, self._starts), shape=(len(self._starts) - 1, len(self.ids)))

    def _top(self, terms: set[str], k: int) -> list[tuple[int, float]]:
        if k < 1 or not self.ids or not terms:
            return []
        # The query as a 0/1 row times the postings: scipy adds up the terms' postings in C,
        # a quarter faster than a numpy loop over terms for a long Japanese query (100+ terms).
        rows = np.array(sorted(self._vocab[t] for t in terms), dtype=self._starts.dtype)
        query = sp.csr_matrix((np.ones(len(rows)), rows, np.array([0, len(rows)], dtype=rows.dtype)),
                              shape=(1, self._postings.shape[0]))
        found = query @ self._postings
        docs, scores = found.indices, found.data
        keep = scores > 0
        docs, scores = docs[keep], scores[keep]
        if len(scores) > k:  # the k best (and every tie of the k-th) before the sort
            kth = -np.partition(-scores, k - 1)[k - 1]
            keep = scores >= kth
            docs, scores = docs[keep], scores[keep]
        order = np.lexsort((docs, -scores))[:k]  # best first, the first concept first on ties
        return [(int(docs[i]), float(scores[i])) for i in order]

    def _hit(self, doc: int, score: float, terms: set[str]) -> LexicalHit:
        # The passage holding the most IDF weight of the query terms; labels first on ties.
        best, best_weight = None, 0.0
        for passage in self._passages[doc]:
            # fsum: exactly rounded, so equal passages tie whatever the set order of the terms.
            weight = math.fsum(self._idf[t] for t in terms.intersection(self.tokenizer(passage.text)))
            if weight > best_weight:
                best, best_weight = passage, weight
        if best is None:  # cannot happen for a score > 0; kept so a snippet never fails
            best = self._passages[doc][0]
        return LexicalHit(self.ids[doc], score, best.field, best.text, best.lang or text_lang(best.text))
