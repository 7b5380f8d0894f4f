"""Reading one definition's use of another term: the cues of the sentence and its place.

For each mention, the words around it (particles after it in Japanese, prepositions before
it in English), the sentence it is in and where that sentence stands (the first, a nested
bullet, an item of a list under a header, an example) give the cues of ``USE_CUES``;
``kg.prereqs.features`` turns them into one row per ordered candidate pair.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kg.labels import Sentences, first_sentence
from kg.labels import normalize as _normalize
from kg.prereqs.morphology import is_verb_form

if TYPE_CHECKING:
    from kg.model import Concept

# Labels and sentences are normalised again for every pair they take part in; a hub
# term's labels thousands of times in a large glossary.
normalize = functools.lru_cache(maxsize=1 << 18)(_normalize)


#: Cues read from one definition's use of another term, in this order.
ROLES = ("gen", "obj", "loc", "dat", "com", "subj", "list")


USE_CUES = ("uses", "count", "first", "nested", "genus", "part", "base", "fixes", "derived", "here", "named", "usage",
            "peer", "example", "listed", *(f"role_{role}" for role in ROLES))


#: Cues that say how the concept is made of the term (genus, part, base, derived) or why it
#: exists (fixes): they outweigh a list or an example around the same mention.
STRUCTURAL_CUES = frozenset({"genus", "part", "base", "fixes", "derived"})


# Japanese particles follow the term; English words precede it. Each pattern is tried on
# the folded text after (``_AFTER``) or before (``_BEFORE``) the mention.
_COORD = r"^\s*[)）]?\s*(?:(?:と|や|及び|および|、|,)[^。、,]{1,20}?)?"


_AFTER = {
    "genus": re.compile(
        _COORD + r"(?:の一種|の一つ|の1つ|のひとつ|の変種|の派生|の特殊|の一分野|の分野|の仲間)"
    ),
    "base": re.compile(
        _COORD + r"(?:を用い|を使|を利用|を基に|をもとに|を元に|に基づ|を拡張|を改良|を応用|を組み合わせ|"
        r"を発展|を一般化|"
        r"の拡張|の改良|の応用|の手法|の方法|ベース|-?based)"
    ),
    "part": re.compile(
        _COORD + r"(?:で構成|から構成|からな[りるっ]|から成|を構成|の構成要素|の一部|を持[つち]|を備え|を内蔵|を組み込)"
    ),
    "fixes": re.compile(
        _COORD + r"(?:を防|を抑|を軽減|を緩和|を回避|を解決|を解消|を改善|への対策|を避け|"
        r"回避|防止|抑制|対策|軽減|低減|緩和)"
    ),
    "derived": re.compile(
        _COORD + r"(?:から導出|から計算|から求め|から算出|から得|の調和平均|の平均|の比|の積|の和|"
        r"を最大化|を最小化|を近似)"
    ),
    "named": re.compile(r"^\s*[)）]?\s*(?:と呼ばれ|と呼ぶ|と呼び|という|と称|と言う|と名付け)"),
    "usage": re.compile(
        _COORD + r"(?:で最も|で一般的|で人気|で主流|に対応|対応(?:$|[\s、,。])|がサポート|でサポート|に搭載|"
        r"に組み込まれ|が開発|が提供|"
        r"によって開発|(?:の[^。、]{0,10}?)?(?:での|における|において|向けの|用の)|(?:の[^。、]{0,10}?)?(?:で|に|において|における|向け)(?:[^。]{0,20}?で)?(?:も|は)?"
        r"(?:良く|よく|広く|主に|一般に|多く)?(?:用い|使わ|使用|利用|採用|活用|評価)|で[^。]{0,12}?(?:可能|できる))"
    ),
    "peer": re.compile(
        r"^\s*[)）]?\s*(?:と(?:ほぼ)?同義|と同じ|と同様|と併用|と比較|と異なり|と対照|との違い|と並|と組み合わせて|に対して|"
        r"とは異なる|では(?:な|無)[いく]|で(?:な|無)[いく]|じゃな[いく]|以外)"
    ),
}


_ARTICLE = r"\s+(?:an?\s+|the\s+)?$"


_BEFORE = {
    "genus": re.compile(
        r"(?:kind of|type of|form of|variant of|class of|family of|subfield of|branch of|special case of|"
        r"instance of|subclass of|category of|subset of)" + _ARTICLE
    ),
    "base": re.compile(
        r"(?:based on|built on|built from|builds on|using|uses|use of|applies|applied to|extension of|extends|"
        r"combines|on top of|relies on|by means of|generali[sz]ation of|implemented with)" + _ARTICLE
    ),
    "part": re.compile(
        r"(?:consists? of|consisting of|composed of|made up of|comprises|comprising|built around|has an?|"
        r"have an?|part of|component of|one of the components of)" + _ARTICLE
    ),
    "fixes": re.compile(
        r"(?:prevents?|preventing|reduces?|reducing|avoids?|avoiding|mitigates?|against|addresses|combats?|"
        r"counters?)" + _ARTICLE
    ),
    "derived": re.compile(
        r"(?:derived from|computed from|calculated from|computed as|mean of|average of|ratio of|product of|"
        r"function of|maximi[sz]es|minimi[sz]es|maximi[sz]ing|minimi[sz]ing|approximates?)" + _ARTICLE
    ),
    "named": re.compile(r"(?:called|known as|named|termed|referred to as)" + _ARTICLE),
    "usage": re.compile(
        r"(?:popular in|common in|commonly used in|widely used in|used in|also used in|used for|supported by|"
        r"available in|found in|adopted by|adopted in|implemented in|shipped with|developed by|made by|"
        r"provided by|released by)" + _ARTICLE
    ),
    "peer": re.compile(
        r"(?:unlike|compared to|compared with|similar to|along with|together with|same as|alongside|"
        r"as opposed to|versus|vs\.?|or|not|rather than|instead of|other than)" + _ARTICLE
    ),
    "example": re.compile(r"(?:such as|e\.g\.,?|including|for example,?|like|for instance,?)\s+(?:[^.;]{0,60},\s*)?$"),
}


# A genus that is followed by a name belongs to that name ("…の一種であるRLHF、…").
_GENUS_OF_NEXT = re.compile(r"^\s*[)）]?\s*(?:[^。、,]{0,8}?)(?:の一種|の一つ|の1つ|のひとつ)(?:である|の)\s*[a-z0-9]")


# The role of a mention: the Japanese particle after it, else the English word before it.
_ROLE_AFTER = [(re.compile(p), role) for p, role in (
    (r"^\s*[)）]?\s*の", "gen"), (r"^\s*[)）]?\s*を", "obj"), (r"^\s*[)）]?\s*(?:で|において|における)", "loc"),
    (r"^\s*[)）]?\s*(?:に|へ)", "dat"), (r"^\s*[)）]?\s*と", "com"), (r"^\s*[)）]?\s*(?:が|は|とは)", "subj"),
    (r"^\s*[)）]?\s*(?:や|、|,|，|・)", "list"),
)]


_ROLE_BEFORE = [(re.compile(p + r"\s+(?:an?\s+|the\s+)?$"), role) for p, role in (
    (r"\bof", "gen"), (r"\b(?:uses?|using|applies|apply)", "obj"), (r"\b(?:in|on|at|within|during)", "loc"),
    (r"\b(?:to|for|into)", "dat"), (r"\b(?:with|and|or)", "com"),
)]


# "…など", "…といった": the mention is one of several examples. Only list items may stand
# between it and the marker ("INT8やBF16など"), so that a mention that merely precedes
# the list ("FP32重みをINT8やBF16などに変換") is not taken for one of its items.
_EXAMPLE_AFTER = re.compile(
    r"^\s*[)）]?(?:\s*(?:や|、|,|，|・|と|及び|および|\bor\b|\band\b)\s*[^。.、,，をがはでに]{1,15}?)*"
    r"\s*,?\s*(?:など|等|といった|のような|etc)"
)


# ``_EXAMPLE_AFTER`` as read by ``_example_after``: a separator can also be part of an item
# ("と", "・", " and "), so the regular expression tries every way to split a run of them,
# and " and" sixteen times took 14 s. The same language, read once per position.
_EXAMPLE_SEPARATOR = re.compile(r"や|、|,|，|・|と|及び|および|\bor\b|\band\b")


_EXAMPLE_ITEM = re.compile(r"[^。.、,，をがはでに]*")


_EXAMPLE_MARKER = re.compile(r"\s*,?\s*(?:など|等|といった|のような|etc)")


_SPACES = re.compile(r"\s*")


# The genus of a first sentence: "…を処理するニューラルネットワークです。", "A B-tree is a balanced X".
_HEAD_AFTER = re.compile(r"^\s*[)）]?\s*(?:である|であり|です|のこと|。|$)")


_HEAD_BEFORE = re.compile(r"\b(?:is|are)\s+(?:an?|the)\s+(?:[\w-]+\s+){0,3}$")


# "ここから導出": what was just named is derived from the concept being defined.
_HERE = re.compile(r"^[^。.]*?(?:ここから|これから|これを基に|これをもとに|これを用いて|from this|from it\b)")


# A header of worked examples (the whole header line), under which sentences are demo text.
_DEMO_HEADER = re.compile(r"^(?:例|例文|具体例|使用例|入力例|出力例|e\.g\.|examples?|for example)\s*[:：]?$",
                          re.IGNORECASE)
# A header of what the concept is used for, offers or is good at: its items are uses, not kinds.
_USE_HEADER = re.compile(
    r"(応用|用途|活用|適用先|特徴|機能|メリット|デメリット|利点|欠点|長所|短所|対応|サポート|提供|"
    r"applications?|use cases?|features?|benefits?|advantages?|drawbacks?|supported)[^:：。]{0,6}[:：]?$",
    re.IGNORECASE)
# Before the mention: it sits in an enumeration of examples or sub-items.
_EXAMPLE_CONTEXT = re.compile(
    r"(主な|代表的|例[:：えは]|例として|具体例|が該当|に分かれ|e\.g\.|such as|for example|including|examples?:|種類)",
    re.IGNORECASE,
)


WORD = re.compile(r"[a-z0-9]+")


# Where a list item's head term ends: the item's end, or a separator or a particle after it
# (not の: in "Optimizerの設定" the item is a setting).
_ITEM_HEAD_END = re.compile(r"\s*(?:$|[:：(（\-–—、,，/|]|は|が|を|と|で|に|も)")


# Quotation marks: a term inside a quoted sentence or title is text being shown, not used.
_QUOTES = {"「": "」", "『": "』", "“": "”", "\"": "\""}


def _quoted(text: str, begin: int, end: int) -> bool:
    """Whether ``text[begin:end]`` stands inside a quotation that holds more than it ("例:
    "I love NLP"", 「Attention is all you need」), not one that only marks the term."""
    for opening, closing in _QUOTES.items():
        start = text.rfind(opening, 0, begin)
        if start < 0:
            continue
        if opening == closing and text.count(opening, 0, begin) % 2 == 0:
            continue  # straight quotes: an even number before the term closes them all
        if opening != closing and text.find(closing, start + 1, begin) >= 0:
            continue
        stop = text.find(closing, end)
        if stop >= 0 and (stop - start - 1) > (end - begin) + 4:
            return True
    return False


# "XとYの総称": the concept is the umbrella name of X and Y, which are its kinds.
_UMBRELLA_OF = re.compile(_COORD + r"の総称")


# Opening and closing brackets: a term inside them is an aside, and what follows the
# bracket ("(重みとバイアス)の総称") is said of the word before it, not of the term.
_OPEN, _CLOSE = "(（[［", ")）]］"


def _in_brackets(text: str, begin: int) -> bool:
    """Whether ``text[begin]`` stands inside an unclosed bracket."""
    depth = 0
    for char in reversed(text[:begin]):
        if char in _CLOSE:
            depth += 1
        elif char in _OPEN:
            if depth == 0:
                return True
            depth -= 1
    return False


# A term used as a verb in Japanese: "分類される" (is classified), "最適化させる".
_VERBAL_AFTER = re.compile(r"^(?:される|された|されて|されず|されな|されま|させ)")
# ... and in English: a one-word label right after a modal is its verb ("programs can query
# and update it", "a DBMS may index it"); a modal is never followed by a noun. ("to" is: "similar
# to Query".)
_MODAL_BEFORE = re.compile(r"\b(?:can|cannot|could|may|might|must|shall|should|will|would)(?:\s+not)?\s+$")
_ONE_LATIN_WORD = re.compile(r"[a-z][a-z-]*")


def _english_verb(before: str, text: str) -> bool:
    """Whether the label ``text`` (normalised), found right after ``before``, is a verb there.

    >>> _english_verb("programs can ", "query"), _english_verb("a ", "query")
    (True, False)
    """
    return bool(_ONE_LATIN_WORD.fullmatch(text) and _MODAL_BEFORE.search(before))


@dataclass
class Use:
    """How one definition uses one term: cue values and the sentence that shows it best."""

    cues: dict[str, float] = field(default_factory=dict)
    sentence: str = ""
    words: dict[str, str] = field(default_factory=dict)  # cue -> the words of the sentence that show it

    def vector(self) -> list[float]:
        if not self.cues:
            return NO_CUES
        return [self.cues.get(cue, 0.0) for cue in USE_CUES]


NO_CUES = [0.0] * len(USE_CUES)


def _example_after(after: str) -> bool:
    """Whether ``_EXAMPLE_AFTER`` matches ``after``, in time linear in its length: the
    positions where a run of (separator, item) can end are found each once.

    >>> _example_after("やBF16など"), _example_after(" and" * 40), _example_after("を用いる。など")
    (True, False, False)
    """
    spaces = _SPACES.match(after).end()
    starts = {*range(spaces + 1)}
    if spaces < len(after) and after[spaces] in ")）":
        starts.add(spaces + 1)
    seen, todo = set(starts), list(starts)
    while todo:
        at = todo.pop()
        if _EXAMPLE_MARKER.match(after, at):
            return True
        separator = _EXAMPLE_SEPARATOR.match(after, _SPACES.match(after, at).end())
        if separator is None:
            continue
        begin = separator.end()  # the item may start after any of the spaces that follow
        last = min(_SPACES.match(after, begin).end() + 15, _EXAMPLE_ITEM.match(after, begin).end())
        for end in range(begin + 1, last + 1):
            if end not in seen:
                seen.add(end)
                todo.append(end)
    return False


#: Characters each definition may search for evidence sentences (``Reading``), beyond
#: this many times its length: plenty for every glossary seen, and linear for any.
_SEARCH_BUDGET = (1_000_000, 8)


# Where str.splitlines cuts a line: a sentence holding one of these stands on no line.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class Reading:
    """One definition, read once for all the terms it uses (see ``use_evidence``).

    An evidence sentence is looked for in the definition's text, from its start to where
    the sentence itself stands (found in an index of the definition's sentences, see
    ``kg.labels.Sentences.pieces``), and the header of its list is found from a table of
    every line's header: looking through every line for each sentence of each term used
    was quadratic in a long definition. The searches share a budget linear in the
    definition's length: past it (only ever in hostile input), a sentence is taken to be
    where it stands, and in the first sentence when it stands there. A window of a long
    sentence (``kg.labels.EVIDENCE_CHARS``) is always taken where it stands.
    """

    def __init__(self, concept: Concept, wanted: set[str] | None = None) -> None:
        """Args:
        concept: the concept whose definition uses other terms.
        wanted: the evidence sentences that will be asked for (default: every one).
        """
        self.concept = concept
        self.text = concept.definition_text
        self.lines = self.text.splitlines()
        self.starts: list[int] = []  # where each line starts in ``text``
        at = 0
        for kept in self.text.splitlines(keepends=True):
            self.starts.append(at)
            at += len(kept)
        # The first sentence, not the first line: a one-line definition often goes on with
        # usage notes ("…割合。F値に影響。") that say nothing about its genus.
        self.first = _normalize(first_sentence(self.lines[0])) if self.lines else ""
        self.texts: dict[str, set[str]] = defaultdict(set)  # target -> normalised texts of the links to it
        for link in concept.links:
            if link.text:
                self.texts[link.target].add(normalize(link.text))
        # sentence -> where it first stands in ``text``, whether in the first sentence, whether a window
        self.where: dict[str, tuple[int, bool, bool]] = {}
        offset = 0  # definitions are joined by a blank line (``Concept.definition_text``)
        for number, text in enumerate(d.text for d in concept.definitions if d.text):
            for left, begin, piece, window in Sentences(text).pieces():
                if piece and piece not in self.where and (wanted is None or piece in wanted):
                    self.where[piece] = (offset + begin, number == 0 and left == 0, window)
            offset += len(text) + 2
        self.budget = _SEARCH_BUDGET[0] + _SEARCH_BUDGET[1] * len(self.text)
        self._found: dict[str, int | None] = {}
        self._items: dict[int, str] = {}
        self._headers: list[int] | None = None

    def _line_at(self, position: int) -> int:
        return bisect_right(self.starts, position) - 1

    def line_of(self, sentence: str) -> int | None:
        """The first line that holds ``sentence``, if any."""
        if sentence in self._found:
            return self._found[sentence]
        stands = self.where.get(sentence)
        if stands and stands[2]:
            line = self._line_at(stands[0])
        elif not sentence or _LINE_BREAKS.search(sentence):
            line = None
        else:
            stop = stands[0] + len(sentence) if stands else len(self.text)
            if stop <= self.budget:
                self.budget -= stop
                at = self.text.find(sentence, 0, stop)
                line = None if at < 0 else self._line_at(at)
            else:
                line = self._line_at(stands[0]) if stands else None
        self._found[sentence] = line
        return line

    def in_first(self, sentence: str, folded: str) -> bool:
        """Whether ``sentence`` (``folded``: normalised) is, or is in, the first sentence."""
        if not self.first:
            return False
        stands = self.where.get(sentence)
        if stands and stands[2] or len(self.first) > self.budget:
            return bool(stands and stands[1])
        self.budget -= len(self.first)
        return folded in self.first or self.first in folded

    def _header(self, n: int) -> int | None:
        """The nearest line above ``n`` indented less than it, if any."""
        if self._headers is None:
            self._headers, stack = [], []  # stack: lines, each indented more than the one below it
            for number, line in enumerate(self.lines):
                indent = len(line) - len(line.lstrip())
                while stack and stack[-1][0] >= indent:
                    stack.pop()
                self._headers.append(stack[-1][1] if stack else -1)
                stack.append((indent, number))
        header = self._headers[n]
        return None if header < 0 else header

    def is_demo(self, n: int | None, texts: set[str]) -> bool:
        """Whether line ``n`` is demo content: a sentence (not a term) under a bare "例:" /
        "Example:" header, such as the input of a worked example ("- 例:" then "  - 私は自然
        言語処理が好きです"). A term named there is text being processed, not something used."""
        if n is None:
            return False
        header = self._header(n)
        if header is None or not _DEMO_HEADER.match(self.lines[header].strip(" -*\t")):
            return False
        item = _normalize(self.lines[n].strip(" -*\t0123456789."))
        return not any(t and item.startswith(t) and len(item) <= len(t) + 4 for t in texts)

    def in_use_list(self, n: int | None) -> bool:
        """Whether line ``n`` is an item under a header of applications, features or merits
        ("- 応用分野:" then "  - 自然言語処理 …"): the concept is used there, it is not their kind."""
        if n is None:
            return False
        header = self._header(n)
        return header is not None and bool(_USE_HEADER.search(self.lines[header].strip(" -*\t")))

    def in_enumeration(self, n: int | None, texts: set[str]) -> bool:
        """Whether line ``n`` is an item listed under a header ("- 主なモデル:" then
        "  - CNN: ..."), or a bare list item that is little more than the term itself."""
        if n is None:
            return False
        item = self._items.get(n)
        if item is None:
            item = self._items[n] = _normalize(self.lines[n].strip(" -*\t0123456789."))
        if any(t and item.startswith(t) and len(item) <= len(t) + 4 and _ITEM_HEAD_END.match(item, len(t))
               for t in texts):
            return True  # "- gem5", "- Dropout": an enumeration of kinds or examples
        header = self._header(n)
        # Under a header, the item must be the term itself, or start with it as its head
        # ("CNN: 畳み込み…", "BERT (2018)"): in "- Weight Decay" the item is Weight Decay,
        # of which Weight is only a word.
        return header is not None and self.lines[header].rstrip().endswith((":", "：")) \
            and any(t and item.startswith(t) and _ITEM_HEAD_END.match(item, len(t)) for t in texts)

    def header_text(self, n: int | None) -> str:
        """The header line the item ``n`` hangs under, as written (empty when none)."""
        header = None if n is None else self._header(n)
        return "" if header is None else self.lines[header].strip(" -*\t")


def use_evidence(user: Concept, used: Concept, sentences: list[str], count: int,
                 reading: Reading | None = None) -> Use:
    """How ``user``'s definition uses ``used`` (``sentences``: those holding the references).

    ``reading``: ``user``'s definition already read (``Reading``), when it uses several terms.
    A term named only inside a worked example's text, or only as a verb ("命令を埋め込み、",
    "分類される", "can query"), is not used at all.
    """
    reading = reading or Reading(user, set(sentences))
    texts = set(reading.texts.get(used.id, ()))
    texts |= {normalize(l.text) for l in used.labels}
    texts.discard("")
    if sentences and all(reading.is_demo(reading.line_of(s), texts) for s in sentences):
        return Use({}, "")  # named only inside a worked example's text: no use of the term
    ordered = sorted(texts, key=lambda t: (-len(t), t))  # longest first; one order in every process
    use = Use({"uses": 1.0, "count": math.log1p(count)}, sentences[0] if sentences else "")
    nested = bool(sentences)
    strongest = 0
    as_verb = as_term = False  # whether some occurrence reads as a verb or quoted text, some as the term
    for sentence in sentences:
        folded = normalize(sentence)
        n = reading.line_of(sentence)
        table = " | " in sentence  # a table row: an enumeration, never a definition
        in_first = reading.in_first(sentence, folded)
        listed = reading.in_enumeration(n, texts)
        used_there = reading.in_use_list(n)
        for text in ordered:
            at = folded.find(text)
            if at < 0:
                continue
            before, after = folded[:at], folded[at + len(text) :]
            if _VERBAL_AFTER.match(after) or is_verb_form(folded, at, at + len(text)) \
                    or _english_verb(before, text) or _quoted(folded, at, at + len(text)):
                as_verb = True
                break  # the label's word used as a verb, or inside quoted text: no mention of the term
            as_term = True
            if (n is None or not reading.lines[n].startswith((" ", "\t"))) and not table:
                nested = False  # a top-level line; indented lines and table rows are details
            found: dict[str, tuple[int, int]] = {}  # cue -> the span of ``folded`` that shows it
            end = at + len(text)
            for cue, pattern in _AFTER.items():
                if m := pattern.match(after):
                    found[cue] = (at, end + m.end())
            for cue, pattern in _BEFORE.items():
                if cue not in found and (m := pattern.search(before)):
                    found[cue] = (m.start(), end)
            if table:
                found = {"listed": (at, end)}
            if m := _UMBRELLA_OF.match(after):
                found["listed"] = (at, end + m.end())  # the concept names the kinds it gathers
            if in_first and "genus" not in found:
                if m := _HEAD_AFTER.match(after):
                    found["genus"] = (max(0, at - 12), end + m.end())
                elif m := _HEAD_BEFORE.search(before):
                    found["genus"] = (m.start(), end)
            if _GENUS_OF_NEXT.match(after):
                found.pop("genus", None)
            if _in_brackets(folded, at):
                for cue in (*STRUCTURAL_CUES, "named"):
                    found.pop(cue, None)
            if m := _HERE.match(after):
                found["here"] = (at, end + m.end())
                found.pop("derived", None)  # "…はここから導出": derived from the concept, not the other way
            if not found.keys() & STRUCTURAL_CUES:
                if used_there:
                    found["usage"] = (at, end)
                    use.words.setdefault("usage", _header_quote(reading.header_text(n), sentence))
                elif listed:
                    found["listed"] = (at, end)
                    use.words.setdefault("listed", _header_quote(reading.header_text(n), sentence))
                if (m := _EXAMPLE_CONTEXT.search(before)) or _example_after(after):
                    found["example"] = (max(0, (m.start() if m else at) - 20), min(len(folded), end + 16))
            if in_first:
                found["first"] = _around(folded, at, end)
            role = next((r for pattern, r in _ROLE_AFTER if pattern.match(after)), None)
            role = role or next((r for pattern, r in _ROLE_BEFORE if pattern.search(before)), None)
            if role is None and re.match(r"^\s*(?:is|are|was|can|has|does)\b", after):
                role = "subj"
            if role:
                found[f"role_{role}"] = _around(folded, at, end)
            source = None  # the sentence the words are quoted from, found once
            for cue, (begin, stop) in found.items():
                use.cues[cue] = 1.0
                if cue not in use.words:
                    source = source or _quoted_from(sentence, folded)
                    use.words[cue] = " ".join(source[begin:stop].split())[:120]
            # The sentence shown as evidence: the one with the strongest cue.
            rank = 3 if found.keys() & STRUCTURAL_CUES else 2 if "first" in found else 1
            if rank > strongest:
                strongest, use.sentence = rank, sentence
            break
    if as_verb and not as_term:
        return Use({}, "")
    if nested:
        use.cues["nested"] = 1.0
    return use


def _around(text: str, begin: int, end: int, reach: int = 16) -> tuple[int, int]:
    """The span ``begin:end`` of ``text`` widened by ``reach`` characters each side, to whole
    words in English: the words around a plain mention."""
    left, right = max(0, begin - reach), min(len(text), end + reach)
    while 0 < left < begin and text[left - 1].isascii() and text[left - 1].isalnum():
        left += 1
    while end < right < len(text) and text[right].isascii() and text[right].isalnum():
        right -= 1
    return left, right


def _quoted_from(sentence: str, folded: str) -> str:
    """What spans of ``folded`` (``sentence`` normalised) are quoted from: the sentence as
    written when normalising kept every character in place (most sentences), else ``folded``."""
    written = unicodedata.normalize("NFKC", sentence)
    return written if written.casefold() == folded else folded


def _header_quote(header: str, sentence: str) -> str:
    """A list item with the header it hangs under: "主なモデル: CNN: 畳み込み…"."""
    item = " ".join(sentence.split())[:80]
    return f"{header} {item}" if header else item
