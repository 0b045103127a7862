"""The app on a real HTTP server (uvicorn, in a thread of the test process): what a browser or
an SSE client needs, without starting the whole platform."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.services.ports import LOOPBACK, accepts_connections, free_loopback_port


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serves `app`; yields its origin, e.g. `http://127.0.0.1:40123`."""
    port = free_loopback_port()
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not accepts_connections(LOOPBACK, port):
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "the server did not stop"
