"""Label and text helpers: language tags, normalisation for lookup, heading splitting, slugs, sentence ends."""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left

#: What a "Japanese character" is, for a regex character class: the iteration mark 々,
#: hiragana and katakana (with the phonetic extensions and the half-width forms), CJK
#: ideographs (with extension A and the compatibility ones). The one definition: narrower
#: classes elsewhere (kanji only, hiragana only, katakana words) say so in their names.
JAPANESE_CHARS = "\u3005\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
#: One Japanese character (``JAPANESE_CHAR.search(text)``: does ``text`` hold any).
JAPANESE_CHAR = re.compile(f"[{JAPANESE_CHARS}]")
_LETTERS = re.compile(r"[^\W\d_]")  # what str.isalpha accepts, near enough
_JA_RUN = re.compile(r"(?=[^\W\d_])" + JAPANESE_CHAR.pattern)  # a Japanese letter
_KATAKANA_LONG_VOWEL_END = re.compile(r"(?<=[\u30a0-\u30ff])ー(?![\u30a0-\u30ff])")
_SEPARATORS = re.compile(r"[\s\-_‐‑‒–—・/]+")
_TRAILING_PAREN = re.compile(r"^(?P<outer>.*?\S)\s*[(（](?P<inner>[^()（）]+)[)）]$")
#: Where a sentence of a definition ends: after a full stop (Japanese or Latin, a Latin
#: period only before a space) or at a line break. Evidence sentences and first sentences
#: are cut by it.
SENTENCE_END = re.compile(r"(?<=[。．！？!?])|(?<=\.)\s+|\n")
#: Evidence longer than this (characters) is cut to a window around the mention, "…" at
#: each cut end: a sentence can be a whole one-line file, and a link keeps its evidence.
EVIDENCE_CHARS = 300
_EVIDENCE_STRIP = " \t-*"


def detect_lang(text: str) -> str:
    """Language tag of a label: ``ja`` when it holds any kana or kanji, else ``en``.

    >>> detect_lang("深層学習"), detect_lang("Poolingレイヤー"), detect_lang("Deep Learning")
    ('ja', 'ja', 'en')
    """
    return "ja" if JAPANESE_CHAR.search(text) else "en"


def normalize(text: str) -> str:
    """Key for label lookup: NFKC (full/half width), case-folded, separators unified,
    a trailing katakana long-vowel mark dropped (コンピューター = コンピュータ).

    >>> normalize("ＬＳＴＭ") == normalize("lstm")
    True
    >>> normalize("Fine-tuning") == normalize("fine tuning")
    True
    >>> normalize("コンピューター") == normalize("コンピュータ")
    True
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _KATAKANA_LONG_VOWEL_END.sub("", text)
    return _SEPARATORS.sub(" ", text).strip()


def split_labels(heading: str) -> list[str]:
    """Labels of a term heading: parts split on ``|``; a trailing parenthesised
    abbreviation or expansion is a label of its own. Order is kept, duplicates dropped.

    >>> split_labels("深層学習 | Deep Learning")
    ['深層学習', 'Deep Learning']
    >>> split_labels("Mixture of Experts (MoE)")
    ['Mixture of Experts', 'MoE']
    >>> split_labels("GPT-4 (2023)")
    ['GPT-4 (2023)']
    """
    labels: list[str] = []
    seen: set[str] = set()
    for part in heading.split("|"):
        part = " ".join(part.split())
        if not part:
            continue
        candidates = [part]
        match = _TRAILING_PAREN.match(part)
        if match and not match["inner"].strip().isdigit():
            candidates = [match["outer"].strip(), match["inner"].strip()]
        for label in candidates:
            key = normalize(label)
            if key and key not in seen:
                seen.add(key)
                labels.append(label)
    return labels


def slugify(text: str) -> str:
    """URI-safe id from a label; keeps non-Latin letters (an IRI), drops punctuation.

    >>> slugify("Deep Learning"), slugify("KL Divergence"), slugify("深層学習")
    ('deep-learning', 'kl-divergence', '深層学習')
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[^\w]+", "-", text)
    return text.strip("-_") or "concept"


def is_abbreviation_of(short: str, long: str) -> bool:
    """Whether ``short`` is the initials of ``long`` (ROC ~ Receiver Operating Characteristic).

    >>> is_abbreviation_of("ROC", "Receiver Operating Characteristic Curve")
    True
    >>> is_abbreviation_of("EM", "Expectation-Maximization")
    True
    """
    letters = re.sub(r"[^A-Za-z]", "", short).lower()
    words = [w for w in re.split(r"[\s\-]+", long) if w]
    if len(letters) < 2 or len(words) < 2:
        return False
    initials = "".join(w[0].lower() for w in words if w[0].isalpha())
    return initials.startswith(letters)


def text_lang(text: str) -> str:
    """Language of a running text: ``ja`` when kana/kanji make up a fifth of its letters.

    >>> text_lang("多層のニューラルネットワークを用いる"), text_lang("Attention (注意) weights tokens")
    ('ja', 'en')
    """
    # Counted by regex, not per character in Python: this runs on every definition at ingest.
    # subn counts without a list of every letter (a string each: 0.7 GB for 20 MB of kanji).
    letters = _LETTERS.subn("", text)[1]
    if not letters:
        return "en"
    ja = _JA_RUN.subn("", text)[1]
    return "ja" if ja / letters >= 0.2 else "en"


def first_sentence(text: str) -> str:
    """``text`` up to the end of its first sentence (see ``SENTENCE_END``).

    >>> first_sentence("予測した正例の割合。F値に影響。"), first_sentence("A v1.2 table. More.")
    ('予測した正例の割合。', 'A v1.2 table.')
    """
    end = SENTENCE_END.search(text)
    return text[:end.start()] if end else text


class Sentences:
    """The sentences of one text, cut where ``SENTENCE_END`` matches, each found in time
    independent of the text's length once the boundaries are known.

    The boundaries are found in one scan of the text, the first time a sentence is asked
    for, and kept in two sorted arrays; each sentence is then found by bisection. Scanning
    the text up to each mention (as ``sentence_at`` once did) was quadratic: a one-line
    definition of 250 KB with thousands of mentions took 154 s and 6 GB. A sentence longer
    than ``limit`` is cut to a window of ``limit`` characters around the mention, with
    "…" at each cut end. Windows start on a grid of half their length, so mentions near
    one another share one window (and one string): evidence is linear in the text.

    >>> s = Sentences("予測した正例の割合。F値に影響。 - A v1.2 table. More")
    >>> s.at(10, 12), s.at(20, 21), s.at(33, 35)
    ('F値に影響。', 'A v1.2 table.', 'More')
    >>> Sentences("word " * 100, limit=20).at(250, 254)
    '…word word word word…'
    """

    def __init__(self, text: str, limit: int = EVIDENCE_CHARS) -> None:
        self.text = text
        self.limit = limit
        self._starts: array | None = None  # boundary matches, in text order
        self._ends: array | None = None
        self._newlines: array | None = None  # only asked for in a run of spaces around a ref's end
        self._found: dict[tuple[int, int], str | tuple[int, int]] = {}  # sentence -> text or stripped bounds
        self._windows: dict[int, str] = {}  # window start -> its text

    def _scan(self) -> None:
        starts, ends = array("q"), array("q")
        for match in SENTENCE_END.finditer(self.text):
            starts.append(match.start())
            ends.append(match.end())
        self._starts, self._ends = starts, ends

    def bounds(self, start: int, end: int) -> tuple[int, int]:
        """``(left, right)``: the sentence holding ``[start, end)``, unstripped.

        The same as the last boundary found scanning ``text[:start]`` and the first found
        searching on from ``end``: a run of spaces after a full stop that holds ``start`` ends
        the sentence before at ``start``, and one that holds ``end`` ends this sentence at its
        first line break, if any.
        """
        if self._starts is None:
            self._scan()
        starts, ends, text = self._starts, self._ends, self.text
        i = bisect_left(starts, start)  # boundaries before i begin before start
        left = min(ends[i - 1], start) if i else 0
        if i < len(starts) and starts[i] == start == ends[i]:  # a full stop just before start
            left = start
        j = bisect_left(starts, end)
        right = starts[j] if j < len(starts) else len(text)
        if j and ends[j - 1] > end:  # end falls in a run of spaces after a full stop
            if self._newlines is None:
                self._newlines = array("q", (m.start() for m in re.finditer("\n", text)))
            k = bisect_left(self._newlines, end)
            if k < len(self._newlines) and self._newlines[k] < ends[j - 1]:
                right = self._newlines[k]
        return left, right

    def at(self, start: int, end: int) -> str:
        """The sentence holding ``text[start:end]``, stripped of spaces, dashes and stars,
        or a window of ``limit`` characters of it around ``[start, end)`` when longer."""
        left, right = self.bounds(start, end)
        found = self._found.get((left, right))
        if found is None:
            whole = self.text[left:right]
            stripped = whole.strip(_EVIDENCE_STRIP)
            if len(stripped) <= self.limit:
                found = stripped
            else:
                head = len(whole) - len(whole.lstrip(_EVIDENCE_STRIP))
                found = (left + head, left + head + len(stripped))
            self._found[(left, right)] = found
        if isinstance(found, str):
            return found
        return self._window(*found, start, end)

    def _window(self, left: int, right: int, start: int, end: int) -> str:
        step = max(self.limit // 2, 1)
        if end - start > self.limit - step:  # a mention too long for a grid window: from its start
            begin = min(max(start, left), right)
            return self._cut(left, right, begin, min(begin + self.limit, right))
        begin = min(left + max(start - left, 0) // step * step, right - self.limit)
        window = self._windows.get((left, right, begin))
        if window is None:
            window = self._windows[(left, right, begin)] = self._cut(left, right, begin, begin + self.limit)
        return window

    def _cut(self, left: int, right: int, begin: int, stop: int) -> str:
        piece = self.text[begin:stop]
        if begin > left:
            piece = "…" + piece.lstrip()
        if stop < right:
            piece = piece.rstrip() + "…"
        return piece

    def pieces(self) -> list[tuple[int, int, str, bool]]:
        """Every sentence ``at`` gives for a mention inside one sentence, in text order, as
        ``(left, begin, piece, window)``: where the sentence starts (before stripping), where
        the piece starts, the piece, and whether it is a window of a long sentence (each one
        on the grid; never the window of a mention too long for the grid)."""
        if self._starts is None:
            self._scan()
        found: list[tuple[int, int, str, bool]] = []
        step = max(self.limit // 2, 1)
        previous, size = 0, len(self.text)
        for start, end in [*zip(self._starts, self._ends, strict=True), (size, size)]:
            if start > previous or start == size:
                whole = self.text[previous:start]
                stripped = whole.strip(_EVIDENCE_STRIP)
                left = previous + len(whole) - len(whole.lstrip(_EVIDENCE_STRIP))
                if len(stripped) <= self.limit:
                    found.append((previous, left, stripped, False))
                else:
                    right = left + len(stripped)
                    for begin in range(left, right - self.limit + step, step):
                        begin = min(begin, right - self.limit)
                        found.append((previous, begin, self._cut(left, right, begin, begin + self.limit), True))
            previous = max(previous, end)
        return found
