"""Access and limits: the admin token, reloads (HTTP and SIGHUP) that keep the last good version,
body size and time limits, CORS only when configured."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.live import free_port
from kg import Settings
from kg.store.versions import Store, update_store

GLOSSARY = "## Alpha\n- Alpha uses Beta.\n\n## Beta\n- The base.\n"


def _store(tmp_path: Path, **extra) -> Settings:
    settings = Settings(store=tmp_path / "store", semantic_index=False, reload_interval=0, **extra)
    (tmp_path / "g.md").write_text(GLOSSARY, encoding="utf-8")
    assert update_store([tmp_path / "g.md"], settings).version
    return settings


def test_admin_routes_are_off_without_a_token(tmp_path):
    with TestClient(create_app(_store(tmp_path))) as client:
        response = client.post("/admin/reload", headers={"Authorization": "Bearer anything"})
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


def test_reload_needs_the_token_swaps_versions_and_keeps_the_last_good_one(tmp_path):
    settings = _store(tmp_path, admin_token="s3cret-token")
    first = Store(settings.store).current_version()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
            response = client.post("/admin/reload", headers=headers)
            assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
        ok = {"Authorization": "Bearer s3cret-token"}
        assert client.post("/admin/reload", headers=ok).json() == {"version": first, "previous": first,
                                                                    "changed": False}
        (tmp_path / "g.md").write_text(GLOSSARY + "\n## Gamma\n- New.\n", encoding="utf-8")
        second = update_store([tmp_path / "g.md"], settings).version
        answer = client.post("/admin/reload", headers=ok).json()
        assert answer == {"version": second, "previous": first, "changed": True}
        assert client.get("/health").json()["concepts"] == 3
        # A version that cannot be loaded: reported, and the last good one stays served.
        (tmp_path / "g.md").write_text(GLOSSARY + "\n## Delta\n- Newer.\n", encoding="utf-8")
        third = update_store([tmp_path / "g.md"], settings).version
        (Store(settings.store).version_dir(third) / "concepts.json").write_text("[]", encoding="utf-8")
        failed = client.post("/admin/reload", headers=ok)
        assert failed.status_code == 503 and failed.json()["error"]["serving"] == second
        assert client.get("/health").json()["store_version"] == second


def test_body_limit(tmp_path):
    settings = _store(tmp_path, max_body_bytes=4096)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        big = client.post("/sparql", content=b"ASK {}" + b" " * 10_000,
                          headers={"Content-Type": "application/sparql-query"})
        assert big.status_code == 413 and big.json()["error"]["code"] == "too_large", big.text
        assert client.get("/health").status_code == 200


def test_time_limit():
    """The guard itself, around an endpoint that takes a second: a 503 in the error shape at the limit."""
    import asyncio

    from fastapi import FastAPI

    from api.guard import install_guards

    app = FastAPI()
    install_guards(app, Settings(request_timeout=0.2))

    @app.get("/slow")
    async def slow() -> dict:
        await asyncio.sleep(1.0)
        return {}

    @app.get("/quick")
    async def quick() -> dict:
        return {"ok": True}

    with TestClient(app) as client:
        late = client.get("/slow")
        assert late.status_code == 503 and late.json()["error"]["code"] == "time_limit", late.text
        assert client.get("/quick").json() == {"ok": True}


def test_cors_is_off_unless_configured(tmp_path):
    with TestClient(create_app(_store(tmp_path))) as client:
        response = client.get("/health", headers={"Origin": "https://docs.example.com"})
        assert "access-control-allow-origin" not in response.headers
    settings = _store(tmp_path, cors_origins=["https://docs.example.com"])
    with TestClient(create_app(settings)) as client:
        response = client.get("/health", headers={"Origin": "https://docs.example.com"})
        assert response.headers["access-control-allow-origin"] == "https://docs.example.com"
        other = client.get("/health", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers


def _kg_serve(settings: Settings, **env: str) -> tuple[subprocess.Popen, str]:
    """A real ``kg serve`` over ``settings.store`` (no dense index, no watcher) in a process of its
    own, once it answers /health; the caller stops it."""
    port = free_port()
    env = {**os.environ, "KG_STORE": str(settings.store), "KG_SEMANTIC_INDEX": "false", "KG_RELOAD_INTERVAL": "0",
           **env}
    kg = Path(sys.executable).with_name("kg")  # the console script installed beside this Python
    server = subprocess.Popen([str(kg), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/health")
            return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    pytest.fail("the server did not start")


def test_sighup_reloads_a_real_server(tmp_path):
    settings = _store(tmp_path)
    server, url = _kg_serve(settings)
    try:
        first = httpx.get(url + "/health").json()["store_version"]
        (tmp_path / "g.md").write_text(GLOSSARY + "\n## Gamma\n- New.\n", encoding="utf-8")
        second = update_store([tmp_path / "g.md"], settings).version
        assert httpx.get(url + "/health").json()["store_version"] == first  # no watcher
        server.send_signal(signal.SIGHUP)
        for _ in range(100):
            if httpx.get(url + "/health").json()["store_version"] == second:
                break
            time.sleep(0.1)
        assert json.loads(httpx.get(url + "/health").text)["store_version"] == second
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_server_stopped_by_sigterm_leaves_nothing_in_the_temporary_folder(tmp_path, workers):
    settings = _store(tmp_path)
    # Not under tmp_path: the SPARQL workers' socket path must fit in 107 bytes.
    temporary = Path(tempfile.mkdtemp(prefix="kgt"))
    server, url = _kg_serve(settings, TMPDIR=str(temporary), KG_WORKERS=workers)
    try:
        answer = httpx.get(url + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
                           headers={"Accept": "application/sparql-results+json"}, timeout=60)
        assert answer.status_code == 200
        assert list(temporary.rglob("kg-sparql-*.pickle"))  # the snapshot the SPARQL workers load
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=30)
    # What a shell reports for a process stopped by SIGTERM; uvicorn's supervisor of several
    # workers stops them and returns.
    assert status == (128 + signal.SIGTERM if workers == "1" else 0)
    left = list(temporary.rglob("*"))
    temporary.rmdir() if not left else shutil.rmtree(temporary)
    assert left == []
