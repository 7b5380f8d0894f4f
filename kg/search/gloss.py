"""Word-by-word English glosses of Japanese text (SudachiPy + JMdict), for English-only encoders."""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from kg.errors import ConfigurationError
from kg.labels import JAPANESE_CHAR
from kg.search.jmdict import default_cache_dir, fetch_entries, hiragana, resolve_jmdict_db

# Sudachi refuses inputs over 49,149 bytes; 12,000 characters stay below it even at 4 bytes a character.
_MAX_CHUNK_CHARS = 12_000
# The longest run of Sudachi's short units tried as one JMdict headword (勾配+降下+法...).
_MAX_SPAN = 6
_URL = re.compile(r"https?://[^\s)\]>）」』]+")
_LATIN = re.compile(r"[A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+#-]*")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HIRAGANA_WORD = re.compile(r"^[\u3040-\u309f]+$")
#: Sudachi's major part of speech -> the coarse English class kept on a token.
_POS = {
    "名詞": "noun",
    "代名詞": "pronoun",
    "形状詞": "adjectival_noun",
    "連体詞": "adnominal",
    "副詞": "adverb",
    "接続詞": "conjunction",
    "感動詞": "interjection",
    "動詞": "verb",
    "形容詞": "adjective",
    "助動詞": "auxiliary",
    "助詞": "particle",
    "接頭辞": "prefix",
    "接尾辞": "suffix",
    "記号": "symbol",
    "補助記号": "symbol",
    "空白": "space",
}
_CONTENT = frozenset({"noun", "adjectival_noun", "adverb", "verb", "adjective", "prefix", "suffix", "numeral"})
_JOINABLE = frozenset({"noun", "numeral", "prefix", "suffix", "adjectival_noun", "verb", "adjective"})
# Light verbs and formal nouns (by Sudachi's normalized form): glossing them only adds "do", "thing"...
_STOP_LEMMAS = frozenset(
    {
        "為る",
        "成る",
        "居る",
        "有る",
        "在る",
        "出来る",
        "事",
        "物",
        "為",
        "様",
        "所",
        "等",
        "又",
        "及び",
        "其の他",
        "こと",
        "もの",
        "ため",
        "よう",
        "ところ",
        "する",
        "なる",
        "いる",
        "ある",
        "できる",
        "等々",
        "など",
    }
)


class Token(NamedTuple):
    """One unit of Japanese text.

    ``pos`` is a coarse English class (noun, verb, adjective, adjectival_noun, adverb,
    particle, auxiliary, prefix, suffix, numeral, pronoun, symbol, space...);
    ``start``/``end`` are character offsets, so ``text[start:end] == surface``.
    """

    surface: str
    lemma: str
    normalized: str
    reading: str
    pos: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class GlossedUnit:
    """A span of the text as glossed: a Sudachi token or several merged into one JMdict headword.

    ``source`` is ``jmdict`` (``english`` from the dictionary), ``latin`` (kept as written),
    ``unknown`` (a content word JMdict lacks) or ``skip`` (particle, symbol, light word).
    """

    token: Token
    english: str
    source: str


class JapaneseGlosser:
    """English glosses of Japanese text, one content word after another, for an English encoder.

    SudachiPy (``sudachidict-core``) splits the text; runs of its short units are matched
    against JMdict headwords longest first (勾配+降下 misses, 正則化 and 決定木 hit),
    each content word becomes the first one or two short senses of its most common
    entry whose part of speech fits, ASCII words are kept as written, particles,
    symbols and URLs are dropped, and word order is kept.

    Everything loads on first use and offline: the JMdict SQLite database comes from
    the ``jamdict-data`` package (read in place, or unpacked once into ``cache_dir``
    where a package ships it xz-compressed). Instances are safe to share between
    threads: each thread gets its own tokenizer and database connection, and the
    per-word lookups are memoised.

    Args:
        db_path: a JMdict database in jamdict's schema (``.db`` or ``.db.xz``); default
            the one ``jamdict-data`` installs.
        cache_dir: where a compressed database is unpacked; default
            ``$XDG_CACHE_HOME/kg/jmdict`` (``~/.cache/kg/jmdict``).
        max_glosses: English glosses kept per word from its chosen sense.
        keep_unknown: keep content words JMdict lacks in their Japanese form instead of dropping them.
        cache_size: entries of the memoised word lookup.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None = None,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        max_glosses: int = 2,
        keep_unknown: bool = False,
        cache_size: int = 1 << 17,
    ) -> None:
        self._db_path_arg = Path(db_path) if db_path is not None else None
        self._cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.max_glosses = max_glosses
        self.keep_unknown = keep_unknown
        self._init_lock = threading.Lock()
        self._local = threading.local()
        self._dictionary: Any = None
        self._split_modes: Any = None
        self._pos_cache: dict[int, tuple[str, str]] = {}
        self._db_path: Path | None = None
        self._lookup = functools.lru_cache(maxsize=cache_size)(self._lookup_impl)

    # -- public API ---------------------------------------------------------------------------

    def tokens(self, text: str) -> list[Token]:
        """Sudachi's tokens of ``text`` (split mode C, the longest units), offsets into ``text``.

        Args:
            text: any text; inputs longer than Sudachi's limit are split at line or sentence ends.

        Returns:
            Every token, spaces and symbols included, in order.
        """
        tokenizer = self._tokenizer()
        return [self._token(m, offset) for offset, chunk in _chunks(text) for m in tokenizer.tokenize(chunk)]

    def analyze(self, text: str) -> list[GlossedUnit]:
        """The units of ``text`` with their English (see :class:`GlossedUnit`); what :meth:`gloss` joins."""
        return self._analyze_impl(text)

    def gloss(self, text: str) -> str:
        """An English rendering of ``text`` for an English encoder, word order kept.

        Example: ``学習率を徐々に下げる`` -> ``study learning rate ratio slow gradual hang suspend``
        (JMdict has no 学習率, and its first sense of 下げる is "to hang"). Text without
        Japanese comes back as it is, less URLs and repeated spaces.

        Args:
            text: Japanese, English or mixed text.

        Returns:
            Space-separated English words; empty when nothing glosses.
        """
        if not JAPANESE_CHAR.search(text):
            return " ".join(_URL.sub(" ", text).split())
        return " ".join(u.english for u in self._analyze_impl(text, keep_all=False) if u.english)

    def gloss_many(self, texts: Iterable[str]) -> list[str]:
        """:meth:`gloss` of each text, in order."""
        return [self.gloss(text) for text in texts]

    def lookup(self, word: str, pos: str = "noun", reading: str = "") -> str | None:
        """English for one Japanese headword (``過学習`` misses, ``正則化`` -> ``regularisation regularization``).

        Args:
            word: a dictionary form, in kanji, kana or both.
            pos: the coarse class used to choose among entries and senses (see :class:`Token`).
            reading: its reading in kana, to choose among entries written alike (代: だい, よ, しろ).

        Returns:
            The glosses joined by spaces; "" when they are all affixes (的: -ical); None when
            JMdict has no such headword.
        """
        found = self._lookup(word, pos, hiragana(reading))
        return found[1] if found else None

    def warm_up(self) -> None:
        """Load the tokenizer and open the database now rather than on the first call."""
        self._tokenizer()
        self._connection()

    @property
    def db_path(self) -> Path:
        """The JMdict SQLite file in use (unpacked into the cache directory when shipped compressed)."""
        if self._db_path is None:
            with self._init_lock:
                if self._db_path is None:
                    self._db_path = resolve_jmdict_db(self._db_path_arg, self._cache_dir)
        return self._db_path

    def cache_info(self) -> Any:
        """Hits and misses of the memoised word lookup."""
        return self._lookup.cache_info()

    # -- tokenizing -------------------------------------------------------------------------------

    def _load_dictionary(self) -> None:
        with self._init_lock:
            if self._dictionary is not None:
                return
            try:
                from sudachipy import Dictionary, SplitMode
            except ImportError as exc:
                raise ConfigurationError(
                    "Japanese glossing needs SudachiPy: pip install 'sudachipy>=0.7,<0.8' sudachidict-core",
                    package="sudachipy",
                ) from exc
            try:
                dictionary = Dictionary(dict="core")
            except Exception as exc:  # ModuleNotFoundError when absent, SudachiError when too old for sudachipy
                raise ConfigurationError(
                    f"Japanese glossing needs the Sudachi core dictionary: pip install sudachidict-core ({exc})",
                    package="sudachidict-core",
                ) from exc
            self._split_modes = SplitMode
            self._dictionary = dictionary

    def _tokenizer(self) -> Any:
        # A Sudachi tokenizer keeps mutable state, so each thread gets its own.
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            if self._dictionary is None:
                self._load_dictionary()
            make = getattr(self._dictionary, "tokenizer", None) or self._dictionary.create  # create(): older sudachipy
            tokenizer = self._local.tokenizer = make(mode=self._split_modes.C)
        return tokenizer

    def _pos(self, m: Any) -> tuple[str, str]:
        """(coarse class, conjugation form) of a morpheme, memoised per Sudachi part-of-speech id."""
        pos_id = m.part_of_speech_id()
        info = self._pos_cache.get(pos_id)
        if info is None:
            pos = m.part_of_speech()
            coarse = "numeral" if pos[1] == "数詞" else _POS.get(pos[0], "other")
            info = self._pos_cache[pos_id] = (coarse, pos[5])
        return info

    def _token(self, m: Any, offset: int) -> Token:
        return Token(
            m.surface(),
            m.dictionary_form(),
            m.normalized_form(),
            m.reading_form(),
            self._pos(m)[0],
            offset + m.begin(),
            offset + m.end(),
        )

    # -- glossing ---------------------------------------------------------------------------------

    def _analyze_impl(self, text: str, keep_all: bool = True) -> list[GlossedUnit]:
        """Units of ``text``; without ``keep_all`` the skipped ones are left out (what gloss() needs)."""
        # URLs become spaces of the same length, so offsets still point into the caller's text.
        text = _URL.sub(lambda m: " " * len(m.group()), text)
        tokenizer = self._tokenizer()
        split_a = self._split_modes.A
        units: list[GlossedUnit] = []
        for offset, chunk in _chunks(text):
            atoms: list[_Atom | GlossedUnit | None] = []
            pending = list(tokenizer.tokenize(chunk))
            pending.reverse()
            while pending:
                m = pending.pop()
                coarse, conj = self._pos(m)
                surface = m.surface()
                japanese = JAPANESE_CHAR.search(surface)
                if japanese and _LATIN.search(surface) and len(parts := list(m.split(split_a))) > 1:
                    pending.extend(reversed(parts))  # Webサービス -> Web, サービス
                    continue
                if not japanese or _LATIN.search(surface):
                    # Words in other scripts (Transformer, ＬＳＴＭ, θ, 1万) are kept; symbols are not.
                    if any(c.isalnum() for c in surface):
                        atoms.append(_Atom(self._token(m, offset), conj, latin=True))
                    elif keep_all:
                        atoms.append(GlossedUnit(self._token(m, offset), "", "skip"))
                    else:
                        atoms.append(None)
                    continue
                if coarse not in _CONTENT:
                    atoms.append(GlossedUnit(self._token(m, offset), "", "skip") if keep_all else None)
                    continue
                # split() gives nothing (sudachipy 0.7) or the token itself when there is nothing to split.
                parts = list(m.split(split_a)) if len(surface) > 1 else []
                if len(parts) < 2:
                    atoms.append(_Atom(self._token(m, offset), conj))
                    continue
                whole = self._token(m, offset)
                for k, part in enumerate(parts):
                    p_conj = self._pos(part)[1]
                    atoms.append(
                        _Atom(
                            self._token(part, offset),
                            p_conj,
                            whole=whole if k == 0 else None,
                            width=len(parts),
                            inner=k < len(parts) - 1,
                        )
                    )
            units.extend(self._glue(atoms, keep_all))
        return units

    def _glue(self, atoms: Sequence[_Atom | GlossedUnit | None], keep_all: bool) -> list[GlossedUnit]:
        """Longest JMdict match over runs of joinable short units, else one unit at a time."""
        out: list[GlossedUnit] = []
        i, n = 0, len(atoms)
        while i < n:
            atom = atoms[i]
            if not isinstance(atom, _Atom):
                if atom is not None:
                    out.append(atom)
                i += 1
                continue
            matched = False
            if atom.joinable:
                stop = i + 1
                while stop < n and stop - i < _MAX_SPAN and _joins(atoms[stop - 1], atoms[stop]):
                    stop += 1
                for j in range(stop, i + 1, -1):
                    span = atoms[i:j]
                    head = span[-1].token
                    surfaces = [a.token.surface for a in span]
                    joined = "".join(surfaces)
                    keys = [
                        *((atom.whole.lemma, atom.whole.normalized) if atom.whole and atom.width == j - i else ()),
                        "".join(surfaces[:-1]) + head.lemma,
                        joined,
                    ]
                    cls = "noun" if head.pos in ("suffix", "prefix") else head.pos
                    reading = "".join(a.token.reading for a in span)
                    english = self._first_hit(keys, cls, reading, strict=True)
                    if english:
                        first = atom.token
                        token = Token(joined, keys[0], keys[0], reading, cls, first.start, head.end)
                        out.append(GlossedUnit(token, english, "jmdict"))
                        i, matched = j, True
                        break
            if not matched:
                unit = self._single(atom)
                if keep_all or unit.english:
                    out.append(unit)
                i += 1
        return out

    def _single(self, atom: _Atom) -> GlossedUnit:
        token = atom.token
        if atom.latin:
            text = unicodedata.normalize("NFKC", token.surface).strip()
            if JAPANESE_CHAR.search(text):  # 1万 -> 10000; of other mixed words only the Latin part is kept
                numeral = token.pos == "numeral" and token.normalized.isascii()
                text = token.normalized if numeral else " ".join(_LATIN_RUN.findall(text))
            return GlossedUnit(token, text, "latin")
        if token.normalized in _STOP_LEMMAS or token.lemma in _STOP_LEMMAS:
            return GlossedUnit(token, "", "skip")
        keys = [token.lemma, token.normalized, token.surface]
        if _HIRAGANA_WORD.match(token.lemma) and _KANJI.search(token.normalized):
            keys[:2] = keys[1::-1]  # とき: 時 (time), not the kana-only entry of a train called とき
        english = self._first_hit(keys, token.pos, token.reading, strict=False)
        if english is None:
            return GlossedUnit(token, token.surface if self.keep_unknown else "", "unknown")
        # "" is a headword whose glosses are all affixes (的: -ical, さ: -ness): nothing to say.
        return GlossedUnit(token, english, "jmdict" if english else "skip")

    def _first_hit(self, keys: Iterable[str], pos: str, reading: str, *, strict: bool) -> str | None:
        """English of the first key JMdict has ("" when its glosses are all affixes), else None."""
        seen = set()
        reading = hiragana(reading)
        for key in keys:
            if key and key not in seen:
                seen.add(key)
                found = self._lookup(key, pos, reading)
                # A run of several units must be a way the entry is written, not only a reading of it.
                if found and (found[0] or not strict):
                    return found[1]
        return None

    # -- JMdict -----------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        # sqlite3 connections are not shared between threads: one read-only connection per thread.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            uri = f"{self.db_path.resolve().as_uri()}?mode=ro&immutable=1"
            conn = self._local.conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return conn

    def _lookup_impl(self, key: str, pos: str, reading: str) -> tuple[bool, str] | None:
        """(whether ``key`` is a written form of the best entry, its English), or None when JMdict lacks ``key``."""
        entries = fetch_entries(self._connection(), key)
        if not entries:
            return None
        best = min(entries, key=lambda e: e.rank(key, pos, reading))
        return best.form_fits(key), best.english(pos, self.max_glosses)


# -- helpers ----------------------------------------------------------------------------------------


class _Atom:
    """A content token (or one short unit of it) waiting to be glued to its neighbours."""

    __slots__ = ("token", "conj", "whole", "width", "inner", "latin", "joinable")

    def __init__(
        self,
        token: Token,
        conj: str,
        *,
        whole: Token | None = None,
        width: int = 1,
        inner: bool = False,
        latin: bool = False,
    ) -> None:
        self.token = token
        self.conj = conj
        self.whole = whole  # the split-mode-C token this short unit starts, when that token has several
        self.width = width
        self.inner = inner  # not the last short unit of its split-mode-C token
        self.latin = latin
        self.joinable = not latin and token.pos in _JOINABLE


def _joins(left: _Atom | GlossedUnit | None, right: _Atom | GlossedUnit | None) -> bool:
    """Whether ``right`` may extend a compound ending in ``left``."""
    if not (isinstance(left, _Atom) and isinstance(right, _Atom) and left.joinable and right.joinable):
        return False
    # A verb or adjective continues a compound only from its continuative form (組み|合わせる),
    # or inside one of Sudachi's long units (重|み).
    return left.inner or left.token.pos not in ("verb", "adjective") or left.conj.startswith("連用形")






def _chunks(text: str) -> list[tuple[int, str]]:
    """(offset, piece) of ``text`` in pieces Sudachi accepts, cut after a newline or 。 when possible."""
    out = []
    start = 0
    while len(text) - start > _MAX_CHUNK_CHARS:
        window = text[start : start + _MAX_CHUNK_CHARS]
        cut = max(window.rfind("\n"), window.rfind("。"), window.rfind(". "))
        end = start + (cut + 1 if cut > 0 else _MAX_CHUNK_CHARS)
        out.append((start, text[start:end]))
        start = end
    if start < len(text) or not out:
        out.append((start, text[start:]))
    return out
