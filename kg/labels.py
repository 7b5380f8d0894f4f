"""Label and text helpers: language tags, normalisation for lookup, heading splitting, slugs, sentence ends."""

from __future__ import annotations

import re
import unicodedata

# Hiragana, Katakana (incl. phonetic extensions and half-width forms), CJK ideographs.
_JA_CHARS = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_LETTERS = re.compile(r"[^\W\d_]")  # what str.isalpha accepts, near enough
_JA_RUN = re.compile(r"(?=[^\W\d_])" + _JA_CHARS.pattern)  # a Japanese letter
_KATAKANA_LONG_VOWEL_END = re.compile(r"(?<=[\u30a0-\u30ff])ー(?![\u30a0-\u30ff])")
_SEPARATORS = re.compile(r"[\s\-_‐‑‒–—・/]+")
_TRAILING_PAREN = re.compile(r"^(?P<outer>.*?\S)\s*[(（](?P<inner>[^()（）]+)[)）]$")
#: Where a sentence of a definition ends: after a full stop (Japanese or Latin, a Latin
#: period only before a space) or at a line break. Evidence sentences and first sentences
#: are cut by it.
SENTENCE_END = re.compile(r"(?<=[。．！？!?])|(?<=\.)\s+|\n")


def detect_lang(text: str) -> str:
    """Language tag of a label: ``ja`` when it holds any kana or kanji, else ``en``.

    >>> detect_lang("深層学習"), detect_lang("Poolingレイヤー"), detect_lang("Deep Learning")
    ('ja', 'ja', 'en')
    """
    return "ja" if _JA_CHARS.search(text) else "en"


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
    letters = len(_LETTERS.findall(text))
    if not letters:
        return "en"
    ja = len(_JA_RUN.findall(text))
    return "ja" if ja / letters >= 0.2 else "en"


def first_sentence(text: str) -> str:
    """``text`` up to the end of its first sentence (see ``SENTENCE_END``).

    >>> first_sentence("予測した正例の割合。F値に影響。"), first_sentence("A v1.2 table. More.")
    ('予測した正例の割合。', 'A v1.2 table.')
    """
    end = SENTENCE_END.search(text)
    return text[:end.start()] if end else text
