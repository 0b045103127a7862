"""The polling bot in a thread of its own, for `pepeunit up` (one process for everything,
since the embedded chdb can be opened by one process only)."""

import asyncio
import logging
import threading

from control_plane.bot.running import PollingBot
from control_plane.bot.services import BotServices

logger = logging.getLogger("pepeunit.bot")

STOP_TIMEOUT_S = 35.0
"""A long poll in flight ends within its timeout (30 s)."""


class BotThread:
    def __init__(self, services: BotServices) -> None:
        self._services = services
        self._loop: asyncio.AbstractEventLoop | None = None
        self._polling: PollingBot | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telegram-bot", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)
        logger.info("Telegram bot polling")

    def stop(self) -> None:
        loop, polling = self._loop, self._polling
        if loop is not None and polling is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(polling.stop(), loop)
        self._thread.join(STOP_TIMEOUT_S)

    def _run(self) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._polling = PollingBot(self._services)
            self._ready.set()
            await self._polling.run(handle_signals=False)

        try:
            asyncio.run(serve())
        except Exception:
            logger.exception("the Telegram bot stopped")
        finally:
            self._ready.set()
