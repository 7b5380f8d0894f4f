"""The store: versions of an ingested glossary on disk, and their copies elsewhere.

Owns the versioned store (``versions``: write, load, keep the newest, swap atomically), the
change feed between versions (``changes``), and publishing to / following a SPARQL 1.1 store
(``replication``, over the HTTP client ``sparql_store``).

May import ``ingest`` (a store version is an ingest's result), ``kg.glossary`` and the rooms a
version saves (``kg.search``, ``kg.prereqs``, ``kg.rdf``); never ``api``.
"""
