"""The OpenAPI schema against a real server: schemathesis (its CLI; its pytest plugin does not run on
this pytest) generates requests for every operation. No answer may be a 5xx, and every answer's
status, content type, headers and body must be what the schema documents.

Not checked: ``positive_data_acceptance`` (the API refuses some schema-valid values on purpose: an
unknown term in ``known=``, a query that is no SPARQL) and ``allow_header_conformance`` (OPTIONS on a
path with a GET and a POST route answers FastAPI's 405 with ``Allow: GET``)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from api.bench_http import live_server
from kg import Settings
from kg.store import update_store

CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance"]


def test_every_operation_answers_as_documented(tmp_path, fixtures):
    settings = Settings(store=tmp_path / "store", model="fake", reload_interval=0, request_timeout=30)
    assert update_store([fixtures / "glossary"], settings).version
    cli = Path(sys.executable).with_name("schemathesis")
    with live_server(settings) as url:
        run = subprocess.run([str(cli), "run", f"{url}/openapi.json", "--checks", ",".join(CHECKS),
                              "--max-examples", "30", "--seed", "1", "--no-color"],
                             capture_output=True, text=True, timeout=900)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert "Tested: 1" in summary or "Tested:" in summary
