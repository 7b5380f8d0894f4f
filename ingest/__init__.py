"""Read Markdown glossaries, note folders and SKOS files into concepts."""

from ingest.pipeline import IngestResult, ingest_paths

__all__ = ["IngestResult", "ingest_paths"]
