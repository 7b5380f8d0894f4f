"""Glossary knowledge graph: concepts, SKOS, links and the Python API (``Glossary``)."""
from kg.errors import KGError
from kg.glossary import Glossary
from kg.settings import Settings

__all__ = ["Glossary", "KGError", "Settings"]
