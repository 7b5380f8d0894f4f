"""Japanese morphology for reading mentions: is this occurrence of a label a verb?

A label that ends in kana can be a verb's stem or one of its forms: 埋め込み is the noun
Embedding in "埋め込みベクトル" and the verb embed in "命令を埋め込み、". SudachiPy (already a
dependency for Japanese glossing, ``kg.search.gloss``) tells which from the sentence.
Without it, every occurrence counts as a mention, as before.
"""

from __future__ import annotations

import functools
import re
import threading

_local = threading.local()
_KANA_END = re.compile(r"[\u3041-\u309f]$")  # ends in hiragana: could be a verb form


@functools.lru_cache(maxsize=1)
def _dictionary():
    try:
        from sudachipy import Dictionary

        return Dictionary(dict="core")
    except Exception:  # ImportError, or no core dictionary: read every occurrence as a mention
        return None


def _tokenizer():
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        dictionary = _dictionary()
        if dictionary is None:
            return None
        from sudachipy import SplitMode

        make = getattr(dictionary, "tokenizer", None) or dictionary.create  # create(): older sudachipy
        tokenizer = _local.tokenizer = make(mode=SplitMode.C)
    return tokenizer


# After a verb's continuative form used as a verb: a comma, an auxiliary, a conjunctive
# particle (て), another verb or the sentence's end. Used as a noun (Sudachi tags 埋め込み a
# verb either way) it is followed by a noun or a case particle: "埋め込みベクトル", "埋め込みを".
_GOES_ON_AS_VERB = {"補助記号", "助動詞", "動詞"}


@functools.lru_cache(maxsize=1 << 14)
def _verb_spans(sentence: str) -> tuple[tuple[int, int], ...]:
    """(begin, end) of every verb of ``sentence`` used as a verb (a normalised sentence:
    tokenised once)."""
    tokenizer = _tokenizer()
    if tokenizer is None:
        return ()
    morphemes = list(tokenizer.tokenize(sentence))
    spans = []
    for n, m in enumerate(morphemes):
        if m.part_of_speech()[0] != "動詞":
            continue
        following = morphemes[n + 1].part_of_speech() if n + 1 < len(morphemes) else None
        if following is None or following[0] in _GOES_ON_AS_VERB or following[1] == "接続助詞":
            spans.append((m.begin(), m.end()))
    return tuple(spans)


def is_verb_form(sentence: str, begin: int, end: int) -> bool:
    """Whether ``sentence[begin:end]``, a label ending in hiragana, is (part of) a verb there.

    >>> is_verb_form("命令を埋め込み、実行させる", 3, 7), is_verb_form("埋め込みベクトルを使う", 0, 4)
    (True, False)
    >>> is_verb_form("入力を埋め込みに変換する", 3, 7), is_verb_form("文書を埋め込みます", 3, 7)
    (False, True)
    """
    if not _KANA_END.search(sentence[begin:end]) or len(sentence) > 2000:
        return False
    return any(b < end and begin < e for b, e in _verb_spans(sentence))


_KATAKANA = re.compile(r"[\u30a1-\u30f6]")


def to_hiragana(text: str) -> str:
    """Katakana as hiragana (ア -> あ); everything else as it is."""
    return _KATAKANA.sub(lambda m: chr(ord(m.group()) - 0x60), text)


@functools.lru_cache(maxsize=1 << 14)
def reading(text: str) -> str:
    """How ``text`` is read, in hiragana (SudachiPy's reading of its kanji; kana as written);
    the text itself without SudachiPy.

    >>> reading("深層学習"), reading("トークン")
    ('しんそうがくしゅう', 'とーくん')
    """
    tokenizer = _tokenizer()
    if tokenizer is None:
        return to_hiragana(text)
    return to_hiragana("".join(m.reading_form() or m.surface() for m in tokenizer.tokenize(text)))
