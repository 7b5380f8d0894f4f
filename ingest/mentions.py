"""Find mentions of known labels in plain definition text, longest label first.

Only the plain-text segments the Markdown parser recorded are scanned, so code,
math, headings and the text of existing links are never matched. English labels
must stand as whole words; all-capital abbreviations (``RAG``, ``SGD``) match
case-sensitively so that ordinary words are not taken for them; Japanese labels,
written without spaces, match anywhere. An English label also matches the plural
of its last word (``queries``, ``indexes``, ``LLMs``), see :func:`inflections`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from kg.labels import detect_lang


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    target: str
    text: str


def fold(text: str) -> str:
    """Lower case with the same length, so offsets in the folded text are offsets in ``text``."""
    lowered = text.lower()
    if len(lowered) == len(text):  # almost always; "İ" lowers to two characters
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


_fold = fold


def _is_word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


_CHUNK = 1 << 16  # characters of a segment scanned at once (see MentionMatcher.iter_find)
_LAST_WORD = re.compile(r"[A-Za-z]+$")
# A bare URL is an address, not prose: ".../Comparison_of_video_codecs" mentions no codec.
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+", re.IGNORECASE)
# Plurals that are words of their own ("by means of", "three times"): never read as the singular.
_OTHER_WORDS = {"means", "news", "goods", "times", "arms", "customs", "ones", "suffices"}


def inflections(label: str) -> list[str]:
    """Plural forms of an English label, inflecting its last word.

    All-caps abbreviations take a lower-case ``s``; other words ``-s``, ``-es`` after
    s/x/z/ch/sh, ``-ies`` for consonant + ``y``, and also ``-ices`` for ``-ex``/``-ix``.
    A last word of fewer than three letters (``Go``) is not inflected unless all-caps:
    its plural is too likely another word.

    >>> inflections("Query"), inflections("Index"), inflections("Key")
    (['Queries'], ['Indexes', 'Indices'], ['Keys'])
    >>> inflections("Large Language Model"), inflections("LLM"), inflections("DBMS"), inflections("DB")
    (['Large Language Models'], ['LLMs'], ['DBMSs'], ['DBs'])
    >>> inflections("Bias"), inflections("Batch")
    (['Biases'], ['Batches'])
    >>> inflections("Go"), inflections("GPT-4"), inflections("Mean")
    ([], [], [])
    """
    match = _LAST_WORD.search(label)
    if not match:
        return []
    word, stem = match.group(), label[: match.start()]
    if word.isupper() and len(word) >= 2:
        forms = [word + "s"]
    elif len(word) < 3:
        return []
    elif word[-1] in "yY" and word[-2].lower() not in "aeiou":
        forms = [word[:-1] + "ies"]
    elif word.lower().endswith(("s", "x", "z", "ch", "sh")):
        forms = [word + "es"] + ([word[:-2] + "ices"] if word.lower().endswith(("ex", "ix")) else [])
    else:
        forms = [word + "s"]
    return [stem + form for form in forms if form.lower() not in _OTHER_WORDS]


class MentionMatcher:
    """Matches many labels at once with two Aho-Corasick automata (folded and case-exact keys).

    One pass over a text finds every label occurrence whatever the number of labels; a
    table scanned at each character cost time in proportion to the labels sharing that
    character, which at 10,000 concepts made mention finding most of the ingest time. The
    automata are ahocorasick-rs (Rust): pyahocorasick looks a node's children up one by one,
    and the root of a Japanese glossary has thousands (one per kanji a label starts with),
    so its scans took 6.7 s over 30,000 synthetic definitions, against 0.3 s.
    """

    def __init__(self, labels: dict[str, str], min_length: int = 2) -> None:
        """Args:
        labels: label text -> concept id (ambiguous labels should be left out).
        min_length: shorter labels are never matched.
        """
        import ahocorasick_rs

        keys: dict[tuple[str, bool], tuple[bool, str]] = {}  # (key, exact) -> (whole_word, target)
        plurals: dict[str, tuple[bool, str] | None] = {}  # None: two labels give this plural
        for text, target in labels.items():
            if len(text) < min_length:
                continue
            exact = text.isupper() and text.isascii() and len(text) <= 5
            key = text if exact else _fold(text)
            whole_word = detect_lang(text) == "en"
            keys.setdefault((key, exact), (whole_word, target))
            for form in inflections(text) if whole_word else []:
                form = form if exact else _fold(form)
                plurals[form] = (exact, target) if plurals.get(form, (exact, target)) == (exact, target) else None
        taken = {_fold(key) for key, _ in keys}
        for form, found in plurals.items():
            if found and _fold(form) not in taken:  # a label that is itself a plural wins
                keys.setdefault((form, found[0]), (True, found[1]))
        # exact -> (automaton, (whole_word, target) of each of its patterns by pattern number, longest length)
        self._automata: dict[bool, tuple[ahocorasick_rs.AhoCorasick, list[tuple[bool, str]], int]] = {}
        for exact in (False, True):
            patterns = [(key, found) for (key, is_exact), found in keys.items() if is_exact == exact]
            if patterns:
                automaton = ahocorasick_rs.AhoCorasick([key for key, _ in patterns],
                                                       matchkind=ahocorasick_rs.MatchKind.Standard)
                longest = max(len(key) for key, _ in patterns)
                self._automata[exact] = (automaton, [found for _, found in patterns], longest)

    def find(self, text: str, start: int = 0, end: int | None = None, *, folded: str | None = None) -> list[Mention]:
        """Non-overlapping mentions in ``text[start:end]``, leftmost then longest; none in bare URLs.

        Pass ``folded=fold(text)`` when scanning several segments of one text, to fold it once.

        >>> matcher = MentionMatcher({"Codec": "codec", "Query": "query", "DBMS": "dbms", "Go": "go"})
        >>> [m.text for m in matcher.find("queries run on DBMSs; a codec, two codecs")]
        ['queries', 'DBMSs', 'codec', 'codecs']
        >>> [m.text for m in matcher.find("see https://example.org/List_of_codecs, Gos, goes, codecsx, dbmss")]
        []
        """
        return list(self.iter_find(text, start, end, folded=folded))

    def iter_find(self, text: str, start: int = 0, end: int | None = None, *,
                  folded: str | None = None) -> Iterator[Mention]:
        """``find``, one mention at a time, reading the text ``_CHUNK`` characters at a time:
        a whole segment's matches at once took a gigabyte for one line of 20 MB."""
        end = len(text) if end is None else min(end, len(text))  # a segment may run into stripped trailing space
        if start >= end or not self._automata:
            return
        folded = _fold(text) if folded is None else folded
        urls = [(m.start(), m.end()) for m in _URL.finditer(text, start, end)]
        url_starts = [a for a, _ in urls]
        position = start
        for chunk in range(start, end, _CHUNK):
            # Matches starting in this chunk, read with room for the longest pattern after it.
            stop_at = min(chunk + _CHUNK, end)
            candidates: list[tuple[int, int, str]] = []
            for exact, (automaton, found, longest) in self._automata.items():
                scanned = (text if exact else folded)[chunk:min(stop_at + longest, end)]
                for pattern, first, stop in automaton.find_matches_as_indexes(scanned, overlapping=True):
                    i, stop = first + chunk, stop + chunk
                    if i >= stop_at:
                        continue
                    whole_word, target = found[pattern]
                    if whole_word and (
                        (i > 0 and _is_word_char(text[i - 1])) or (stop < len(text) and _is_word_char(text[stop]))
                    ):
                        continue
                    # The URL starting last at or before i (they never overlap): a scan of every
                    # URL at each match was quadratic in a segment of many URLs.
                    if urls and (at := bisect_right(url_starts, i)) and i < urls[at - 1][1]:
                        continue
                    candidates.append((i, i - stop, target))
            for i, negative_length, target in sorted(candidates):
                if i >= position:
                    yield Mention(i, i - negative_length, target, text[i:i - negative_length])
                    position = i - negative_length
