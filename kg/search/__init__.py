"""Search: finding concepts by label and by meaning, in Japanese or English.

Owns the engine that blends the signals (``engine``), label lookup and BM25 (``lexical``,
saved with a store version by ``lexical_store``), embeddings of definitions and their vector
index (``semantic``, ``vectors``, ``encoders``), Japanese glossed into English for
English-only models (``gloss``), and search quality measurement (``evaluate``).

May import ``kg.model``, ``kg.labels``, ``kg.errors``, ``kg.settings`` and ``kg.cache``; never
``kg.glossary`` (which uses this room), ``kg.prereqs``, ``kg.store`` or ``api``.
"""
