"""The notifier: a thread with its own event loop that sends due alert and rollout events
through aiogram.

It paces itself within Telegram's limits (one message a second per chat, about 25 a second in
all), waits the `retry_after` Telegram asks for, retries failures with a growing backoff, and
records a chat that cannot receive (no linked chat, the bot blocked) instead of retrying it
forever. Run it in any process that has the SQL database: `pepeunit notifier`, or inside
`pepeunit up` when PU_TELEGRAM_TOKEN is set.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from sqlalchemy.orm import Session, sessionmaker

from control_plane.bot.client import make_bot
from control_plane.notifier import outbox
from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.notifier")

BATCH = 100
PER_CHAT_INTERVAL_S = 1.0
GLOBAL_INTERVAL_S = 1 / 25
_UNDELIVERABLE = (TelegramForbiddenError, TelegramBadRequest, TelegramNotFound)


def _now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        *,
        poll_interval_s: float = 1.0,
        make_client: Callable[[Settings], Bot] = make_bot,
    ) -> None:
        self._settings = settings
        self._sessions = session_factory
        self._poll_interval_s = poll_interval_s
        self._make_client = make_client
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_to_chat: dict[str, float] = {}
        self._last_send = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alert-notifier", daemon=True)
        self._thread.start()
        logger.info("alert notifier started (Telegram at %s)", self._settings.telegram_api_url)

    def stop(self, timeout_s: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        bot = self._make_client(self._settings)
        try:
            while not self._stop.is_set():
                try:
                    sent = await self.send_due(bot)
                except Exception:
                    logger.exception("alert delivery failed; trying again shortly")
                    sent = 0
                if not sent:
                    await asyncio.to_thread(self._stop.wait, self._poll_interval_s)
        finally:
            await bot.session.close()

    async def send_due(self, bot: Bot) -> int:
        """Sends what is due now; the number of events handled."""
        with self._sessions() as session:
            due = outbox.claim_due(session, _now(), BATCH)
        for event in due:
            if self._stop.is_set():
                break
            await self._send(bot, event)
        return len(due)

    async def _send(self, bot: Bot, event: outbox.DueEvent) -> None:
        if event.chat_id is None:
            with self._sessions() as session:
                outbox.mark_no_recipient(session, event, "the owner has no linked chat")
            return
        await self._pace(event.chat_id)
        try:
            await bot.send_message(event.chat_id, event.text)
        except TelegramRetryAfter as error:
            self._record_retry(event, str(error), timedelta(seconds=error.retry_after))
        except TelegramUnauthorizedError as error:
            # The bot's token is wrong: every event would fail; keep them for a fixed token.
            logger.error("Telegram refuses the bot token: %s", error)
            self._record_retry(event, str(error), None)
        except _UNDELIVERABLE as error:
            with self._sessions() as session:
                outbox.mark_no_recipient(session, event, str(error))
        except Exception as error:  # network, 5xx, timeouts: Telegram will be back
            logger.warning("alert %s not sent (attempt %d): %s", event.uuid, event.attempts, error)
            self._record_retry(event, repr(error), None)
        else:
            with self._sessions() as session:
                outbox.mark_sent(session, event, _now())

    def _record_retry(self, event: outbox.DueEvent, error: str, wait: timedelta | None) -> None:
        with self._sessions() as session:
            outbox.retry_later(session, event, _now(), error, wait)

    async def _pace(self, chat_id: str) -> None:
        now = time.monotonic()
        ready = max(
            self._last_to_chat.get(chat_id, 0.0) + PER_CHAT_INTERVAL_S,
            self._last_send + GLOBAL_INTERVAL_S,
        )
        if ready > now:
            await asyncio.sleep(ready - now)
        self._last_send = self._last_to_chat[chat_id] = time.monotonic()
