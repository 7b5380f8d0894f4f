"""Synthetic glossaries of any size, shaped like a real one, for scale benchmarks.

``generate(n, seed)`` draws ``n`` concepts whose label counts and lengths, definition
lengths, Japanese/English mix, out-degrees and share of mutual links follow a
``Profile``; link targets are drawn with Zipf weights, so in-degrees are heavy-tailed
(a few hub terms, most used once or never) and cycles occur as in real glossaries.
``write_markdown`` writes the project's glossary format (``## 日本語 | English``
headings, bullet definitions, links to other files' headings), ``write_ntriples``
the same concepts as SKOS, streamed triple by triple so that a million concepts
never sit in an rdflib graph.

``DEFAULT_PROFILE`` holds quantiles measured on the linked tech-glossary corpus
(``Profile.measure``); a test re-measures the corpus and checks them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.markdown import github_slug
from kg.labels import JAPANESE_CHAR

if TYPE_CHECKING:
    from kg.model import Concept

#: Quantiles are stored at these probabilities and sampled by linear interpolation.
QUANTILES = (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)


@dataclass(frozen=True)
class Profile:
    """What a glossary looks like, as distributions to sample from."""

    labels_per_concept: tuple[float, ...]  # quantiles of how many labels a heading has
    ja_label_chars: tuple[float, ...]  # quantiles of Japanese label lengths
    en_label_chars: tuple[float, ...]
    ja_label_share: float  # of concepts whose first label is Japanese
    definition_chars: tuple[float, ...]  # quantiles of a concept's definition length
    ja_definition_share: float
    out_degree: tuple[float, ...]  # quantiles of distinct concepts a definition links to
    mutual_share: float  # of links whose reverse link also exists
    terms_per_file: float
    ja_characters: int  # distinct Japanese characters in the definitions

    @classmethod
    def measure(cls, concepts: Sequence[Concept], files: int) -> Profile:
        """The profile of an ingested glossary (``files`` Markdown files)."""

        def q(values: Sequence[float]) -> tuple[float, ...]:
            ordered = sorted(values) or [0.0]
            return tuple(round(_quantile(ordered, p), 1) for p in QUANTILES)

        labels = [label for c in concepts for label in c.labels]
        edges = {(c.id, link.target) for c in concepts for link in c.links}
        definitions = [d for c in concepts for d in c.definitions]
        return cls(
            labels_per_concept=q([len(c.labels) for c in concepts]),
            ja_label_chars=q([len(label.text) for label in labels if label.lang == "ja"]),
            en_label_chars=q([len(label.text) for label in labels if label.lang != "ja"]),
            ja_label_share=round(sum(c.labels[0].lang == "ja" for c in concepts if c.labels) / len(concepts), 3),
            definition_chars=q([sum(len(d.text) for d in c.definitions) for c in concepts]),
            ja_definition_share=round(sum(d.lang == "ja" for d in definitions) / max(1, len(definitions)), 3),
            out_degree=q([len({link.target for link in c.links}) for c in concepts]),
            # A link whose reverse exists: reciprocating each link with probability p gives 2p/(1+p).
            mutual_share=round(sum((b, a) in edges for a, b in edges) / max(1, len(edges)), 3),
            terms_per_file=round(len(concepts) / max(1, files), 1),
            ja_characters=len({ch for d in definitions for ch in d.text if JAPANESE_CHAR.match(ch)}),
        )


#: Measured on ../shared/corpus/tech_glossary/linked (218 concepts in 20 files) by
#: ``Profile.measure``; tests/test_synth.py re-measures and compares.
DEFAULT_PROFILE = Profile(
    labels_per_concept=(1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0),
    ja_label_chars=(2.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 11.0, 13.8, 16.0),
    en_label_chars=(2.0, 3.0, 3.0, 7.0, 12.0, 18.0, 25.2, 30.0, 41.3, 55.0),
    ja_label_share=0.606,
    definition_chars=(0.0, 26.0, 34.7, 59.0, 91.5, 214.0, 453.3, 662.5, 1471.1, 2623.0),
    ja_definition_share=0.993,
    out_degree=(0.0, 0.0, 0.0, 1.0, 1.0, 3.0, 6.0, 8.0, 13.7, 19.0),
    mutual_share=0.194,
    terms_per_file=10.9,
    ja_characters=829,
)

# Invented word pieces: the text must look like text to a tokenizer (Zipf-distributed
# words, particles, kanji compounds), not be anyone's glossary.
_EN_SYLLABLES = ("ka", "lo", "ri", "ten", "mar", "so", "vi", "del", "an", "tor", "pe", "qu", "min", "ex", "ul",
                 "ba", "ne", "ro", "cal", "fi", "gen", "hy", "lat", "mo", "nu", "op", "ra", "sy", "tri", "ver")
# Running text and terms draw on disjoint characters, so that a term's label turns up in
# other definitions about as rarely as unlinked mentions do in the real corpus (2% of links).
_KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノ"
_TERM_KATAKANA = "ハヒフヘホマミムメモラリルレロワンガギグゲゴバビブベボパピプペポ"
#: Kanji are drawn from this many characters: the size of the Jōyō list, which a glossary of
#: many thousand terms comes to use (the 218 definitions of the corpus already use 690 kanji
#: of their 829 Japanese characters, ``ja_characters``, and have not levelled off). The 22
#: kanji of the first generator made every character common, a stop word for character
#: n-gram search: a worst case, not a glossary.
KANJI_POOL = 2136
_KANJI = "".join(chr(0x4E00 + 3 * i) for i in range(KANJI_POOL))  # invented: every third ideograph
_TERM_KANJI = "".join(chr(0x4E01 + 3 * i) for i in range(KANJI_POOL))  # disjoint from the text's
_PARTICLES = ("の", "を", "に", "は", "が", "で", "と", "や", "から", "による", "として")
_EN_GLUE = ("the", "of", "a", "is", "to", "in", "and", "for", "by", "that", "with", "which")
_JA_ENDINGS = ("である。", "する。", "を表す。", "のこと。", "に用いる。")
_ZIPF = 1.05  # word frequencies; links use the same law over concepts


class _Sampler:
    def __init__(self, rng: random.Random, vocabulary: int = 20_000) -> None:
        self.rng = rng
        self.en_words = self._words(vocabulary, self._en_word)
        self.ja_words = self._words(vocabulary, self._ja_word)
        # Terms get words of their own: were labels made of running-text words, every
        # definition would mention hundreds of terms, where real ones link a few.
        taken = set(self.en_words) | set(self.ja_words)
        self.term_words = {False: self._words(vocabulary, self._en_word, taken),
                           True: self._words(vocabulary, self._ja_term_word, taken)}
        self._word_weights = _cumulative_zipf(vocabulary, _ZIPF)

    def _words(self, n: int, make, exclude: set[str] = frozenset()) -> list[str]:
        seen: set[str] = set()
        words: list[str] = []
        while len(words) < n:
            word = make()
            if word not in seen and word not in exclude:
                seen.add(word)
                words.append(word)
        return words

    def _en_word(self) -> str:
        return "".join(self.rng.choice(_EN_SYLLABLES) for _ in range(self.rng.randint(1, 4)))

    def _ja_word(self) -> str:
        if self.rng.random() < 0.4:
            return "".join(self.rng.choice(_KATAKANA) for _ in range(self.rng.randint(2, 6)))
        return "".join(self.rng.choice(_KANJI) for _ in range(self.rng.randint(2, 4)))

    def _ja_term_word(self) -> str:
        if self.rng.random() < 0.5:
            return "".join(self.rng.choice(_TERM_KATAKANA) for _ in range(self.rng.randint(2, 6)))
        return "".join(self.rng.choice(_TERM_KANJI) for _ in range(self.rng.randint(2, 4)))

    def quantile(self, table: tuple[float, ...]) -> float:
        return _interpolate(table, self.rng.random())

    def word(self, ja: bool) -> str:
        index = _bisect(self._word_weights, self.rng.random())
        return (self.ja_words if ja else self.en_words)[index]

    def term_word(self, ja: bool) -> str:
        return self.rng.choice(self.term_words[ja])

    def phrase(self, chars: float, ja: bool) -> str:
        """Term words up to about ``chars`` characters."""
        words: list[str] = []
        size = 0
        target = max(2, round(chars))
        while size < target:
            word = self.term_word(ja)
            words.append(word)
            size += len(word) + (0 if ja else 1)
        return ("" if ja else " ").join(words)[: max(target, 2)].strip() or self.term_word(ja)

    def sentence(self, chars: int, ja: bool) -> str:
        parts: list[str] = []
        size = 0
        while size < chars:
            if ja:
                part = self.word(True) + self.rng.choice(_PARTICLES)
            else:
                part = (self.word(False) if self.rng.random() < 0.6 else self.rng.choice(_EN_GLUE)) + " "
            parts.append(part)
            size += len(part)
        text = "".join(parts).strip()
        return text + self.rng.choice(_JA_ENDINGS) if ja else text[:1].upper() + text[1:] + "."


def _cumulative_zipf(n: int, s: float) -> list[float]:
    total = 0.0
    cumulative = []
    for rank in range(1, n + 1):
        total += rank ** -s
        cumulative.append(total)
    return [c / total for c in cumulative]


def _bisect(cumulative: list[float], u: float) -> int:
    import bisect

    return min(bisect.bisect_left(cumulative, u), len(cumulative) - 1)


def _interpolate(table: tuple[float, ...], u: float) -> float:
    for i in range(1, len(QUANTILES)):
        if u <= QUANTILES[i]:
            lo, hi = QUANTILES[i - 1], QUANTILES[i]
            t = (u - lo) / (hi - lo) if hi > lo else 0.0
            return table[i - 1] + t * (table[i] - table[i - 1])
    return table[-1]


def _quantile(ordered: Sequence[float], p: float) -> float:
    position = p * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


@dataclass
class SynthConcept:
    """One generated term: labels (text, lang), definition sentences and link targets."""

    index: int
    labels: list[tuple[str, str]]
    sentences: list[str]
    links: list[int]  # indices of the concepts its definition links to, in order of appearance

    @property
    def heading(self) -> str:
        return " | ".join(text for text, _ in self.labels)


def generate(n: int, seed: int = 0, profile: Profile = DEFAULT_PROFILE) -> list[SynthConcept]:
    """``n`` concepts drawn from ``profile``; the same ``n`` and ``seed`` give the same glossary."""
    rng = random.Random(seed)
    sampler = _Sampler(rng)
    # Hubs are a random few, not the first ones written: Zipf ranks over a permutation.
    rank_of = list(range(n))
    rng.shuffle(rank_of)
    link_weights = _cumulative_zipf(n, _ZIPF) if n > 1 else [1.0]
    reciprocate = profile.mutual_share / max(1e-9, 2 - profile.mutual_share)  # 2p/(1+p) = share
    taken: set[str] = set()
    concepts: list[SynthConcept] = []
    for i in range(n):
        ja_first = rng.random() < profile.ja_label_share
        count = max(1, round(sampler.quantile(profile.labels_per_concept)))
        labels: list[tuple[str, str]] = []
        for j in range(count):
            ja = ja_first if j == 0 else (not ja_first if j == 1 else rng.random() < 0.3)
            table = profile.ja_label_chars if ja else profile.en_label_chars
            text = sampler.phrase(sampler.quantile(table), ja)
            if not ja:
                text = text.title()
            while text.lower() in taken:  # labels are unique, as a glossary's terms are
                text += ("ノ" if ja else " ") + sampler.term_word(ja)
            taken.add(text.lower())
            labels.append((text, "ja" if ja else "en"))
        degree = round(sampler.quantile(profile.out_degree)) if n > 1 else 0
        links: list[int] = []
        for _ in range(degree):
            target = rank_of[_bisect(link_weights, rng.random())]
            if target != i and target not in links:
                links.append(target)
        ja_text = rng.random() < profile.ja_definition_share
        # The drawn length is the whole definition's, link texts (about 10 characters) included.
        chars = int(sampler.quantile(profile.definition_chars)) - 10 * len(links)
        sentences = []
        while chars > 0:
            size = min(chars, rng.randint(30, 90))
            sentences.append(sampler.sentence(size, ja_text))
            chars -= size
        concepts.append(SynthConcept(i, labels, sentences or [""], links))
    for concept in list(concepts):
        for target in concept.links:
            if rng.random() < reciprocate and concept.index not in concepts[target].links:
                concepts[target].links.append(concept.index)
    return concepts


def file_of(index: int, profile: Profile = DEFAULT_PROFILE) -> str:
    """The relative Markdown file concept ``index`` is written to (folders of 1000 files)."""
    number = int(index // max(1.0, profile.terms_per_file))
    return f"part-{number // 1000:04d}/file-{number:06d}.md"


def _definition_lines(concept: SynthConcept, concepts: Sequence[SynthConcept], here: str) -> Iterator[str]:
    """Bullets: the first sentence carries the first links, later ones the rest."""
    links = list(concept.links)
    per_sentence = max(1, math.ceil(len(links) / max(1, len(concept.sentences))))
    for n, sentence in enumerate(concept.sentences):
        refs = []
        for target in links[n * per_sentence:(n + 1) * per_sentence]:
            other = concepts[target]
            text, _ = other.labels[0]
            path = file_of(target)
            href = ("" if path == here else _relative(here, path)) + "#" + github_slug(other.heading)
            refs.append(f"[{text}]({href})")
        body = sentence + (" " + "、".join(refs) if refs else "")
        yield ("- " if n == 0 else "  - ") + body if body.strip() else ""


def _relative(here: str, there: str) -> str:
    import posixpath

    return posixpath.relpath(there, posixpath.dirname(here))


def write_markdown(concepts: Sequence[SynthConcept], out: Path | str) -> int:
    """Write the glossary as Markdown files under ``out``; returns how many files."""
    out = Path(out)
    by_file: dict[str, list[SynthConcept]] = {}
    for concept in concepts:
        by_file.setdefault(file_of(concept.index), []).append(concept)
    for name, members in by_file.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = []
        for concept in members:
            lines.append(f"## {concept.heading}")
            lines.append("")
            lines.extend(_definition_lines(concept, concepts, name))
            lines.append("")
        path.write_text("\n".join(lines), encoding="utf-8")
    return len(by_file)


def write_ntriples(concepts: Sequence[SynthConcept], out: Path | str,
                   namespace: str = "https://example.org/synthetic/") -> None:
    """Write the glossary as SKOS N-Triples (labels, definitions, ``skos:related`` links)."""
    from rdflib import Literal, URIRef
    from rdflib.namespace import RDF, SKOS

    def uri(index: int) -> str:
        return URIRef(f"{namespace}c{index}").n3()

    scheme = URIRef(namespace.rstrip("/#")).n3()
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(f"{scheme} {RDF.type.n3()} {SKOS.ConceptScheme.n3()} .\n")
        for concept in concepts:
            subject = uri(concept.index)
            handle.write(f"{subject} {RDF.type.n3()} {SKOS.Concept.n3()} .\n")
            handle.write(f"{subject} {SKOS.inScheme.n3()} {scheme} .\n")
            seen_langs: set[str] = set()
            for text, lang in concept.labels:
                predicate = SKOS.altLabel if lang in seen_langs else SKOS.prefLabel
                seen_langs.add(lang)
                handle.write(f"{subject} {predicate.n3()} {Literal(text, lang=lang).n3()} .\n")
            definition = " ".join(concept.sentences).strip()
            if definition:
                lang = "ja" if JAPANESE_CHAR.search(definition) else "en"
                handle.write(f"{subject} {SKOS.definition.n3()} {Literal(definition, lang=lang).n3()} .\n")
            for target in concept.links:
                handle.write(f"{subject} {SKOS.related.n3()} {uri(target)} .\n")


def synthetic_texts(n: int, seed: int = 0, profile: Profile = DEFAULT_PROFILE) -> list[str]:
    """``n`` definitions alone (labels and links left out), for the vector benchmark at a million."""
    rng = random.Random(seed)
    sampler = _Sampler(rng)
    texts = []
    for _ in range(n):
        ja = rng.random() < profile.ja_definition_share
        chars = max(20, int(sampler.quantile(profile.definition_chars)))
        texts.append(sampler.sentence(min(chars, 400), ja))
    return texts
