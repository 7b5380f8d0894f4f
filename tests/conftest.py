"""Fixtures of the product's tests: settings pointing at a temporary store, the linked corpus
ingested once, and ``serve``, the one way a test starts a live server (the shared corpus and
the committed fixtures come from the checkout's conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from kg.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh store under tmp_path and the default base URI."""
    return Settings(store=tmp_path / "store")


@pytest.fixture(scope="session")
def linked_glossary(linked_corpus):
    """The whole linked corpus ingested once (no store)."""
    from ingest import ingest_paths
    from kg import Glossary

    return Glossary.from_ingest(ingest_paths([linked_corpus]))


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[[Settings], str]]:
    """``url = serve(settings)``: the application over ``settings.store`` served by a real uvicorn
    on 127.0.0.1, as ``kg serve`` serves it (``api.live.live_server``). The one way every HTTP and
    browser test starts a server; each stops when the module's tests are done."""
    from api.live import live_server

    with ExitStack() as servers:
        yield lambda settings: servers.enter_context(live_server(settings))


@pytest.fixture(scope="module")
def client_for(serve) -> Iterator[Callable[[Settings], httpx.Client]]:
    """``http = client_for(settings)``: an httpx client of a live server over ``settings.store``
    (started by ``serve``), closed when the module's tests are done."""
    with ExitStack() as clients:
        yield lambda settings: clients.enter_context(httpx.Client(base_url=serve(settings), timeout=30))
