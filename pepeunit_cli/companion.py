"""What runs beside `pepeunit up` in the same process (the demo's units): started once the API
serves, stopped before the dataflow."""

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pepeunit_core.settings import Settings

if TYPE_CHECKING:
    import uvicorn

logger = logging.getLogger("pepeunit.up")

SERVING_POLL_S = 0.1


class Companion(Protocol):
    """`start` is called in a thread of its own once the API serves, with the settings the
    platform runs with and a way to stop the platform; `stop` from the platform's thread after
    the API stopped and before the dataflow, so what the companion's last messages made is still
    stored. `start` may still be running when `stop` comes."""

    def start(self, settings: Settings, stop_platform: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...


def run_when_serving(server: "uvicorn.Server", action: Callable[[], None], name: str) -> None:
    """Runs `action` in a daemon thread as soon as `server` has started (not if it stops
    first)."""

    def when_serving() -> None:
        while not server.started:
            if server.should_exit:
                return
            time.sleep(SERVING_POLL_S)
        action()

    threading.Thread(target=when_serving, name=name, daemon=True).start()


def start_when_serving(companion: Companion, server: "uvicorn.Server", settings: Settings) -> None:
    """Starts the companion as soon as `server` has started; an exception from it stops the
    platform."""

    def stop_platform() -> None:
        server.should_exit = True

    def start() -> None:
        try:
            companion.start(settings, stop_platform)
        except Exception:
            logger.exception("what runs beside the platform failed: stopping")
            stop_platform()

    run_when_serving(server, start, "companion")
