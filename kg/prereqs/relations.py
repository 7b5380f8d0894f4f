"""What an inferred prerequisite edge says, in one relation, with the words that show it.

The model (``kg.prereqs.model``) weighs every cue of a pair into one probability; a reader
needs to know *what* the text says. Each kept edge "p before c" is named by the strongest
relation its cues show, read from both definitions (``kg.prereqs.cues``):

* ``is-a`` — c is a kind of p: c's first sentence names p as its genus ("…の一分野",
  "a kind of p"), p's definition lists c under a header of kinds or gives it as an
  example of itself, p's label is the head of c's ("Language Model" in "Large Language
  Model"), or a SKOS ``broader``;
* ``part`` — p is a part of c ("pで構成", "consists of p"); ``part-of`` — c is a part of p
  ("pを構成する要素", "part of p"): the whole comes first;
* ``derived-from`` — c is computed from p ("pの調和平均", "derived from p");
* ``built-on`` — c is built on or uses p ("pを用いた", "based on p", "p-based");
* ``addresses`` — c exists because of p ("pを防ぐ", "prevents p");
* ``uses`` — c's definition names p with no cue saying more;
* ``named-after`` — c's label holds p's, but not as its head.

Some readings never make a prerequisite: p is an application or use area of c ("used in
p", "応用分野: p"), a sibling or a contrast ("unlike p", "pではない"), or c is given as an
example or listed kind *in p's sense the other way round* (``kind-of``: p is the kind of
c). ``PREREQUISITE_RELATIONS`` make edges; an edge only these others speak for is dropped
(``kg.prereqs.learning.infer_prerequisites``). Only ``CHAIN_RELATIONS`` (is-a, part,
derived-from, built-on) carry a learning path past a direct prerequisite.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from kg.labels import normalize

if TYPE_CHECKING:
    from kg.model import Concept
    from kg.prereqs.cues import Use

#: Relations that make "p before c" a prerequisite edge, strongest first.
PREREQUISITE_RELATIONS = ("is-a", "part", "part-of", "derived-from", "built-on", "addresses", "uses", "named-after")
#: Relations a learning path follows beyond a direct prerequisite (with a strong edge), with
#: the author's own (``stated``) and those of an imported export of this product. A plain
#: mention (``uses``) is followed only when much stronger (``kg.prereqs.learning.CHAIN_STRONG_USES``):
#: at the same bar it put wrong items (Query, Index before B-Tree and Lock, through "index
#: entries" in Page) into the English fixture's paths.
CHAIN_RELATIONS = frozenset({"is-a", "part", "part-of", "derived-from", "built-on", "stated", "imported"})
#: Readings of a pair that are no prerequisite: a use area, a sibling, the reverse kind, or
#: nothing but statistics (the two terms are used by the same definitions).
OTHER_RELATIONS = ("application", "sibling", "kind-of", "related")

# English words and Japanese endings that add nothing to a label's meaning: Logit Function is
# Logit, Attention Mechanism is Attention (one concept, not a prerequisite of the other).
_GENERIC_EN = frozenset({"function", "functions", "mechanism", "method", "methods", "algorithm", "technique",
                         "approach", "process", "concept"})
_GENERIC_JA = ("関数", "機構", "メカニズム", "手法", "アルゴリズム", "技術", "方式", "処理")

# The words of a part cue that make the concept the part and the other term the whole.
_WHOLE = re.compile(r"を構成|構成要素|の一部|part of|component of", re.IGNORECASE)


# The words around an example that make its examples kinds of the defining concept.
_KINDS = re.compile(r"を含|が含|があ|の種類|に分類|に分け|types? (?:of|include|such)|kinds? (?:of|include|such)|"
                    r"forms? of|include|such as", re.IGNORECASE)


@functools.cache
def _column() -> dict[str, int]:
    # heavy: kg.prereqs.features loads kg.prereqs.cues; kg.prereqs.learning imports this module
    from kg.prereqs.features import FEATURES

    return {name: n for n, name in enumerate(FEATURES)}


def _head_relation(prerequisite: Concept, concept: Concept) -> str | None:
    """How ``concept``'s label holds ``prerequisite``'s: ``same`` (only a generic word added),
    ``is-a`` (as its head: the last words in English, the end in Japanese), else None."""
    best = None
    for outer in concept.labels:
        for inner in prerequisite.labels:
            if outer.lang != inner.lang:
                continue
            a, b = normalize(outer.text), normalize(inner.text)
            if len(a) <= len(b) or b not in a:
                continue
            if outer.lang == "en":
                words, held = a.split(), b.split()
                extra = [w for w in words if w not in held]
                if words[-len(held):] == held and len(words) > len(held):
                    best = "is-a"
                elif words[:len(held)] == held and extra and all(w in _GENERIC_EN for w in extra):
                    return "same"
            else:
                if a.endswith(b):
                    best = "is-a"
                elif a.startswith(b) and a[len(b):] in _GENERIC_JA:
                    return "same"
    return best


def edge_relation(prerequisite: Concept, concept: Concept, row, c_uses_p: Use | None,
                  p_uses_c: Use | None) -> tuple[str, str, str]:
    """(relation, source, words) of "``prerequisite`` before ``concept``": the relation
    (``PREREQUISITE_RELATIONS`` or ``OTHER_RELATIONS``), which side's text shows it
    (``concept``, ``prerequisite``, ``labels`` or ``skos``) and the words quoted.

    ``row``: the pair's feature row in this orientation (``kg.prereqs.features``);
    ``c_uses_p``: how the concept's definition uses the prerequisite, ``p_uses_c`` the other way.
    """
    column = _column()

    def has(feature: str) -> bool:
        return row[column[feature]] > 0

    def words(use: Use | None, cue: str) -> str:
        return use.words.get(cue, "") if use is not None else ""

    head = _head_relation(prerequisite, concept) if has("label_c") else None
    label_words = f"{concept.name} / {prerequisite.name}"
    if head == "same":
        return "related", "labels", label_words
    plain_use = has("uses_c") and not any(has(f"{cue}_c") for cue in ("usage", "peer", "example", "listed"))
    # The concept's own words on where it is used ("NLPで良く用いられる") outweigh the other
    # definition listing it: p is then a use area of c, not its kind.
    kind_of_p = not has("usage_p") and not has("usage_c")
    example_words = words(p_uses_c, "example")
    readings: list[tuple[str, str, Callable[[], str]]] = [
        ("is-a", "concept", lambda: words(c_uses_p, "genus")) if has("genus_c") else None,
        ("is-a", "prerequisite", lambda: words(p_uses_c, "listed")) if has("listed_p") and kind_of_p else None,
        # An example is a kind only where the definition says its examples are its kinds
        # ("Zero-shot, Few-shot, CoTなどを含む"); "BERTなどのモデルを…" is an example of something else.
        ("is-a", "prerequisite", lambda: example_words)
        if has("example_p") and kind_of_p and _KINDS.search(example_words) else None,
        ("is-a", "labels", lambda: label_words) if head == "is-a" else None,
        ("is-a", "skos", lambda: "skos:broader") if has("broader_c") else None,
        # "Bを構成する要素", "part of B": the concept is a part of B, whole before part.
        ("part-of", "concept", lambda: words(c_uses_p, "part"))
        if has("part_c") and _WHOLE.search(words(c_uses_p, "part")) else None,
        ("part", "concept", lambda: words(c_uses_p, "part")) if has("part_c") else None,
        ("part", "concept", lambda: words(c_uses_p, "named")) if has("named_c") else None,
        ("derived-from", "concept", lambda: words(c_uses_p, "derived")) if has("derived_c") else None,
        ("derived-from", "prerequisite", lambda: words(p_uses_c, "here")) if has("here_p") else None,
        ("built-on", "concept", lambda: words(c_uses_p, "base")) if has("base_c") else None,
        ("addresses", "concept", lambda: words(c_uses_p, "fixes")) if has("fixes_c") else None,
        ("uses", "concept", lambda: _plain_words(c_uses_p)) if plain_use else None,
        ("named-after", "labels", lambda: label_words) if has("label_c") else None,
        ("application", "concept", lambda: words(c_uses_p, "usage")) if has("usage_c") else None,
        ("application", "prerequisite", lambda: words(p_uses_c, "usage")) if has("usage_p") else None,
        ("sibling", "concept", lambda: words(c_uses_p, "peer")) if has("peer_c") else None,
        ("sibling", "prerequisite", lambda: words(p_uses_c, "peer")) if has("peer_p") else None,
        ("kind-of", "concept", lambda: words(c_uses_p, "listed") or words(c_uses_p, "example"))
        if has("listed_c") or has("example_c") else None,
        ("kind-of", "prerequisite", lambda: words(p_uses_c, "genus")) if has("genus_p") else None,
    ]
    for reading in readings:
        if reading is not None:
            relation, source, quote = reading
            return relation, source, quote()
    return "related", "", ""


def _plain_words(use: Use | None) -> str:
    if use is None:
        return ""
    for cue in ("first", "role_obj", "role_gen", "role_subj", "role_loc", "role_dat", "role_com", "role_list"):
        if cue in use.words:
            return use.words[cue]
    return " ".join(use.sentence.split())[:120]


_SAYS = {
    ("is-a", "concept"): "is a kind of {p}",
    ("is-a", "prerequisite"): "is listed among the kinds of {p} in {p}'s definition",
    ("is-a", "labels"): "is a kind of {p}, as its name says",
    ("is-a", "skos"): "has {p} as its broader concept",
    ("part", "concept"): "has {p} as a part",
    ("part-of", "concept"): "is a part of {p}",
    ("derived-from", "concept"): "is derived from {p}",
    ("derived-from", "prerequisite"): "is derived from {p}, as {p}'s definition says",
    ("built-on", "concept"): "is built on {p}",
    ("addresses", "concept"): "addresses {p}",
    ("uses", "concept"): "uses {p} in its definition",
    ("named-after", "labels"): "is named after {p}",
}


def describe(relation: str, source: str, words: str, prerequisite: str, concept: str) -> str:
    """The edge in words for a reader: "BERT is a kind of Transformer: “…”"."""
    says = _SAYS.get((relation, source))
    if says is None:
        return f"{relation}: {words}" if words else relation
    text = f"{concept} {says.format(p=prerequisite)}"
    if words and source != "labels":
        text += f": \u201c{words}\u201d"
    return text
