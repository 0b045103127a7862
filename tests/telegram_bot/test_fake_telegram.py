"""The fake Bot API server (tests/services/telegram.py) as aiogram sees it: what the bot and the
alert notifier rely on, including each way it can fail (429 with retry_after, 5xx, a closed
port, a wrong token, flood limits)."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile

from tests.services.telegram import BOT_USERNAME, RunningFakeTelegram


@asynccontextmanager
async def plain_bot(telegram: RunningFakeTelegram, token: str | None = None) -> AsyncIterator[Bot]:
    """A bot without the platform's retries: every failure reaches the caller."""
    bot = Bot(token or telegram.token, session=AiohttpSession(api=telegram.api_server()))
    try:
        yield bot
    finally:
        await bot.session.close()


def run(telegram: RunningFakeTelegram, work: Callable[[Bot], Awaitable[object]]) -> object:
    async def main() -> object:
        async with plain_bot(telegram) as bot:
            return await work(bot)

    return asyncio.run(main())


def test_messages_documents_and_updates(fake_telegram: RunningFakeTelegram):
    async def work(bot: Bot) -> None:
        me = await bot.get_me()
        assert me.username == BOT_USERNAME
        sent = await bot.send_message(42, "<b>hi</b>", parse_mode="HTML")
        assert (sent.chat.id, sent.text) == (42, "<b>hi</b>")
        document = BufferedInputFile(b"\x00\x01 binary", "unit.tgz")
        await bot.send_document(42, document, caption="firmware")
        edited = await bot.edit_message_text("changed", chat_id=42, message_id=sent.message_id)
        assert edited.text == "changed"  # type: ignore[union-attr]
        # Long polling: an update queued while getUpdates waits comes back at once.
        asyncio.get_running_loop().call_later(0.3, fake_telegram.send_text, 42, "/start")
        started = time.monotonic()
        updates = await bot.get_updates(timeout=5)
        assert time.monotonic() - started < 3
        assert [update.message.text for update in updates] == ["/start"]  # type: ignore[union-attr]
        # An offset past an update confirms it; nothing left, the wait times out empty.
        assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == []

    run(fake_telegram, work)
    text, document = fake_telegram.messages_to(42)
    assert (text.text, text.parse_mode, text.edits) == ("changed", None, 1)
    assert document.document is not None
    assert (document.document.filename, document.document.content) == (
        "unit.tgz",
        b"\x00\x01 binary",
    )
    assert document.text == "firmware"


def test_failures_as_aiogram_sees_them(fake_telegram: RunningFakeTelegram):
    async def work(bot: Bot) -> None:
        fake_telegram.fail_next("sendMessage", status=429, retry_after=7)
        with pytest.raises(TelegramRetryAfter) as flood:
            await bot.send_message(1, "x")
        assert flood.value.retry_after == 7
        await bot.send_message(1, "through")  # only the next call failed
        fake_telegram.fail_next(status=502, times=2)
        for _ in range(2):
            with pytest.raises(TelegramServerError):
                await bot.get_me()
        with fake_telegram.outage(), pytest.raises(TelegramServerError):
            await bot.send_message(1, "down")
        fake_telegram.flood_limit(messages=2, per_seconds=60, retry_after=3)
        await bot.send_message(5, "one")
        await bot.send_message(5, "two")
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(5, "three")
        await bot.send_message(6, "another chat has its own limit")
        with fake_telegram.unreachable(), pytest.raises(TelegramNetworkError):
            await bot.get_me()
        assert (await bot.get_me()).username == BOT_USERNAME  # the same port serves again

    run(fake_telegram, work)
    assert [m.text for m in fake_telegram.messages_to(1)] == ["through"]
    assert [call.status for call in fake_telegram.calls_of("sendMessage")][:2] == [429, 200]

    async def wrong_token() -> None:
        async with plain_bot(fake_telegram, "1:wrong") as bot:
            with pytest.raises(TelegramUnauthorizedError):
                await bot.get_me()

    asyncio.run(wrong_token())


def test_webhook_and_get_updates_exclude_each_other(fake_telegram: RunningFakeTelegram):
    async def work(bot: Bot) -> None:
        await bot.set_webhook("https://example.test/bot", secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == "https://example.test/bot"
        with pytest.raises(Exception, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates(timeout=0) == []

    run(fake_telegram, work)
