"""What the glossary's text says about the direction of a prerequisite: one feature vector per ordered pair.

A candidate pair is two concepts that the glossary connects: one definition uses
the other (a link or a mention), a label of one contains a label of the other with
no third label between (``nearest_containments``), or a SKOS hierarchy relates them.
Each candidate is read in both orientations;
``features(p, c)`` describes "p is to be learnt before c" and holds, for both
definitions (how *c* uses *p*, then how *p* uses *c*):

* ``uses`` / ``count`` — the definition refers to the other at all, how often;
* ``first`` — in its first sentence (where a definition names its genus);
* ``nested`` — only in indented sub-bullets or table rows (details, not the definition);
* ``genus`` — "Xの一種", "a kind of X", or X as the head noun of the first sentence;
* ``base`` — "Xを用いた", "Xに基づく", "based on X", "X-based";
* ``fixes`` — "Xを防ぐ", "prevents X": the concept exists because of X;
* ``derived`` — "Xから導出", "Xの調和平均", "computed from X";
* ``here`` — "ここから導出" after X: X is derived from the defining concept;
* ``named`` — "Xと呼ばれる", "called X": the definition names X as its part;
* ``usage`` — "Xで一般的", "Xの評価にも用いられる", "popular in X", "developed by X": a usage
  note or a context, not something the concept is built from;
* ``peer`` — "Xと併用", "Xとほぼ同義", "unlike X", "together with X": a sibling;
* ``example`` — X is given as an example ("such as X", "Xなど", "主な…");
* ``listed`` — X is an item of a list under a header ("- 主なモデル:" then "  - X: …");
* ``role_*`` — the grammatical role of the mention, read off the particle after it or
  the preposition before it: ``gen`` (Xの, of X), ``obj`` (Xを), ``loc`` (Xで, in X),
  ``dat`` (Xに, to/for X), ``com`` (Xと, with X), ``subj`` (Xが/Xは), ``list`` (Xや, X、);

and for the pair: label containment each way, a SKOS ``broader`` each way, the
difference in how many definitions use each (generality), RefD (Liang et al.
2015), a shared section, and whether the links are mutual. ``kg.prereq_model`` weighs them.
"""

from __future__ import annotations

import functools
import math
import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from kg.dag_index import concatenated_ranges
from kg.labels import Sentences, first_sentence
from kg.labels import normalize as _normalize

# Labels and sentences are normalised again for every pair they take part in; a hub
# term's labels thousands of times in a large glossary.
normalize = functools.lru_cache(maxsize=1 << 18)(_normalize)

if TYPE_CHECKING:
    from kg.glossary import Glossary
    from kg.model import Concept

#: Cues read from one definition's use of another term, in this order.
ROLES = ("gen", "obj", "loc", "dat", "com", "subj", "list")
USE_CUES = ("uses", "count", "first", "nested", "genus", "base", "fixes", "derived", "here", "named", "usage",
            "peer", "example", "listed", *(f"role_{role}" for role in ROLES))
#: Features of a pair, in this order (``<cue>_c`` : how c uses p; ``<cue>_p``: how p uses c).
FEATURES = (
    *(f"{cue}_c" for cue in USE_CUES),
    *(f"{cue}_p" for cue in USE_CUES),
    "label_c",  # a label of c contains a label of p
    "label_p",
    "broader_c",  # c is narrower than p (SKOS)
    "broader_p",
    "general",  # log in-degree of p minus that of c
    "refd",  # RefD(c, p) > 0: c's references point to p
    "section",  # the two share a section or note folder
    "mutual",  # each definition uses the other
)

# Japanese particles follow the term; English words precede it. Each pattern is tried on
# the folded text after (``_AFTER``) or before (``_BEFORE``) the mention.
_COORD = r"^\s*[)）]?\s*(?:(?:と|や|及び|および|、|,)[^。、,]{1,20}?)?"
_AFTER = {
    "genus": re.compile(
        _COORD + r"(?:の一種|の一つ|の1つ|のひとつ|の変種|の派生|の特殊|の一分野|の分野|の仲間|の総称)"
    ),
    "base": re.compile(
        _COORD + r"(?:を用い|を使|を利用|を基に|をもとに|を元に|に基づ|を拡張|を改良|を応用|を組み合わせ|"
        r"を発展|を一般化|"
        r"の拡張|の改良|の応用|の手法|の方法|ベース|-?based)"
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
        _COORD + r"(?:で最も|で一般的|で人気|で主流|に対応|がサポート|でサポート|に搭載|に組み込まれ|が開発|が提供|"
        r"によって開発|(?:の[^。、]{0,10}?)?(?:での|における|において|向けの|用の)|(?:の[^。、]{0,10}?)?(?:で|に|において|における|向け)(?:[^。]{0,20}?で)?(?:も|は)?"
        r"(?:良く|よく|広く|主に|一般に|多く)?(?:用い|使わ|使用|利用|採用|活用|評価)|で[^。]{0,12}?(?:可能|できる))"
    ),
    "peer": re.compile(
        r"^\s*[)）]?\s*(?:と(?:ほぼ)?同義|と同じ|と同様|と併用|と比較|と異なり|と対照|との違い|と並|と組み合わせて|に対して|"
        r"とは異なる)"
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
        r"as opposed to|versus|vs\.?|or)" + _ARTICLE
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
# Before the mention: it sits in an enumeration of examples or sub-items.
_EXAMPLE_CONTEXT = re.compile(
    r"(主な|代表的|例[:：えは]|例として|具体例|が該当|に分かれ|e\.g\.|such as|for example|including|examples?:|種類)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Use:
    """How one definition uses one term: cue values and the sentence that shows it best."""

    cues: dict[str, float] = field(default_factory=dict)
    sentence: str = ""

    def vector(self) -> list[float]:
        if not self.cues:
            return _NO_CUES
        return [self.cues.get(cue, 0.0) for cue in USE_CUES]


_NO_CUES = [0.0] * len(USE_CUES)


@dataclass
class Candidates:
    """Every candidate pair in both orientations: row ``2 i`` is ``pairs[i]`` as (p, c),
    row ``2 i + 1`` the same pair reversed."""

    pairs: list[tuple[str, str]]
    matrix: np.ndarray  # (2 * len(pairs), len(FEATURES))
    # (p, c) -> the sentence of c's definition that uses p (else p's on c); none for unlinked pairs.
    evidence: dict[tuple[str, str], str]

    def rows(self) -> list[tuple[str, str]]:
        return [oriented for a, b in self.pairs for oriented in ((a, b), (b, a))]


@functools.lru_cache(maxsize=1 << 18)
def _english_words(text: str) -> tuple[str, ...]:
    words = _WORD.findall(normalize(text))
    return tuple(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)


def _label_keys(label, lookup: bool = False) -> list[str]:
    """Index keys of a label: its English words, or its Japanese character bigrams and
    trigrams. Looked up (``lookup``), a Japanese label of three characters or more gives
    only its trigrams: a label containing it holds them all, and a trigram is shared by
    far fewer labels than a bigram."""
    if label.lang == "en":
        return list(_english_words(label.text))
    text = normalize(label.text)
    trigrams = [text[i : i + 3] for i in range(len(text) - 2)]
    if lookup and trigrams:
        return trigrams
    return [text[i : i + 2] for i in range(len(text) - 1)] + ([] if lookup else trigrams)


def label_contains(outer: Concept, inner: Concept) -> bool:
    """Whether a label of ``outer`` contains a label of ``inner`` (as whole words in English)."""
    return _forms_contain(_label_forms(outer), _label_forms(inner))


def _label_forms(concept: Concept) -> list[tuple[str, str | tuple[str, ...]]]:
    """Each label as compared: (lang, its English words) or (lang, its normalized text)."""
    return [(label.lang, _english_words(label.text) if label.lang == "en" else normalize(label.text))
            for label in concept.labels]


def _forms_contain(outer: list, inner: list) -> bool:
    for lang, a in outer:
        for small_lang, b in inner:
            if small_lang != lang:
                continue
            if lang == "en":
                if 0 < len(b) < len(a) and any(a[i : i + len(b)] == b for i in range(len(a) - len(b) + 1)):
                    return True
            elif len(b) >= 2 and len(a) > len(b) and b in a:
                return True
    return False


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


#: Characters each definition may search for evidence sentences (``_Reading``), beyond
#: this many times its length: plenty for every glossary seen, and linear for any.
_SEARCH_BUDGET = (1_000_000, 8)
# Where str.splitlines cuts a line: a sentence holding one of these stands on no line.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class _Reading:
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

    def in_enumeration(self, n: int | None, texts: set[str]) -> bool:
        """Whether line ``n`` is an item listed under a header ("- 主なモデル:" then
        "  - CNN: ..."), or a bare list item that is little more than the term itself."""
        if n is None:
            return False
        item = self._items.get(n)
        if item is None:
            item = self._items[n] = _normalize(self.lines[n].strip(" -*\t0123456789."))
        if any(t and item.startswith(t) and len(item) <= len(t) + 4 for t in texts):
            return True  # "- gem5", "- Dropout": an enumeration of kinds or examples
        header = self._header(n)
        return header is not None and self.lines[header].rstrip().endswith((":", "："))


def use_evidence(user: Concept, used: Concept, sentences: list[str], count: int,
                 reading: _Reading | None = None) -> Use:
    """How ``user``'s definition uses ``used`` (``sentences``: those holding the references).

    ``reading``: ``user``'s definition already read (``_Reading``), when it uses several terms.
    """
    reading = reading or _Reading(user, set(sentences))
    texts = set(reading.texts.get(used.id, ()))
    texts |= {normalize(l.text) for l in used.labels}
    texts.discard("")
    ordered = sorted(texts, key=lambda t: (-len(t), t))  # longest first; one order in every process
    use = Use({"uses": 1.0, "count": math.log1p(count)}, sentences[0] if sentences else "")
    nested = bool(sentences)
    strongest = 0
    for sentence in sentences:
        folded = normalize(sentence)
        n = reading.line_of(sentence)
        table = " | " in sentence  # a table row: an enumeration, never a definition
        if (n is None or not reading.lines[n].startswith((" ", "\t"))) and not table:
            nested = False  # a top-level line; indented lines and table rows are details
        in_first = reading.in_first(sentence, folded)
        listed = reading.in_enumeration(n, texts)
        for text in ordered:
            at = folded.find(text)
            if at < 0:
                continue
            before, after = folded[:at], folded[at + len(text) :]
            found = {cue for cue, pattern in _AFTER.items() if pattern.match(after)}
            found |= {cue for cue, pattern in _BEFORE.items() if pattern.search(before)}
            if table:
                found = {"listed"}
            if in_first and (_HEAD_AFTER.match(after) or _HEAD_BEFORE.search(before)):
                found.add("genus")
            if _GENUS_OF_NEXT.match(after):
                found.discard("genus")
            if _HERE.match(after):
                found.add("here")
                found.discard("derived")  # "…はここから導出": derived from the concept, not the other way
            if not found & {"genus", "base", "fixes", "derived"}:
                if listed:
                    found.add("listed")
                if _EXAMPLE_CONTEXT.search(before) or _example_after(after):
                    found.add("example")
            if in_first:
                found.add("first")
            role = next((r for pattern, r in _ROLE_AFTER if pattern.match(after)), None)
            role = role or next((r for pattern, r in _ROLE_BEFORE if pattern.search(before)), None)
            if role is None and re.match(r"^\s*(?:is|are|was|can|has|does)\b", after):
                role = "subj"
            if role:
                found.add(f"role_{role}")
            for cue in found:
                use.cues[cue] = 1.0
            # The sentence shown as evidence: the one with the strongest cue.
            rank = 3 if found & {"genus", "base", "fixes", "derived"} else 2 if "first" in found else 1
            if rank > strongest:
                strongest, use.sentence = rank, sentence
            break
    if nested:
        use.cues["nested"] = 1.0
    return use


def _refd(graph: nx.DiGraph, ids: list[str], first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """RefD(a, b) of each pair (``ids[first[i]]``, ``ids[second[i]]``): > 0 when a's references
    point to b more than b's point to a (b is needed for a).

    The share of x's references (but y) that link to y is the number of paths x -> z -> y
    over x's out-degree (less one when x links to y). The paths are counted along the
    shorter of two lists: the z that x links to (is z -> y a link?) or the z that link to
    y (is x -> z one?), each looked up among the sorted link keys. A hub is linked to by
    thousands, so taking y's in-links for every pair (a sparse row product) cost time in
    proportion to the hubs' in-degrees. The link graph has no self-loops (see
    ``kg.graph``), so z is never y.
    """
    row = {cid: n for n, cid in enumerate(ids)}
    n = max(len(ids), 1)
    users = np.fromiter((row[a] for a, _ in graph.edges()), dtype=np.int64, count=graph.number_of_edges())
    used = np.fromiter((row[b] for _, b in graph.edges()), dtype=np.int64, count=graph.number_of_edges())
    keys = np.sort(users * n + used)
    # Adjacency lists as one array each: node x's are lists[starts[x]:starts[x + 1]].
    out_list, out_degree, out_starts = _lists(users, used, n)
    in_list, in_degree, in_starts = _lists(used, users, n)

    def linked(key: np.ndarray) -> np.ndarray:
        if not len(keys):
            return np.zeros(len(key), dtype=bool)
        return keys[np.minimum(np.searchsorted(keys, key), len(keys) - 1)] == key

    def walk(nodes: np.ndarray, degree: np.ndarray, starts: np.ndarray, lists: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """Each node's list, flat, with the index of the node it belongs to."""
        counts = degree[nodes]
        return np.repeat(np.arange(len(nodes)), counts), lists[concatenated_ranges(starts[nodes], counts)]

    def share(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        paths = np.zeros(len(x))
        from_x = out_degree[x] <= in_degree[y]
        for out_links, pick in ((True, np.flatnonzero(from_x)), (False, np.flatnonzero(~from_x))):
            for begin in range(0, len(pick), _REFD_PAIRS):
                part = pick[begin:begin + _REFD_PAIRS]
                xs, ys = x[part], y[part]
                if out_links:
                    owner, via = walk(xs, out_degree, out_starts, out_list)
                    found = linked(via * n + ys[owner])
                else:
                    owner, via = walk(ys, in_degree, in_starts, in_list)
                    found = linked(xs[owner] * n + via)
                paths[part] = np.bincount(owner, weights=found, minlength=len(part))
        refs = out_degree[x] - linked(x * n + y)
        return np.divide(paths, refs, out=np.zeros(len(x)), where=refs > 0)

    return share(first, second) - share(second, first)


def _lists(heads: np.ndarray, tails: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tails of each head's arcs in one array, with each head's count and start."""
    degree = np.bincount(heads, minlength=n)
    return tails[np.argsort(heads, kind="stable")], degree, np.concatenate(([0], np.cumsum(degree)))


_REFD_PAIRS = 20_000  # pairs per step of ``_refd`` (bounds the memory of their listed links)


def candidate_pairs(glossary: Glossary, contained: set[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """Unordered candidate pairs (sorted within and across), from links, labels and hierarchy.
    ``contained``: the glossary's ``label_containments`` when already found.

    Definitions that are merely similar make no pair: the three most similar by TF-IDF
    cosine added 18 pairs to the labelled glossaries and nothing to leave-one-file-out
    quality (84% correct either way, precision 90% without them against 88%), and
    counting every definition's terms for it took a fifth of ingest at 100,000 concepts.
    """
    pairs: set[tuple[str, str]] = set()

    def add(a: str, b: str) -> None:
        if a != b:
            pairs.add((a, b) if a < b else (b, a))

    for user, used in glossary.graph.edges():
        add(user, used)
    for outer, inner in nearest_containments(label_containments(glossary) if contained is None else contained):
        add(outer, inner)
    for concept in glossary.concepts.values():
        for parent in concept.broader:
            if parent in glossary.concepts:
                add(parent, concept.id)
    return sorted(pairs)


def nearest_containments(contained: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs of ``contained`` with no label between: (Large Language Model, Model) goes
    when both hold Language Model, which holds Model. Containment is transitive, so the
    chain through Language Model still leads from Model to Large Language Model, and a
    common word's label stops pairing with every label that holds it again and again (in
    a synthetic glossary of 100,000 concepts, 308,000 pairs where there were 488,000). Two
    concepts that each hold a label of the other are no middle for one another."""
    inners: dict[str, set[str]] = defaultdict(set)
    for outer, inner in contained:
        inners[outer].add(inner)
    return [(outer, inner) for outer, held in inners.items() for inner in held
            if not any((middle, inner) in contained and (inner, middle) not in contained
                       for middle in held if middle != inner)]


def label_containments(glossary: Glossary) -> set[tuple[str, str]]:
    """Every (outer, inner) of concepts where ``label_contains(outer, inner)``, found through
    an index of label keys rather than by comparing every two concepts."""
    concepts = glossary.concepts
    forms = {cid: _label_forms(concept) for cid, concept in concepts.items()}
    holders: dict[str, set[str]] = defaultdict(set)  # English word or Japanese bigram -> concepts
    for concept in concepts.values():
        for label in concept.labels:
            for key in _label_keys(label):
                holders[key].add(concept.id)
    found: set[tuple[str, str]] = set()
    for inner in concepts.values():
        checked: set[str] = {inner.id}
        for label in inner.labels:
            keys = _label_keys(label, lookup=True)
            if not keys:
                continue
            # A label holding this one holds each of its keys: the rarest names the fewest to check.
            for outer_id in min((holders[key] for key in keys), key=len):
                if outer_id not in checked:
                    checked.add(outer_id)
                    if _forms_contain(forms[outer_id], forms[inner.id]):
                        found.add((outer_id, inner.id))
    return found


def extract(glossary: Glossary) -> Candidates:
    """Feature vectors of every candidate pair, both orientations (see ``Candidates``).

    Built column by column over all pairs: a Python row per pair took most of prerequisite
    inference at 100,000 concepts (700,000 pairs). Only a definition's use of a term it
    links to is read in Python, once per link.
    """
    links = glossary.graph
    concepts = glossary.concepts
    contained = label_containments(glossary)
    pairs = candidate_pairs(glossary, contained)
    index = {pair: n for n, pair in enumerate(pairs)}
    ids = list(concepts)
    row = {cid: n for n, cid in enumerate(ids)}
    first = np.fromiter((row[a] for a, _ in pairs), dtype=np.int64, count=len(pairs))
    second = np.fromiter((row[b] for _, b in pairs), dtype=np.int64, count=len(pairs))
    # Row 2 i is (p, c) = pairs[i] = (a, b), row 2 i + 1 is (b, a): each column is written for
    # the (a, b) rows, then for the (b, a) rows.
    matrix = np.zeros((2 * len(pairs), len(FEATURES)), dtype=np.float64)
    forward, backward = matrix[0::2], matrix[1::2]
    uses = len(USE_CUES)  # columns [0, uses): how c uses p; [uses, 2 uses): how p uses c
    column = {name: n for n, name in enumerate(FEATURES)}

    # How each definition uses each term it links to (never for a link that is only "broader").
    evidence: dict[tuple[str, str], str] = {}
    a_links_b = np.zeros(len(pairs), dtype=bool)
    b_links_a = np.zeros(len(pairs), dtype=bool)
    sentence_of: dict[tuple[str, str], str] = {}
    reading: _Reading | None = None  # the definition of the user of the edges being read
    for user, used, data in links.edges(data=True):
        n = index[(user, used) if user < used else (used, user)]
        (a_links_b if user < used else b_links_a)[n] = True
        if "broader" in data["kinds"] and len(data["kinds"]) == 1:
            continue
        if reading is None or reading.concept is not concepts[user]:  # edges come user by user
            wanted = {s for d in links[user].values() for s in d.get("sentences") or ()}
            reading = _Reading(concepts[user], wanted)
        use = use_evidence(concepts[user], concepts[used], data.get("sentences") or [], int(data.get("count") or 1),
                           reading)
        sentence_of[(user, used)] = use.sentence
        vector = use.vector()
        if user < used:  # a uses b: how p uses c in (a, b), how c uses p in (b, a)
            forward[n, uses:2 * uses] = vector
            backward[n, :uses] = vector
        else:
            forward[n, :uses] = vector
            backward[n, uses:2 * uses] = vector
    for user, used in sentence_of:  # (p, c): c's words on p, else p's listing c
        for p, c in ((used, user), (user, used)):
            if sentence := sentence_of.get((c, p)) or sentence_of.get((p, c)):
                evidence[(p, c)] = sentence

    is_broader = {(cid, parent) for cid, concept in concepts.items() for parent in concept.broader}
    indegree = np.array([math.log1p(links.in_degree(cid)) for cid in ids])
    collections = [frozenset(concepts[cid].collections) for cid in ids]
    refd = _refd(links, ids, second, first)  # RefD(b, a); the reverse orientation is its negation

    def flags(test) -> np.ndarray:
        return np.fromiter((test(a, b) for a, b in pairs), dtype=np.float64, count=len(pairs))

    forward[:, column["label_c"]] = backward[:, column["label_p"]] = flags(lambda a, b: (b, a) in contained)
    forward[:, column["label_p"]] = backward[:, column["label_c"]] = flags(lambda a, b: (a, b) in contained)
    forward[:, column["broader_c"]] = backward[:, column["broader_p"]] = flags(lambda a, b: (b, a) in is_broader)
    forward[:, column["broader_p"]] = backward[:, column["broader_c"]] = flags(lambda a, b: (a, b) in is_broader)
    forward[:, column["general"]] = indegree[first] - indegree[second]
    backward[:, column["general"]] = indegree[second] - indegree[first]
    forward[:, column["refd"]] = refd
    backward[:, column["refd"]] = -refd
    pairs_at = zip(first.tolist(), second.tolist(), strict=True)
    shared = np.fromiter((not collections[i].isdisjoint(collections[j]) for i, j in pairs_at),
                         dtype=np.float64, count=len(pairs))
    matrix[:, column["section"]] = np.repeat(shared, 2)
    matrix[:, column["mutual"]] = np.repeat((a_links_b & b_links_a).astype(np.float64), 2)
    return Candidates(pairs, matrix, evidence)
