"""Every setting of the product, declared once (environment prefix ``KG_``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kg.rdf.sparql import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, DEFAULT_TIMEOUT
from kg.rdf.sparql_workers import DEFAULT_MEMORY_MB, DEFAULT_WORKERS

# The vector index defaults live beside the code that uses them; the settings take them from there.
from kg.search import vectors

#: The glossary that ships with the product and is served when the store is empty.
BUNDLED_DATA = Path(__file__).resolve().parent.parent / "data"


def default_store_dir() -> Path:
    """``$XDG_DATA_HOME/kg/store`` (``~/.local/share/kg/store``)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "kg" / "store"


class Settings(BaseSettings):
    """Typed settings; each field can be set as ``KG_<NAME>`` in the environment."""

    # An empty variable is an unset one (KG_PREREQUISITE_MODEL= had meant the folder ".").
    model_config = SettingsConfigDict(env_prefix="KG_", extra="ignore", env_ignore_empty=True)

    store: Path = Field(default_factory=default_store_dir, description="Store directory.")
    base_uri: str = Field("https://example.org/glossary/", description="Namespace of concept URIs.")
    scheme_title: str = Field("Glossary", description="Title of the skos:ConceptScheme.")
    default_glossary: Path = Field(BUNDLED_DATA, description="What `kg serve` ingests into an empty store.")
    max_file_bytes: int = Field(20 * 1024 * 1024, description="Larger input files are skipped with a warning.")
    max_labels_per_heading: int = Field(50, description="Labels beyond this in one heading are dropped with a warning.")
    max_heading_chars: int = Field(500, description="Longer headings are not terms (warned).")
    max_terms_per_file: int = Field(10_000, ge=1, description="A Markdown file with more terms is not read (an "
                                                               "error names it): ingest takes about 3 ms and 30 KB "
                                                               "a term, so one file stays under a minute.")
    ingest_workers: int = Field(0, ge=0, description="Processes that parse Markdown when there are hundreds of "
                                                     "files (0: one per CPU).")
    dialect: str = Field("auto", description="Markdown dialect of the input: `auto` (each file by evidence), "
                                             "`plain`, `hugo`, `mkdocs`, `docusaurus` or `mdbook` "
                                             "(see ingest.dialects).")
    host: str = "127.0.0.1"
    port: int = 8000
    reload_interval: float = Field(1.0, description="Seconds between checks for a newer store version while serving.")
    # -- service limits and access (api.guard) --
    admin_token: SecretStr | None = Field(None, description="Bearer token of the admin routes (POST /admin/reload); "
                                                            "unset: they are refused.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS (JSON list); "
                                                                      "empty: CORS is off.")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Larger request bodies are refused (413).")
    request_timeout: float = Field(15.0, gt=0, description="Seconds a request may take before a 503 time_limit.")
    # 256 KiB: the longest SPARQL query a GET may carry (20,000 characters, each up to 12 bytes once
    # UTF-8 and percent-encoded) fits, with room for ordinary headers.
    max_header_bytes: int = Field(256 * 1024, ge=4096, description="Longer request lines and headers together are "
                                                                   "refused (431) and the connection closed.")
    header_timeout: float = Field(10.0, gt=0, description="Seconds a client has to send a request's line and "
                                                          "headers (counted from its first byte, or from the "
                                                          "connection on a new one); then 408 and closed.")
    answer_cache_bytes: int = Field(64 * 1024 * 1024, ge=0, description="Bytes of serialized answers (concepts, "
                                                                        "paths, related, graphs) kept in memory.")
    warm_answers: bool = Field(True, description="Work out the default concept, learning-path and related "
                                                 "answers of the best-linked concepts as soon as a version "
                                                 "is served (into half the answer cache).")
    search_cache_bytes: int = Field(16 * 1024 * 1024, ge=0, description="Bytes of serialized search answers kept "
                                                                        "in memory.")
    workers: int = Field(1, ge=1, le=64, description="Server processes of `kg serve`.")
    access_log: bool = Field(False, description="Log a line for every request (off: a busy or attacked server "
                                                "would write hundreds of MB; errors are logged either way).")
    # -- semantic index (kg.search.encoders, kg.search.vectors) --
    model: str = Field("openvino-int8",
                       description="Embedding model: `openvino-int8` (the bundled all-MiniLM-L6-v2 run by OpenVINO "
                                   "with int8 weights, the default), `default` (the same model on torch), "
                                   "`fake[:DIM]` (tests), a local sentence-transformers directory, or a name "
                                   "already in the Hugging Face cache.")
    encode_batch_size: int = Field(64, ge=1, description="Texts per forward pass when embedding.")
    embedding_cache: Path | None = Field(None, description="Directory of the embedding cache (default STORE/cache).")
    half_threshold: int = Field(
        vectors.DEFAULT_HALF_THRESHOLD, ge=0,
        description="From this many vectors on, exact search keeps the vectors as 16-bit floats (half the memory "
                    "and time).")
    hnsw_threshold: int = Field(
        vectors.DEFAULT_HNSW_THRESHOLD, ge=0,
        description="From this many vectors on, search uses HNSW instead of exact search.")
    ivf_threshold: int = Field(
        vectors.DEFAULT_IVF_THRESHOLD, ge=0,
        description="From this many vectors on, search uses an inverted file (IVF) instead of HNSW.")
    ivf_nprobe: int = Field(0, ge=0, description="IVF lists searched per query (0: a sixteenth of them).")
    hnsw_m: int = Field(vectors.DEFAULT_HNSW_M, ge=2, description="HNSW graph degree.")
    hnsw_ef_construction: int = Field(vectors.DEFAULT_HNSW_EF_CONSTRUCTION, ge=1,
                                      description="HNSW build-time beam width.")
    prerequisite_model: Path | None = Field(
        None, description="A prerequisite model written by `kg train-prereqs --output FILE`, used by ingest and the "
                          "server instead of the one the package ships.")
    semantic_index: bool = Field(True, description="Embed concepts and build the dense index at ingest.")
    gloss_japanese: bool = Field(True, description="Gloss Japanese into English (JMdict) before embedding; "
                                                   "for English-only models such as the default.")
    hnsw_ef_search: int = Field(vectors.DEFAULT_HNSW_EF_SEARCH, ge=1,
                                description="HNSW query-time beam width (recall vs speed).")
    # Chosen on labelled and no-answer queries for the default model (docs/search.md); the
    # cosines of another model lie elsewhere, so it may need its own.
    search_floor: float = Field(0.30, ge=0, le=1,
                                description="Relevance (0-1) below which a search hit is a weak match; when no "
                                            "hit clears it, the answer says there is no close match.")
    search_floor_glossed: float = Field(0.38, ge=0, le=1,
                                        description="The same floor for a Japanese query glossed into English "
                                                    "before embedding (`gloss_japanese`): word-by-word glosses "
                                                    "of query and definitions meet at higher cosines.")
    # -- the read-only SPARQL endpoint (kg.rdf.sparql, kg.rdf.sparql_workers) --
    sparql_workers: int = Field(DEFAULT_WORKERS, ge=1, le=32,
                                description="Worker processes that evaluate SPARQL queries: at most this many "
                                            "run at once, and more wait for one.")
    sparql_query_timeout: float = Field(DEFAULT_TIMEOUT, gt=0, le=600,
                                        description="Seconds a SPARQL query may run before its worker is killed "
                                                    "(503 query_limit).")
    sparql_memory_mb: int = Field(DEFAULT_MEMORY_MB, ge=64,
                                  description="Memory (MiB) a SPARQL query may use: each worker may map this "
                                              "much beyond the graphs it holds; a query that needs more gets "
                                              "a 503.")
    sparql_max_rows: int = Field(DEFAULT_MAX_ROWS, ge=1,
                                 description="Result rows (or triples) a SPARQL answer may have.")
    sparql_max_answer_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1024,
                                         description="Bytes a SPARQL answer may have.")
    # -- a SPARQL 1.1 store to publish to and serve from (kg.store.sparql_store, kg.store.replication) --
    sparql_layout: Literal["oxigraph", "fuseki", "graphdb", "virtuoso"] = Field(
        "oxigraph", description="Which endpoints the URL of `kg ingest --to` / `kg serve --from` has "
                                "(see kg.store.sparql_store.LAYOUTS); each can be overridden below.")
    sparql_query_url: str | None = Field(None, description="SPARQL Query endpoint (overrides the layout's).")
    sparql_update_url: str | None = Field(None, description="SPARQL Update endpoint (overrides the layout's).")
    sparql_gsp_url: str | None = Field(None, description="Graph Store Protocol endpoint (overrides the layout's).")
    sparql_graph: str | None = Field(None, description="Named graph the SKOS is published in (default: the "
                                                       "scheme URI, KG_BASE_URI).")
    sparql_user: str | None = Field(None, description="User for the store's HTTP Basic or Digest authentication.")
    sparql_password: SecretStr | None = Field(None, description="Password of `sparql_user`.")
    sparql_timeout: float = Field(60.0, gt=0, description="Seconds one request to the SPARQL store may take.")
    sparql_poll_interval: float = Field(10.0, ge=0, description="Seconds between checks of the store for a newer "
                                                                "publication by `kg serve --from` (0: never).")

    @property
    def embedding_cache_dir(self) -> Path:
        """Where the embedding cache lives: ``embedding_cache`` or ``STORE/cache``."""
        return self.embedding_cache or self.store / "cache"

    @property
    def namespace(self) -> str:
        return self.base_uri if self.base_uri.endswith(("/", "#")) else self.base_uri + "/"
