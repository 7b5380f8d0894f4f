"""The SKOS quality report (after qSKOS and Skosify): what to fix in the glossary, and where."""
from __future__ import annotations

import ast
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kg.labels import normalize
from kg.model import Concept, Issue, Source

if TYPE_CHECKING:
    from kg.glossary import Glossary


@dataclass(frozen=True)
class Check:
    """One kind of finding: ``name`` is the ``Issue.kind`` of its findings."""

    name: str
    title: str
    description: str


#: Every check, in report order: lost input first, then real problems, then hints.
CHECKS: tuple[Check, ...] = (
    Check("input", "Input problems",
          "Files or headings ingest could not read in full (passed through from ingest)."),
    Check("empty_definition", "Empty definitions",
          "Concepts with no definition under any of their headings."),
    Check("label_conflict", "Label conflicts",
          "A label shared by concepts that were kept apart; lookups and mentions of it are ambiguous."),
    Check("duplicate_pref_label", "Duplicate preferred labels",
          "Concepts with the same prefLabel in one language (qSKOS Overlapping Labels)."),
    Check("pref_alt_overlap", "Label both preferred and alternative",
          "A concept whose altLabel repeats its prefLabel (SKOS S13, qSKOS Disjoint Labels Violation)."),
    Check("broken_link", "Broken links",
          "Links or broader relations that resolve to no concept."),
    Check("unresolved_synonym", "Unresolved synonym headings",
          "A heading whose definition only points to another term (\"See X\"), where X names no term or several."),
    Check("missing_language_tag", "Missing language tags",
          "Labels without a language tag."),
    Check("self_link", "Self-links",
          "A definition that links to its own concept."),
    Check("orphan", "Orphan concepts",
          "Concepts with no links in or out and no broader or narrower concept (qSKOS Orphan Concepts)."),
    Check("unlinked_mention", "Unlinked mentions",
          "A definition names another term without linking it, in a file that links its terms."),
    Check("synonym", "Synonym headings",
          "A heading whose definition only points to another term (\"Same as X\", \"Xの略\"): its labels became "
          "altLabels of that term."),
    Check("missing_english_label", "Missing English labels",
          "Concepts without an English label in a glossary that has English labels."),
)
_CHECK_NAMES = {check.name for check in CHECKS}
_SEVERITIES = ("error", "warning", "info")
_CONFLICT_LABEL = re.compile(r"^label (.+?) names \d+ different concepts")


def check_of(kind: str) -> str:
    """The check a finding of ``kind`` is listed under (``input`` for ingest problems).

    >>> check_of("orphan"), check_of("invalid_utf8")
    ('orphan', 'input')
    """
    return kind if kind in _CHECK_NAMES and kind != "input" else "input"


@dataclass
class QualityReport:
    """Findings of every check, sorted by kind, file and line.

    Attributes:
        findings: one ``Issue`` per problem, with the file and line to fix it at.
        concept_count: how many concepts were checked.
        names: display name of each concept a finding refers to.
    """

    findings: list[Issue] = field(default_factory=list)
    concept_count: int = 0
    names: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        """Number of findings by kind."""
        return dict(sorted(Counter(f.kind for f in self.findings).items()))

    @property
    def by_severity(self) -> dict[str, int]:
        """Number of findings by severity (``error``, ``warning``, ``info``), zeros included."""
        counts = Counter(f.severity for f in self.findings)
        return {severity: counts.get(severity, 0) for severity in _SEVERITIES}

    def by_check(self) -> dict[str, list[Issue]]:
        """Findings grouped by check name, every check present, in report order."""
        groups: dict[str, list[Issue]] = {check.name: [] for check in CHECKS}
        for finding in self.findings:
            groups[check_of(finding.kind)].append(finding)
        return groups

    def _finding_dict(self, finding: Issue) -> dict[str, Any]:
        return {
            "kind": finding.kind,
            "severity": finding.severity,
            "message": finding.message,
            "file": finding.file,
            "line": finding.line,
            "concepts": [{"id": c, "name": self.names.get(c)} for c in finding.concepts],
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: ``{"summary": {...}, "checks": [{..., "findings": [...]}]}``."""
        groups = self.by_check()
        return {
            "summary": {
                "concepts": self.concept_count,
                "findings": len(self.findings),
                "by_severity": self.by_severity,
                "by_kind": self.counts,
            },
            "checks": [
                {
                    "check": check.name,
                    "title": check.title,
                    "description": check.description,
                    "count": len(groups[check.name]),
                    "findings": [self._finding_dict(f) for f in groups[check.name]],
                }
                for check in CHECKS
            ],
        }

    def to_text(self) -> str:
        """Terminal text: each check with findings as ``file:line: message``, then a summary line."""
        lines: list[str] = []
        groups = self.by_check()
        for check in CHECKS:
            found = groups[check.name]
            if found:
                lines.append(f"{check.title} ({len(found)})")
                lines.extend(f"  {finding}" for finding in found)
                lines.append("")
        severity = self.by_severity
        lines.append(
            f"{self.concept_count} concepts, {len(self.findings)} findings: "
            f"{severity['error']} errors, {severity['warning']} warnings, {severity['info']} info"
        )
        return "\n".join(lines)


def quality_report(glossary: Glossary) -> QualityReport:
    """Run every check over a glossary and its ingest issues.

    Args:
        glossary: the glossary to check; ``glossary.issues`` are the ingest issues.

    Returns:
        The report; ingest issues keep their severity, quality findings are
        ``warning`` for real problems and ``info`` for hints.
    """
    concepts = list(glossary.concepts.values())
    # Ingest issues keep their kind: broken_link, self_link... join their check, the rest is "input".
    findings = [i for i in glossary.issues if i.kind != "label_conflict"]
    findings += _label_conflicts(concepts, [i for i in glossary.issues if i.kind == "label_conflict"])
    findings += _empty_definitions(concepts)
    findings += _pref_alt_overlaps(concepts)
    findings += _link_problems(glossary)
    findings += _orphans(glossary)
    findings += _language_problems(concepts)
    # The same link written twice on one line gives two identical issues: one is enough.
    unique = list(dict.fromkeys(findings))
    unique.sort(key=lambda f: (f.kind, f.file or "", f.line or 0, f.message))
    referenced = {c for f in unique for c in f.concepts}
    names = {c: glossary.concepts[c].name for c in referenced if c in glossary.concepts}
    return QualityReport(unique, len(concepts), names)


def _where(source: Source | None) -> tuple[str | None, int | None]:
    if source is None:
        return None, None
    return source.file, source.line or None


def _at(concept: Concept) -> tuple[str | None, int | None]:
    """Where to fix a concept: its first heading."""
    return _where(concept.sources[0] if concept.sources else None)


def _headings(concepts: list[Concept]) -> str:
    return "; ".join(f"{c.name} ({', '.join(map(str, c.sources)) or c.id})" for c in concepts)


def _empty_definitions(concepts: list[Concept]) -> list[Issue]:
    findings = []
    for c in concepts:
        if not any(d.text.strip() for d in c.definitions):
            # A merged concept has several headings; a definition under any one of them will do.
            where = f" under any of its headings: {', '.join(map(str, c.sources))}" if len(c.sources) > 1 else ""
            findings.append(Issue("empty_definition", f"{c.name!r} has no definition{where}", *_at(c), (c.id,)))
    return findings


def _label_conflicts(concepts: list[Concept], ingest: list[Issue]) -> list[Issue]:
    """Labels shared by several concepts.

    Ingest reports the conflicts it met while merging, but without concept ids
    (ids are given after merging), so each is matched to the concepts that share
    the label. Shared labels ingest did not report (SKOS import, a hand-built
    glossary) are found here: as duplicate prefLabels when the label is the
    prefLabel of several concepts, else as label conflicts.
    """
    shared: dict[tuple[str, str], list[Concept]] = defaultdict(list)
    for concept in concepts:
        for key in dict.fromkeys((l.lang, normalize(l.text)) for l in concept.labels):
            shared[key].append(concept)
    groups = {key: group for key, group in shared.items() if len(group) > 1}

    findings: list[Issue] = []
    for issue in ingest:
        match = _CONFLICT_LABEL.match(issue.message)
        try:
            text = normalize(ast.literal_eval(match[1])) if match else None
        except (ValueError, SyntaxError, TypeError):
            text = None
        by_text = [key for key in groups if key[1] == text]
        at_issue = [key for key, group in groups.items()
                    if any((s.file, s.line) == (issue.file, issue.line) for c in group for s in c.sources)]
        candidates = [key for key in by_text if key in at_issue] or by_text or at_issue
        if len(candidates) == 1:
            ids = tuple(c.id for c in groups.pop(candidates[0]))
            findings.append(Issue(issue.kind, issue.message, issue.file, issue.line, ids, issue.severity))
        else:
            findings.append(issue)  # never drop what ingest found, even when it cannot be matched

    for (lang, key), group in groups.items():
        text = next(l.text for l in group[0].labels if l.lang == lang and normalize(l.text) == key)
        ids = tuple(c.id for c in group)
        pref = [c for c in group if normalize(c.pref_labels().get(lang, "")) == key]
        if len(pref) > 1:
            findings.append(Issue("duplicate_pref_label",
                                  f"{len(pref)} concepts have the prefLabel {text!r}@{lang}: {_headings(pref)}",
                                  *_at(pref[0]), tuple(c.id for c in pref)))
        else:
            findings.append(Issue("label_conflict",
                                  f"label {text!r}@{lang} names {len(group)} different concepts: {_headings(group)}",
                                  *_at(group[0]), ids))
    return findings


def _pref_alt_overlaps(concepts: list[Concept]) -> list[Issue]:
    findings = []
    for concept in concepts:
        pref = {lang: normalize(text) for lang, text in concept.pref_labels().items()}
        seen: set[str] = set()
        for label in concept.labels:
            if label.lang in seen and normalize(label.text) == pref[label.lang]:
                findings.append(Issue("pref_alt_overlap",
                                      f"{label.text!r}@{label.lang} is both prefLabel and altLabel of {concept.name!r}",
                                      *_at(concept), (concept.id,)))
            seen.add(label.lang)
    return findings


def _link_problems(glossary: Glossary) -> list[Issue]:
    """Broken and self-links held by the concepts themselves.

    Markdown ingest reports these as issues and drops the link, so they come from
    SKOS import or hand-built glossaries; ``kg.graph`` skips them silently.
    """
    findings = []
    for concept in glossary.concepts.values():
        for link in concept.links:
            file, line = _where(link.source) if link.source else _at(concept)
            if link.target == concept.id:
                findings.append(Issue("self_link", f"{concept.name!r} links to itself ({(link.text or link.kind)!r})",
                                      file, line, (concept.id,), "info"))
            elif link.target not in glossary.concepts:
                findings.append(Issue("broken_link", f"{concept.name!r} links to {link.target!r}, which is no concept",
                                      file, line, (concept.id, link.target)))
        for parent in concept.broader:
            if parent not in glossary.concepts:
                findings.append(Issue("broken_link", f"broader concept {parent!r} of {concept.name!r} is no concept",
                                      *_at(concept), (concept.id, parent)))
    return findings


def _orphans(glossary: Glossary) -> list[Issue]:
    graph = glossary.graph  # links, mentions and broader edges; narrower is broader reversed
    return [
        Issue("orphan", f"{c.name!r} has no links in or out and no broader or narrower concept",
              *_at(c), (c.id,), "info")
        for c in glossary.concepts.values()
        if graph.degree(c.id) == 0
    ]


def _language_problems(concepts: list[Concept]) -> list[Issue]:
    findings = [
        Issue("missing_language_tag", f"label {label.text!r} of {c.name!r} has no language tag", *_at(c), (c.id,))
        for c in concepts for label in c.labels if not label.lang
    ]
    # Only where English is in use: a Japanese-only glossary is not incomplete.
    if any(l.lang == "en" for c in concepts for l in c.labels):
        findings += [
            Issue("missing_english_label", f"{c.name!r} has no English label", *_at(c), (c.id,), "info")
            for c in concepts
            if c.labels and not any(l.lang == "en" for l in c.labels)
        ]
    return findings
