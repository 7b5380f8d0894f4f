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
* ``part`` — "Xで構成", "Xを持つ", "consists of X": X is a part of the concept;
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
2015), a shared section, and whether the links are mutual. ``kg.prereqs.model`` weighs them.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from kg.prereqs.cues import USE_CUES, WORD, Reading, Use, normalize, use_evidence
from kg.prereqs.dag_index import concatenated_ranges

if TYPE_CHECKING:
    from kg.glossary import Glossary
    from kg.model import Concept

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


@dataclass
class Candidates:
    """Every candidate pair in both orientations: row ``2 i`` is ``pairs[i]`` as (p, c),
    row ``2 i + 1`` the same pair reversed."""

    pairs: list[tuple[str, str]]
    matrix: np.ndarray  # (2 * len(pairs), len(FEATURES))
    # (p, c) -> the sentence of c's definition that uses p (else p's on c); none for unlinked pairs.
    evidence: dict[tuple[str, str], str]
    # (user, used) -> how the user's definition uses the term (cues and the words showing them).
    uses: dict[tuple[str, str], Use] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str]]:
        return [oriented for a, b in self.pairs for oriented in ((a, b), (b, a))]


@functools.lru_cache(maxsize=1 << 18)
def _english_words(text: str) -> tuple[str, ...]:
    words = WORD.findall(normalize(text))
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
    uses_of: dict[tuple[str, str], Use] = {}
    reading: Reading | None = None  # the definition of the user of the edges being read
    for user, used, data in links.edges(data=True):
        n = index[(user, used) if user < used else (used, user)]
        (a_links_b if user < used else b_links_a)[n] = True
        if "broader" in data["kinds"] and len(data["kinds"]) == 1:
            continue
        if reading is None or reading.concept is not concepts[user]:  # edges come user by user
            wanted = {s for d in links[user].values() for s in d.get("sentences") or ()}
            reading = Reading(concepts[user], wanted)
        use = use_evidence(concepts[user], concepts[used], data.get("sentences") or [], int(data.get("count") or 1),
                           reading)
        sentence_of[(user, used)] = use.sentence
        vector = use.vector()
        if use.cues:
            uses_of[(user, used)] = use
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
    return Candidates(pairs, matrix, evidence, uses_of)
