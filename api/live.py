"""A server in a background thread of this process (a notebook, a test, a benchmark), configured
as ``kg serve`` configures uvicorn, and a free port for a server run as its own process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kg.settings import Settings


class LiveServer:
    """uvicorn serving ``app`` in a daemon thread on a free port of 127.0.0.1."""

    def __init__(self, app: Any, timeout: float = 120.0, **options: Any) -> None:
        """``options``: more ``uvicorn.Config`` arguments (the ``http`` protocol of ``kg serve``)."""
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, log_level="warning",
                                lifespan="on", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="kg-live-uvicorn", daemon=True)
        self.timeout = timeout
        self.url = ""

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + self.timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            if time.monotonic() > deadline:
                self.server.should_exit = True
                raise TimeoutError(f"the server did not start within {self.timeout:.0f} s")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """The application over ``settings.store`` served as ``kg serve`` serves it (the bounded HTTP
    protocol of ``api.guard.uvicorn_options``) in a background thread; yields its base URL."""
    # heavy: api.app and api.guard load fastapi and uvicorn, which importing this module does not need
    from api.app import create_app
    from api.guard import uvicorn_options

    with LiveServer(create_app(settings), **uvicorn_options(settings)) as server:
        yield server.url


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
