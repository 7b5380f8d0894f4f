"""Synonym headings: a term whose whole definition only points at another term
("Same as X", "See X", "Xの略") names that term; its labels become altLabels there."""

from __future__ import annotations

import re
from collections import defaultdict

from kg.labels import normalize, split_labels
from kg.model import Issue, Label

from .md_entries import Entry
from .merge import english_labels_related

# The target is one name: no sentence break, no line break, not a whole paragraph.
_TARGET = r"(?P<target>[^\n]{1,100}?)"
_END = r"\s*[.。．]?\s*$"
_REDIRECTS = (
    re.compile(
        r"^(?:same\s+as|short\s+for|see(?!\s+also\b)|also\s+known\s+as|a\.?k\.?a\.?|"
        r"(?:an?\s+)?abbreviation\s+(?:of|for)|(?:a\s+)?synonym\s+(?:of|for)|another\s+name\s+for)"
        rf"\s*[:：]?\s+{_TARGET}{_END}",
        re.IGNORECASE,
    ),
    re.compile(rf"^{_TARGET}\s*(?:と同じ|の略(?:称|語)?)(?:です|である|だ)?{_END}"),
    re.compile(rf"^(?:→|⇒|->)\s*{_TARGET}{_END}"),
)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_QUOTES = "「」『』\"'“”‘’`*[] "
_SENTENCE_BREAK = re.compile(r"[。！？]|[.!?]\s")
_MAX_SHARED = 100  # headings sharing a Japanese label a synonym may name


def redirect_target(definition: str) -> str | None:
    """The name a definition does nothing but point to, or None when it says more.

    >>> redirect_target("Same as Write-Ahead Log.")
    'Write-Ahead Log'
    >>> redirect_target("- short for transaction"), redirect_target("See Query Planner")
    ('transaction', 'Query Planner')
    >>> redirect_target("Also known as Replica."), redirect_target("Abbreviation of Database.")
    ('Replica', 'Database')
    >>> redirect_target("大規模言語モデルの略。"), redirect_target("「深層学習」と同じ")
    ('大規模言語モデル', '深層学習')
    >>> redirect_target("→ RNN"), redirect_target("a.k.a. [[Replica]]")
    ('RNN', 'Replica')
    >>> redirect_target("See also Deadlock.") is None
    True
    >>> redirect_target("See Query Planner. It runs before the query.") is None
    True
    """
    text = _BULLET.sub("", definition.strip(), count=1)
    for pattern in _REDIRECTS:
        if match := pattern.match(text):
            target = match["target"].strip(_QUOTES)
            # More than one sentence is a definition, not a pointer.
            return None if not target or _SENTENCE_BREAK.search(target) else target
    return None


def merge_redirects(entries: list[Entry]) -> tuple[set[str], list[Issue]]:
    """Make each synonym heading a set of labels of the term it points to.

    The redirect entry gets the target's label after its own and loses its
    definition, so the usual merge (entries sharing an English label are one
    concept) joins it to the target. Entries are changed in place.

    Args:
        entries: every term entry of the ingest, before merging.

    Returns:
        The keys of the redirect entries (never the source of a prefLabel), and one
        issue per redirect: ``synonym`` (info) when merged, ``unresolved_synonym``
        when the target names no term or several; ``concepts`` hold entry keys.
    """
    by_label: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        for label in entry.labels:
            by_label[normalize(label.text)].append(entry)
    redirects: set[str] = set()
    issues: list[Issue] = []
    shared: dict[str, bool] = {}
    for entry in entries:
        name = redirect_target(entry.definition)
        if name is None:
            continue
        names = [name] + [ref.target.partition("#")[0].strip() for ref in entry.refs if ref.kind == "wikilink"]
        found = _find_target(entry, names, by_label, shared)
        if isinstance(found, str):
            issues.append(
                Issue(
                    "unresolved_synonym",
                    f"{entry.heading!r} only points to {name!r}, which {found}; kept as a term of its own",
                    entry.file,
                    entry.line,
                    (entry.key,),
                )
            )
            continue
        label, target = found
        added = [label]
        if label.lang != "en":  # an English label makes the merge certain (rule 1 of ingest.merge)
            added += [l for l in target.labels if l.lang == "en"][:1]
        own = {normalize(l.text) for l in entry.labels}
        entry.labels += [l for l in added if normalize(l.text) not in own]
        for key in own:  # the labels it shares no longer say what they said
            shared.pop(key, None)
        entry.definition, entry.segments, entry.refs = "", [], []
        redirects.add(entry.key)
        issues.append(
            Issue(
                "synonym",
                f"{entry.heading!r} is another name for {target.heading!r}: its labels are altLabels there",
                entry.file,
                entry.line,
                (target.key,),
                severity="info",
            )
        )
    return redirects, issues


def _find_target(entry: Entry, names: list[str], by_label: dict[str, list[Entry]],
                 shared: dict[str, bool] | None = None) -> tuple[Label, Entry] | str:
    """The label and entry a redirect names, or why there is none.

    ``shared``: whether each Japanese label names unrelated terms, as found for earlier redirects.
    """
    shared = {} if shared is None else shared
    for name in names:
        for text in dict.fromkeys([name, *split_labels(name)]):
            key = normalize(text)
            candidates = by_label.get(key, [])
            first = next((e for e in candidates[:2] if e is not entry), None)
            if first is None:
                continue
            label = next(l for l in first.labels if normalize(l.text) == key)
            # A Japanese label shared by unrelated terms (正規化) cannot say which one is meant;
            # nor can one shared by more than _MAX_SHARED headings (comparing them all, for
            # each synonym, was quadratic in a file made to be slow).
            if label.lang != "en":
                if len(candidates) > _MAX_SHARED + 1:
                    return "names several terms"
                if any(e is entry for e in candidates):
                    several = _unrelated([e for e in candidates if e is not entry])
                elif (several := shared.get(key)) is None:
                    several = shared[key] = _unrelated(candidates)
                if several:
                    return "names several terms"
            return label, first
    return "names no term"


def _unrelated(entries: list[Entry]) -> bool:
    """Whether two of ``entries`` have English labels and none of them related."""
    english = [[l.text for l in e.labels if l.lang == "en"] for e in entries]
    return any(
        a and b and not any(english_labels_related(x, y) for x in a for y in b) for a in english for b in english
    )
