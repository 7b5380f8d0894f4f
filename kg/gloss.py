"""Word-by-word English glosses of Japanese text (SudachiPy + JMdict), for English-only encoders."""

from __future__ import annotations

import functools
import lzma
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from kg.errors import ConfigurationError

# Sudachi refuses inputs over 49,149 bytes; 12,000 characters stay below it even at 4 bytes a character.
_MAX_CHUNK_CHARS = 12_000
# The longest run of Sudachi's short units tried as one JMdict headword (勾配+降下+法...).
_MAX_SPAN = 6
_URL = re.compile(r"https?://[^\s)\]>）」』]+")
_LATIN = re.compile(r"[A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+#-]*")
_JA = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HIRAGANA_WORD = re.compile(r"^[\u3040-\u309f]+$")
_KATAKANA_WORD = re.compile(r"^[\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f]+$")
_META_GLOSS = re.compile(
    r"(prefix|suffix|particle|counter|indicat|used |expresses|makes |after |nominali|action of)", re.I
)
_PARENS = re.compile(r"\s*[(（][^()（）]*[)）]")
_TECH_FIELDS = frozenset(
    {
        "computing",
        "mathematics",
        "physics",
        "statistics",
        "engineering",
        "electronics",
        "electricity, elec. eng.",
        "telecommunications",
        "geometry",
        "logic",
    }
)
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
        if not _JA.search(text):
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
        found = self._lookup(word, pos, _hiragana(reading))
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
                japanese = _JA.search(surface)
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
            if _JA.search(text):  # 1万 -> 10000; of other mixed words only the Latin part is kept
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
        reading = _hiragana(reading)
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
        entries = _fetch_entries(self._connection(), key)
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


_COMMON = {"news1": 0, "ichi1": 0, "spec1": 0, "gai1": 0, "news2": 1, "ichi2": 1, "spec2": 1, "gai2": 1}
_POS_FIT = {
    "noun": re.compile(r"noun|pronoun|numeric|counter"),
    "numeral": re.compile(r"numeric|noun"),
    "verb": re.compile(r"^(?!noun).*\bverb\b"),
    "adjective": re.compile(r"adjective \(keiyoushi\)|adjective"),
    "adjectival_noun": re.compile(r"keiyodoshi|'taru' adjective|'no'|pre-noun"),
    "adverb": re.compile(r"adverb"),
    "prefix": re.compile(r"prefix"),
    "suffix": re.compile(r"suffix|counter"),
}
_ARCHAIC = frozenset({"archaism", "obsolete term", "obscure term", "rare", "dated term", "historical term"})


@dataclass(slots=True)
class _Sense:
    glosses: list[str]
    pos: list[str]
    misc: list[str]
    fields: list[str]

    def fits(self, pos: str) -> bool:
        pattern = _POS_FIT.get(pos)
        return pattern is None or any(pattern.search(p) for p in self.pos)


@dataclass(slots=True)
class _Entry:
    idseq: int
    kanji_match: bool  # matched on a kanji headword, not a reading
    has_kanji: bool
    priority: tuple[int, int]
    readings: list[str]
    senses: list[_Sense]

    def form_fits(self, key: str) -> bool:
        """Whether ``key`` is a way the entry is written (a kana key fits a kanji entry only if usually kana)."""
        if self.kanji_match or not self.has_kanji or _KATAKANA_WORD.match(key):
            return True
        return any("word usually written using kana alone" in s.misc for s in self.senses)

    def rank(self, key: str, pos: str, reading: str) -> tuple[int, ...]:
        pos_fits = any(s.fits(pos) for s in self.senses)
        archaic = all(_ARCHAIC & set(s.misc) for s in self.senses)
        reading_fits = not reading or reading in self.readings
        return (not self.form_fits(key), not reading_fits, not pos_fits, archaic, *self.priority, self.idseq)

    def english(self, pos: str, max_glosses: int) -> str:
        senses = [s for s in self.senses if s.glosses]
        if not senses:
            return ""
        chosen = next((s for s in senses if s.fits(pos) and not _ARCHAIC & set(s.misc)), senses[0])
        words: list[str] = []
        for gloss in _short_glosses(chosen.glosses, pos)[:max_glosses]:
            if gloss not in words:
                words.append(gloss)
        # A technical sense further down (勾配: slope, ... gradient) is what this corpus means more often than not.
        for sense in senses:
            if sense is not chosen and _TECH_FIELDS & set(sense.fields) and sense.fits(pos):
                extra = [g for g in _short_glosses(sense.glosses, pos) if g not in words]
                if extra:
                    words.append(extra[0])
                    break
        return " ".join(words)


def _short_glosses(glosses: Sequence[str], pos: str) -> list[str]:
    # "-ity", "-ness", "-ical": a suffix's gloss is no word; a prefix's "over-" is.
    words = [g for g in glosses if not g.startswith("-")]
    cleaned = [c for c in (clean_gloss(g, verb=pos == "verb") for g in words) if c]
    short = [c for c in cleaned if len(c.split()) <= 3]
    if short:
        return short
    # Only long glosses: the start of the first, unless it describes grammar ("prefix for forming ordinal...").
    return [" ".join(c.split()[:3]) for c in cleaned[:1] if not _META_GLOSS.match(c)]


def clean_gloss(gloss: str, verb: bool = False) -> str:
    """A JMdict gloss as a few plain words: parenthetical notes, "to " of verbs and affix dashes dropped.

    >>> clean_gloss("to wear (e.g. decoration)", verb=True)
    'wear'
    >>> clean_gloss("(writing) style"), clean_gloss("surplus-"), clean_gloss("-ification")
    ('style', 'surplus', 'ification')
    >>> clean_gloss("way of ...")
    'way of'
    """
    text = gloss
    while True:
        stripped = _PARENS.sub("", text)
        if stripped == text:
            break
        text = stripped
    text = text.replace("...", " ").replace("…", " ")
    if verb and text.startswith("to "):
        text = text[3:]
    text = " ".join(w.strip("-") for w in text.split())
    return " ".join(text.split()).strip(" ,;")


def _fetch_entries(conn: sqlite3.Connection, key: str) -> list[_Entry]:
    rows = conn.execute(
        "SELECT ID, idseq, 1 FROM Kanji WHERE text = ? UNION ALL SELECT ID, idseq, 0 FROM Kana WHERE text = ?",
        (key, key),
    ).fetchall()
    if not rows:
        return []
    by_entry: dict[int, tuple[int, bool]] = {}
    for form_id, idseq, is_kanji in rows:
        if idseq not in by_entry or (is_kanji and not by_entry[idseq][1]):
            by_entry[idseq] = (form_id, bool(is_kanji))
    entries = []
    for idseq, (form_id, is_kanji) in by_entry.items():
        table = "KJP" if is_kanji else "KNP"
        tags = [t for (t,) in conn.execute(f"SELECT text FROM {table} WHERE kid = ?", (form_id,))]
        has_kanji = is_kanji or conn.execute("SELECT 1 FROM Kanji WHERE idseq = ? LIMIT 1", (idseq,)).fetchone()
        readings = [_hiragana(r) for (r,) in conn.execute("SELECT text FROM Kana WHERE idseq = ?", (idseq,))]
        entries.append(_Entry(idseq, is_kanji, bool(has_kanji), _priority(tags), readings, _senses(conn, idseq)))
    return entries


def _priority(tags: Iterable[str]) -> tuple[int, int]:
    """(commonness band 0-2, nf band 1-48 or 99) from JMdict priority tags; lower is more common."""
    band, nf = 2, 99
    for tag in tags:
        band = min(band, _COMMON.get(tag, 2))
        if tag.startswith("nf") and tag[2:].isdigit():
            nf = min(nf, int(tag[2:]))
    return band, nf


def _senses(conn: sqlite3.Connection, idseq: int) -> list[_Sense]:
    ids = [sid for (sid,) in conn.execute("SELECT ID FROM Sense WHERE idseq = ? ORDER BY ID", (idseq,))]
    senses = {sid: _Sense([], [], [], []) for sid in ids}
    marks = ",".join("?" * len(ids))
    for table, attr in (("SenseGloss", "glosses"), ("pos", "pos"), ("misc", "misc"), ("field", "fields")):
        for sid, text in conn.execute(f"SELECT sid, text FROM {table} WHERE sid IN ({marks}) ORDER BY rowid", ids):
            getattr(senses[sid], attr).append(text)
    ordered = [senses[sid] for sid in ids]
    # JMdict: a sense without part of speech takes the one of the sense before it.
    for before, sense in zip(ordered, ordered[1:], strict=False):
        if not sense.pos:
            sense.pos = before.pos
    return ordered


def _hiragana(kana: str) -> str:
    """Katakana folded to hiragana, the way JMdict writes the readings of native words.

    >>> _hiragana("ガクシュウ"), _hiragana("データ")
    ('がくしゅう', 'でーた')
    """
    return kana.translate(_KATA_TO_HIRA)


_KATA_TO_HIRA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}


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


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kg/jmdict`` (``~/.cache/kg/jmdict``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kg" / "jmdict"


def resolve_jmdict_db(db_path: Path | None, cache_dir: Path) -> Path:
    """The JMdict SQLite file to read: ``db_path`` or jamdict-data's, unpacked into ``cache_dir`` if ``.xz``.

    Raises:
        ConfigurationError: no database given and ``jamdict-data`` is not installed, or the file is missing.
    """
    if db_path is None:
        try:
            import jamdict_data
        except ImportError as exc:
            raise ConfigurationError(
                "Japanese glossing needs the JMdict database: pip install 'jamdict-data>=1.5,<2'",
                package="jamdict-data",
            ) from exc
        db_path = Path(jamdict_data.JAMDICT_DB_PATH)
        if not db_path.exists() and db_path.with_suffix(".db.xz").exists():
            db_path = db_path.with_suffix(".db.xz")
    if db_path.suffix == ".xz":
        return _unpack_xz(db_path, cache_dir)
    if not db_path.is_file():
        raise ConfigurationError(f"JMdict database not found: {db_path}", path=str(db_path))
    return db_path


def _unpack_xz(source: Path, cache_dir: Path) -> Path:
    """Unpack ``source`` once into ``cache_dir`` (atomically: a temporary file renamed into place)."""
    if not source.is_file():
        raise ConfigurationError(f"JMdict database not found: {source}", path=str(source))
    stat = source.stat()
    target = cache_dir / f"{source.name.removesuffix('.xz').removesuffix('.db')}-{stat.st_size}.db"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".unpack-", suffix=".db")
    try:
        with os.fdopen(fd, "wb") as out, lzma.open(source) as packed:
            shutil.copyfileobj(packed, out, length=1 << 20)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
