"""RDF: the glossary as SKOS, and what reads it.

Owns the SKOS graph (``skos``), its serialisations and content negotiation (``formats``), the
read-only SPARQL endpoint (``sparql``, evaluated in worker processes by ``sparql_workers``)
and the SKOS quality report (``quality``).

May import the top of ``kg`` (``model``, ``labels``, ``errors``, ``settings``); a glossary is
passed in. Never ``api``.
"""
