"""Merge term entries into concepts: one concept per real concept.

The rule (also in the README):

1. Two entries that share an **English** label (after normalisation: case, width,
   hyphens) are the same concept: ``## Fine-tuning`` in one file and
   ``## ファインチューニング | fine-Tuning`` in another.
2. Two entries that share only a **Japanese** label are the same concept unless
   both also carry English labels and no English label of one is related to an
   English label of the other. Related means: one contains the other
   (Speech Recognition / Automatic Speech Recognition), one is the initials of the
   other (ROC Curve / Receiver Operating Characteristic Curve, EM / Expectation-
   Maximization), or they share a content word stem (Sampling Error / Sample
   Error). So ``正規化 | Regularization`` and ``正規化 | Normalization`` stay two
   concepts, and the shared label is reported as a conflict.
3. Merging is transitive, and a merged group is checked as a whole, so an entry
   never joins two groups that rule 2 keeps apart.
4. A merged concept keeps every label (first spelling wins, first label of each
   language is its prefLabel, taken from the fullest entry), every non-empty
   definition with its source, and every source. Empty duplicate headings add
   labels and sources, never empty definitions.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from kg.labels import is_abbreviation_of, normalize, slugify
from kg.model import Issue, Label

from .md_entries import Entry

# Groups sharing a Japanese label that a group kept apart tries to join, and label pairs
# compared word by word for two groups: far beyond any glossary, bounds for one made to be slow.
_MAX_TRIED = 20
_MAX_PAIRS = 2_500
# Words too general to show that two English labels name the same thing.
_GENERIC = {"learn", "model", "netwo", "funct", "layer", "algor", "metho", "data", "proce", "syste", "the", "of", "and"}


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z0-9]+", normalize(text))} - _GENERIC


def english_labels_related(a: str, b: str) -> bool:
    """Whether two English labels plausibly name one concept.

    >>> english_labels_related("Speech Recognition", "Automatic Speech Recognition")
    True
    >>> english_labels_related("ROC Curve", "Receiver Operating Characteristic Curve")
    True
    >>> english_labels_related("Regularization", "Normalization")
    False
    """
    na, nb = normalize(a), normalize(b)
    if na == nb or f" {na} " in f" {nb} " or f" {nb} " in f" {na} ":
        return True
    if is_abbreviation_of(a, b) or is_abbreviation_of(b, a):
        return True
    return bool(_stems(a) & _stems(b))


def _letters(text: str) -> str:
    """What ``is_abbreviation_of`` reads of a short label: its ASCII letters, lower case."""
    return re.sub(r"[^A-Za-z]", "", text).lower()


def _initials(text: str) -> set[str]:
    """The abbreviations ``is_abbreviation_of`` accepts for a long label: its initials'
    prefixes of two letters or more."""
    words = [w for w in re.split(r"[\s\-]+", text) if w]
    if len(words) < 2:
        return set()
    initials = "".join(w[0].lower() for w in words if w[0].isalpha())
    return {initials[:n] for n in range(2, len(initials) + 1)}


class _Groups:
    """Union-find over entry indices, with what each root's English labels are compared by.

    Two groups are compatible when an English label of one is related to one of the other
    (``english_labels_related``). Comparing every label of one with every label of the
    other was quadratic when thousands of headings share a label; each rule is read off
    sets kept per group instead: shared stems, an abbreviation among the initials, and
    (pair by pair, only for labels without a stem, such as "Model") word containment.
    """

    def __init__(self, entries: list[Entry]) -> None:
        self.parent = list(range(len(entries)))
        self.english = [{l.text for l in e.labels if l.lang == "en"} for e in entries]
        self.stems = [set().union(*map(_stems, texts)) for texts in self.english]
        self.letters = [{_letters(t) for t in texts} - {""} for texts in self.english]
        self.initials = [set().union(*map(_initials, texts)) for texts in self.english]
        self.stemless = [{normalize(t) for t in texts if not _stems(t)} for texts in self.english]
        self.normal = [{normalize(t) for t in texts} for texts in self.english]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def compatible(self, a: int, b: int) -> bool:
        if not self.english[a] or not self.english[b]:
            return True
        if not self.stems[a].isdisjoint(self.stems[b]):  # a shared stem, or one label holding another
            return True
        if not self.letters[a].isdisjoint(self.initials[b]) or not self.letters[b].isdisjoint(self.initials[a]):
            return True  # an abbreviation (``is_abbreviation_of`` wants two letters at least)
        return self._contained(a, b) or self._contained(b, a)

    def _contained(self, a: int, b: int) -> bool:
        """Whether a label of ``a`` without stems is, as words, in a label of ``b``: a label
        with a stem that another holds gives them that stem to share."""
        pairs = 0
        for inner in self.stemless[a]:
            for outer in self.normal[b]:
                if inner == outer or f" {inner} " in f" {outer} ":
                    return True
                pairs += 1
                if pairs >= _MAX_PAIRS:  # only in a glossary made to be slow
                    return False
        return False

    def union(self, a: int, b: int) -> None:
        a, b = sorted((a, b))  # the earlier entry stays the root: stable results
        self.parent[b] = a
        for sets in (self.english, self.stems, self.letters, self.initials, self.stemless, self.normal):
            if len(sets[a]) < len(sets[b]):  # the smaller set into the larger
                sets[a], sets[b] = sets[b], sets[a]
            sets[a] |= sets[b]
            sets[b] = set()


def group_entries(entries: list[Entry]) -> tuple[list[list[int]], list[Issue]]:
    """Group entry indices into concepts; report labels shared by concepts kept apart."""
    by_label: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, entry in enumerate(entries):
        for label in entry.labels:
            key = (label.lang, normalize(label.text))
            if not by_label[key] or by_label[key][-1] != i:
                by_label[key].append(i)

    groups = _Groups(entries)
    # English labels first (rule 1), then Japanese (rule 2).
    for (lang, _key), members in sorted(by_label.items(), key=lambda kv: kv[0][0] != "en"):
        for position, other in enumerate(members[1:], 1):
            a, b = groups.find(members[0]), groups.find(other)
            if a != b and (lang == "en" or groups.compatible(a, b)):
                groups.union(a, b)
            elif a != b:
                # Try to join any already-compatible group that shares this label: each group
                # once, the first _MAX_TRIED of them (thousands of headings can share a label).
                tried: set[int] = set()
                for candidate in members[:position]:
                    root = groups.find(candidate)
                    if root in tried or root == b:
                        continue
                    if groups.compatible(root, b):
                        groups.union(root, b)
                        break
                    tried.add(root)
                    if len(tried) >= _MAX_TRIED:
                        break

    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(entries)):
        clusters[groups.find(i)].append(i)
    ordered = sorted(clusters.values(), key=lambda members: members[0])

    issues: list[Issue] = []
    for (_lang, key), members in by_label.items():
        first_of: dict[int, int] = {}  # root -> its first member (members are in entry order)
        for i in members:
            first_of.setdefault(groups.find(i), i)
        roots = sorted(first_of)
        if len(roots) > 1:
            firsts = [first_of[root] for root in roots]
            label = next(l.text for l in entries[firsts[0]].labels if normalize(l.text) == key)
            names = "; ".join(f"{entries[i].heading} ({entries[i].file}:{entries[i].line})" for i in firsts)
            issues.append(
                Issue(
                    "label_conflict",
                    f"label {label!r} names {len(roots)} different concepts: {names}",
                    entries[firsts[0]].file,
                    entries[firsts[0]].line,
                    tuple(entries[i].key for i in firsts),  # entry keys; the pipeline maps them to concept ids
                )
            )
    return ordered, issues


def concept_ids(
    label_lists: list[list[Label]], taken: set[str] = frozenset(), stated: list[str | None] | None = None
) -> list[str]:
    """Stable ids: the slug of the English prefLabel (else the first label), made
    unique with ``-2``, ``-3`` in order of first appearance (and apart from ``taken``).

    A concept whose page states its id (``stated``, as Hugo's ``id``) gets that id's slug
    when no other concept states it and it is not ``taken``.

    >>> concept_ids([[Label("Pod", "en")], [Label("Container", "en")]], stated=["pod-x", None])
    ['pod-x', 'container']
    """
    wished = [slugify(s) if s else None for s in (stated or [None] * len(label_lists))]
    counts = Counter(w for w in wished if w)
    granted = [w if w and counts[w] == 1 and w not in taken else None for w in wished]
    ids: list[str] = []
    used: set[str] = set(taken) | {g for g in granted if g}
    for labels, grant in zip(label_lists, granted, strict=True):
        if grant:
            ids.append(grant)
            continue
        english = next((l.text for l in labels if l.lang == "en"), None)
        base = slugify(english or (labels[0].text if labels else "concept"))
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        ids.append(candidate)
    return ids
