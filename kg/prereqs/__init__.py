"""Prerequisites: what to learn before a concept, and how concepts connect.

Owns candidate pairs and their features (``features``), the fitted model and its training
(``model``, ``training``, ``prerequisite_model.json``), the DAG and ranked learning paths
(``learning``, with ``dag_index`` for walks over many nodes and ``saved`` for the DAG kept in
a store version), explained paths between two concepts (``explained``), related terms
(``related``), the author's corrections (``curation``) and the graph for other tools and the
pages (``export``, ``layout``).

May import the top of ``kg`` (``model``, ``labels``, ``errors``, ``settings``, ``graph``) and,
for related terms, ``kg.search``; a glossary is passed in (``kg.glossary`` is imported only for
its type). ``curation`` re-ingests through ``kg.store``. Never ``api``.
"""
