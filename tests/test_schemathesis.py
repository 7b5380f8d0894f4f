"""The OpenAPI schema against a real server: schemathesis (its CLI; its pytest plugin does not run on
this pytest) generates requests for every operation and runs every check it has (``--checks all``): no
5xx; every answer's status, content type, headers and body as the schema documents; schema-valid
requests refused; ``Allow`` on 405; authentication honoured.

All but one: ``positive_data_acceptance`` expects every schema-valid value to be accepted, and the
API refuses some on purpose, because their validity depends on the glossary or on a grammar that no
JSON schema states: an unknown term in ``known=`` or an unknown ``collection`` (422 naming it, with
suggestions), a ``format`` name it does not know, a ``query`` that is not SPARQL (400). The
README's security section says so."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kg import Settings
from kg.store.versions import update_store


def test_every_operation_answers_as_documented(serve, tmp_path, fixtures):
    settings = Settings(store=tmp_path / "store", model="fake", reload_interval=0, request_timeout=30)
    assert update_store([fixtures / "glossary"], settings).version
    cli = Path(sys.executable).with_name("schemathesis")
    url = serve(settings)
    run = subprocess.run([str(cli), "run", f"{url}/openapi.json", "--checks", "all",
                          "--exclude-checks", "positive_data_acceptance", "--max-examples", "30", "--seed", "1",
                          "--no-color"],
                         capture_output=True, text=True, timeout=900)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert "Tested: 1" in summary or "Tested:" in summary
