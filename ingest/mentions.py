"""Find mentions of known labels in plain definition text, longest label first.

Only the plain-text segments the Markdown parser recorded are scanned, so code,
math, headings and the text of existing links are never matched. English labels
must stand as whole words; all-capital abbreviations (``RAG``, ``SGD``) match
case-sensitively so that ordinary words are not taken for them; Japanese labels,
written without spaces, match anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.labels import detect_lang


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    target: str
    text: str


def _fold(text: str) -> str:
    # Length-preserving lower-casing so offsets stay valid.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _is_word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


class MentionMatcher:
    """Matches many labels at once: a table by first character, longest first."""

    def __init__(self, labels: dict[str, str], min_length: int = 2) -> None:
        """Args:
        labels: label text -> concept id (ambiguous labels should be left out).
        min_length: shorter labels are never matched.
        """
        table: dict[str, list[tuple[str, bool, bool, str]]] = {}
        for text, target in labels.items():
            if len(text) < min_length:
                continue
            exact = text.isupper() and text.isascii() and len(text) <= 5
            key = text if exact else _fold(text)
            whole_word = detect_lang(text) == "en"
            table.setdefault(key[0], []).append((key, exact, whole_word, target))
        for candidates in table.values():
            candidates.sort(key=lambda c: -len(c[0]))
        self._table = table

    def find(self, text: str, start: int = 0, end: int | None = None) -> list[Mention]:
        """Non-overlapping mentions in ``text[start:end]``, leftmost then longest."""
        end = len(text) if end is None else end
        folded = _fold(text)
        found: list[Mention] = []
        i = start
        while i < end:
            candidates = self._table.get(folded[i], []) + (self._table.get(text[i], []) if text[i] != folded[i] else [])
            match = None
            for key, exact, whole_word, target in candidates:
                stop = i + len(key)
                if stop > end:
                    continue
                haystack = text if exact else folded
                if not haystack.startswith(key, i):
                    continue
                if whole_word and (
                    (i > 0 and _is_word_char(text[i - 1])) or (stop < len(text) and _is_word_char(text[stop]))
                ):
                    continue
                if match is None or len(key) > match.end - match.start:
                    match = Mention(i, stop, target, text[i:stop])
            if match:
                found.append(match)
                i = match.end
            else:
                i += 1
        return found
