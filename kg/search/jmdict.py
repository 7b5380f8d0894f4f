"""JMdict, the Japanese-English dictionary the glosser reads (``kg.search.gloss``): its SQLite
database found or unpacked once per machine, entries looked up by headword or reading, and
their senses ranked and cleaned into short English glosses."""

from __future__ import annotations

import lzma
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ConfigurationError

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
_KATA_TO_HIRA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}
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


def fetch_entries(conn: sqlite3.Connection, key: str) -> list[_Entry]:
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
        readings = [hiragana(r) for (r,) in conn.execute("SELECT text FROM Kana WHERE idseq = ?", (idseq,))]
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


def hiragana(kana: str) -> str:
    """Katakana folded to hiragana, the way JMdict writes the readings of native words.

    >>> hiragana("ガクシュウ"), hiragana("データ")
    ('がくしゅう', 'でーた')
    """
    return kana.translate(_KATA_TO_HIRA)
