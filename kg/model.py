"""The concept model every layer shares: plain dataclasses, JSON round-trippable."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Source:
    """Where something was read: a file (as given to ingest), a 1-based line, the page URL."""

    file: str
    line: int = 0
    url: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Label:
    text: str
    lang: str


@dataclass(frozen=True)
class Definition:
    text: str
    source: Source | None = None
    lang: str | None = None


@dataclass(frozen=True)
class Link:
    """A reference from one concept's definition to another concept.

    ``kind`` is ``link`` (an explicit Markdown/HTML link), ``wikilink`` or
    ``mention`` (a known label found in plain text). ``sentence`` is the sentence
    of the definition that holds it: the evidence later layers explain paths with.
    """

    target: str
    kind: str = "link"
    text: str = ""
    sentence: str = ""
    source: Source | None = None


def _source_dict(source: Source | None) -> dict[str, Any] | None:
    return None if source is None else {"file": source.file, "line": source.line, "url": source.url}


def _label_dict(label: Label) -> dict[str, str]:
    return {"text": label.text, "lang": label.lang}


@dataclass
class Concept:
    """One real concept, possibly merged from several headings and files.

    ``labels`` keep their order: the first label of each language is its prefLabel.
    """

    id: str
    labels: list[Label] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)
    broader: list[str] = field(default_factory=list)
    uri: str | None = None  # set when imported from SKOS with its own URI
    # From SKOS import only: labels kept for lookup but never shown (skos:hiddenLabel),
    # and the URIs of the concept's own schemes (empty: the glossary's scheme).
    hidden_labels: list[Label] = field(default_factory=list)
    schemes: list[str] = field(default_factory=list)
    # Curated prerequisites: ids the author states, which always win over inference
    # (kg.prereqs.learning). From an imported SKOS file's kgv:prerequisite, a `前提:` /
    # `Prerequisites:` bullet of a glossary page, a note's front matter `prerequisites:`,
    # or `confirm:` in the folder's kg-prerequisites.yaml (ingest.overrides).
    prerequisites: list[str] = field(default_factory=list)
    # Ids the author says are NOT prerequisites (`reject:` in kg-prerequisites.yaml):
    # an inferred edge from one of them is dropped.
    rejected_prerequisites: list[str] = field(default_factory=list)
    # Inferred prerequisites carried by an imported export of this product
    # (kgv:inferredPrerequisite): such a source's DAG is taken as it was, not inferred anew.
    inferred_prerequisites: list[str] = field(default_factory=list)

    def pref_labels(self) -> dict[str, str]:
        """The first label of each language."""
        pref: dict[str, str] = {}
        for label in self.labels:
            pref.setdefault(label.lang, label.text)
        return pref

    def alt_labels(self) -> list[Label]:
        pref = self.pref_labels()
        return [label for label in self.labels if pref[label.lang] != label.text]

    @property
    def name(self) -> str:
        """A display name: the English prefLabel, else the first label."""
        pref = self.pref_labels()
        return pref.get("en") or (self.labels[0].text if self.labels else self.id)

    @property
    def definition_text(self) -> str:
        return "\n\n".join(d.text for d in self.definitions if d.text)

    def to_dict(self) -> dict[str, Any]:
        """The same dict as ``dataclasses.asdict`` (a test holds them equal), written out:
        ``asdict`` copies generically and took 10 of the 12 s of writing 30,000 concepts."""
        return {
            "id": self.id,
            "labels": [_label_dict(label) for label in self.labels],
            "definitions": [{"text": d.text, "source": _source_dict(d.source), "lang": d.lang}
                            for d in self.definitions],
            "sources": [_source_dict(source) for source in self.sources],
            "links": [{"target": link.target, "kind": link.kind, "text": link.text, "sentence": link.sentence,
                       "source": _source_dict(link.source)} for link in self.links],
            "collections": list(self.collections),
            "broader": list(self.broader),
            "uri": self.uri,
            "hidden_labels": [_label_dict(label) for label in self.hidden_labels],
            "schemes": list(self.schemes),
            "prerequisites": list(self.prerequisites),
            "rejected_prerequisites": list(self.rejected_prerequisites),
            "inferred_prerequisites": list(self.inferred_prerequisites),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Concept:
        def source(value: dict | None) -> Source | None:
            return Source(**value) if value else None

        return cls(
            id=data["id"],
            labels=[Label(**label) for label in data.get("labels", [])],
            definitions=[
                Definition(text=d["text"], source=source(d.get("source")), lang=d.get("lang"))
                for d in data.get("definitions", [])
            ],
            sources=[Source(**s) for s in data.get("sources", [])],
            links=[Link(**{**link, "source": source(link.get("source"))}) for link in data.get("links", [])],
            collections=list(data.get("collections", [])),
            broader=list(data.get("broader", [])),
            uri=data.get("uri"),
            hidden_labels=[Label(**label) for label in data.get("hidden_labels", [])],
            schemes=list(data.get("schemes", [])),
            prerequisites=list(data.get("prerequisites", [])),
            rejected_prerequisites=list(data.get("rejected_prerequisites", [])),  # absent in older stores
            inferred_prerequisites=list(data.get("inferred_prerequisites", [])),
        )


@dataclass(frozen=True)
class Collection:
    """A group of concepts: a source file or an H1 section (a ``skos:Collection``)."""

    id: str
    label: str
    source: Source | None = None
    uri: str | None = None  # set when imported from SKOS with its own URI


@dataclass(frozen=True)
class Issue:
    """One finding of ingest or of the quality report, with where it was found."""

    kind: str
    message: str
    file: str | None = None
    line: int | None = None
    concepts: tuple[str, ...] = ()
    severity: str = "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else (f"{self.file}: " if self.file else "")
        return f"{where}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["concepts"] = list(self.concepts)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Issue:
        return cls(**{**data, "concepts": tuple(data.get("concepts", ()))})
