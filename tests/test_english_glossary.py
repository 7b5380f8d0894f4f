"""An English plain glossary (databases): sections, synonym headings, inflected mentions."""

from __future__ import annotations

import csv

import pytest

import ingest
import kg
from ingest.mentions import MentionMatcher
from ingest.synonyms import redirect_target

# Synonym heading -> the term its definition points to ("Same as X", "See X"...).
SYNONYMS = {
    "DB": "Database",  # Abbreviation of Database.
    "Redo Log": "Write-Ahead Log",  # Same as Write-Ahead Log.
    "Query Optimizer": "Query Planner",  # See Query Planner (no period)
    "Txn": "Transaction",  # Short for transaction. (lower case)
    "Standby": "Replica",  # Also known as Replica.
}


@pytest.fixture(scope="module")
def result(fixtures):
    return ingest.ingest_paths([fixtures / "english" / "glossary.md"])


@pytest.fixture(scope="module")
def glossary(result):
    return kg.Glossary.from_ingest(result, kg.Settings(semantic_index=False))


def test_h1_sections_are_collections(result, glossary):
    sections = {c.label: c.id for c in result.collections}
    assert {"Storage and indexing", "Queries", "Transactions and concurrency", "Replication and recovery"} <= set(
        sections
    )
    assert sections["Queries"] in glossary.get("Join").collections
    assert sections["Replication and recovery"] in glossary.get("Replica").collections


@pytest.mark.parametrize("synonym, target", SYNONYMS.items())
def test_synonym_heading_is_an_alt_label_of_its_target(glossary, synonym, target):
    concept = glossary.get(synonym)
    assert concept.id == glossary.get(target).id
    assert concept.pref_labels()["en"] == target  # the target names the concept, not the synonym
    assert synonym in {l.text for l in concept.alt_labels()}
    assert len(glossary.candidates(synonym)) == 1
    # The pointer sentence is not a definition; the target's own definition is.
    assert len(concept.definitions) == 1
    assert not redirect_target(concept.definitions[0].text)


def test_synonym_headings_are_not_concepts_and_keep_their_source(result, glossary):
    assert len(result.concepts) == 37 - len(SYNONYMS)  # 37 term headings
    wal = glossary.get("WAL")
    assert {l.text for l in wal.labels} == {"Write-Ahead Log", "WAL", "Redo Log"}
    assert len(wal.sources) == 2


def test_synonym_merge_is_reported_with_file_and_line(result, glossary):
    issues = [i for i in result.issues if i.kind == "synonym"]
    assert len(issues) == len(SYNONYMS)
    assert all(i.severity == "info" and i.file == "glossary.md" for i in issues)
    redo = next(i for i in issues if "Redo Log" in i.message)
    assert redo.line == 46 and redo.concepts == (glossary.get("Write-Ahead Log").id,)
    assert not [i for i in result.issues if i.kind == "unresolved_synonym"]


def test_see_also_is_not_a_synonym(glossary):
    livelock = glossary.get("Livelock")
    assert livelock.id != glossary.get("Deadlock").id
    assert "Livelock" not in {l.text for l in glossary.get("Deadlock").labels}
    assert glossary.graph.has_edge(livelock.id, glossary.get("Deadlock").id)  # still a mention


def test_empty_heading_is_a_concept_without_definition(glossary):
    assert glossary.get("Optimistic Concurrency Control").definitions == []


@pytest.mark.parametrize(
    "user, used, written",
    [
        ("ACID", "Transaction", "transactions"),
        ("Structured Query Language", "Query", "queries"),
        ("Replica", "Query", "queries"),
        ("Structured Query Language", "Database Management System", "DBMSs"),
        ("B-Tree", "Index", "indices"),
        ("Two-Phase Locking", "Deadlock", "deadlocks"),
        ("Query Planner", "Join", "joins"),
        ("Table", "Foreign Key", "foreign keys"),
        ("Isolation Level", "Transaction", "transactions"),
    ],
)
def test_inflected_mentions_are_links(glossary, user, used, written):
    user_id, used_id = glossary.get(user).id, glossary.get(used).id
    assert glossary.graph.has_edge(user_id, used_id)
    assert written in {l.text for l in glossary.get(user).links if l.target == used_id}


def test_mentions_of_synonym_labels_and_abbreviations(glossary):
    assert glossary.graph.has_edge(glossary.get("Snapshot Isolation").id, glossary.get("MVCC").id)
    # "committed" is not an inflection the matcher knows: no link from Dirty Read to Commit.
    assert not glossary.graph.has_edge(glossary.get("Dirty Read").id, glossary.get("Commit").id)


def test_bare_see_also_and_unknown_targets(tmp_path):
    (tmp_path / "g.md").write_text(
        "# Terms\n\n## Lock\n\nA claim on a row.\n\n## Latch\n\nSee also Lock.\n\n"
        "## Mutex\n\nSee Semaphore.\n\n## Row\n\nOne record.\n\n## 行\n\n→ Row\n",
        encoding="utf-8",
    )
    result = ingest.ingest_paths([tmp_path / "g.md"])
    glossary = kg.Glossary.from_ingest(result, kg.Settings(semantic_index=False))
    assert glossary.get("Latch").id != glossary.get("Lock").id  # "See also" never redirects
    assert glossary.get("Latch").definitions  # and stays a definition
    # A pointer to nothing known keeps its heading as a term and is reported.
    assert glossary.get("Mutex").definitions[0].text == "See Semaphore."
    unresolved = [i for i in result.issues if i.kind == "unresolved_synonym"]
    assert [(i.file, i.line) for i in unresolved] == [("g.md", 11)]
    # A Japanese heading pointing at an English term becomes its Japanese label.
    row = glossary.get("行")
    assert row.id == glossary.get("Row").id and row.pref_labels() == {"en": "Row", "ja": "行"}


def test_matcher_inflections_and_their_limits():
    matcher = MentionMatcher(
        {"Query": "query", "Index": "index", "LLM": "llm", "DBMS": "dbms", "DB": "db", "Go": "go", "Key": "key"}
    )

    def found(text):
        return [(m.text, m.target) for m in matcher.find(text)]

    assert found("two queries") == [("queries", "query")]
    assert found("indexes and indices") == [("indexes", "index"), ("indices", "index")]
    assert found("LLMs, DBMSs and DBs") == [("LLMs", "llm"), ("DBMSs", "dbms"), ("DBs", "db")]
    assert found("primary keys") == [("keys", "key")]
    # Negative: whole words only, abbreviations keep their case, short labels are not inflected.
    assert found("querying, indexesx, llms, dbmss, Gos, goes, keyss") == []


def test_labelled_prerequisite_pairs_name_known_terms(glossary, fixtures):
    total = 0
    paths = sorted((fixtures.parent.parent / "eval").glob("english_*prerequisites.tsv"))
    assert len(paths) >= 6
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
        assert len(rows) > 1 and len(rows[0]) == 3
        total += len(rows) - 1
        for first, concept, _note in rows[1:]:
            assert glossary.get(first).id != glossary.get(concept).id
    assert total >= 39
