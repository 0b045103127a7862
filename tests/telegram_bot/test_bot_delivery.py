"""How updates reach the bot and replies reach Telegram, on SQLite and PostgreSQL: the webhook
mode (registered by `pepeunit bot`, kept registered, fed by the API's `POST /bot` with the
secret) and polling through Telegram trouble (an outage, a closed port, 429 with retry_after,
5xx): replies are late, never lost."""

import asyncio
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.bot import BotServices, keep_webhook_registered, webhook_secret
from control_plane.bot.client import make_bot
from control_plane.bot.running import ensure_webhook
from pepeunit_core.settings import Settings
from tests.control_plane.test_access_matrix import empty_database
from tests.services.telegram import RunningFakeTelegram

from .conftest import (
    API,
    CHEAP_ARGON2,
    Chat,
    auth,
    checked_client,
    login_token,
    make_settings,
    register,
    running_bot,
)

WEBHOOK = f"{API}/bot"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def bot_settings(database_url: str, telegram: RunningFakeTelegram, mode: str) -> Settings:
    return make_settings(
        database_url,
        telegram_token=telegram.token,
        telegram_api_url=telegram.url,
        telegram_bot_mode=mode,
        metrics_cache_seconds=0,
    )


@pytest.fixture
def webhook_app(
    database_url: str, fake_telegram: RunningFakeTelegram
) -> Iterator[tuple[FastAPI, TestClient]]:
    app = create_app(
        bot_settings(database_url, fake_telegram, "webhook"), password_hasher=CHEAP_ARGON2
    )
    with checked_client(app) as client:
        yield app, client


def test_webhook_is_registered_and_kept(webhook_app, fake_telegram: RunningFakeTelegram):
    app, _client = webhook_app
    services = BotServices.of_api(app.state.context)
    settings = services.settings

    async def keep_for_a_moment() -> None:
        stop = asyncio.Event()
        keeping = asyncio.create_task(keep_webhook_registered(services, stop, interval_s=0.2))
        await asyncio.to_thread(fake_telegram.wait_for, lambda: fake_telegram.webhook is not None)
        # Telegram loses it (someone called deleteWebhook): it is set again at the next check.
        fake_telegram.webhook = None
        await asyncio.to_thread(fake_telegram.wait_for, lambda: fake_telegram.webhook is not None)
        stop.set()
        await keeping

    asyncio.run(keep_for_a_moment())
    webhook = fake_telegram.webhook
    assert webhook is not None
    assert webhook["url"] == "https://pepeunit.test/pepeunit/api/v1/bot"
    assert webhook["secret_token"] == webhook_secret(settings)
    assert {"message", "callback_query"} <= set(webhook["allowed_updates"])
    assert len(fake_telegram.calls_of("setWebhook")) == 2

    async def check_once() -> bool:
        bot = make_bot(settings)
        try:
            return await ensure_webhook(bot, services)
        finally:
            await bot.session.close()

    assert asyncio.run(check_once()) is False  # already there: nothing set


def test_webhook_updates_are_answered(webhook_app, fake_telegram: RunningFakeTelegram):
    app, client = webhook_app
    secret = {SECRET_HEADER: webhook_secret(app.state.context.settings)}
    update = fake_telegram.text_update(9001, "/info")
    response = client.post(WEBHOOK, json=update, headers=secret)
    assert response.status_code == 204, response.text
    (answer,) = fake_telegram.messages_to(9001)
    assert answer.text.startswith("<b>Instance</b>")
    client.post(WEBHOOK, json=fake_telegram.text_update(9001, "/units"), headers=secret)
    listing = fake_telegram.messages_to(9001)[-1]
    assert "none you can see" in (listing.text or "")

    refused = [
        client.post(WEBHOOK, json=update),
        client.post(WEBHOOK, json=update, headers={SECRET_HEADER: "guess"}),
        client.post(WEBHOOK, json=update, headers={SECRET_HEADER: "ünïcode".encode()}),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403]
    # Telegram sends no token; a user's is refused, as on every anonymous-only route.
    register(client, "someone")
    user = auth(login_token(client, "someone"))
    assert client.post(WEBHOOK, json=update, headers=secret | user).status_code == 403
    bad = client.post(WEBHOOK, json={"update_id": "not a number"}, headers=secret)
    assert (bad.status_code, bad.json()["detail"]) == (
        422,
        "422: 2: Validation Error: Not a Telegram update: 1 error(s)",
    )
    assert len(fake_telegram.messages_to(9001)) == 2  # nothing answered for refused posts


def test_no_webhook_route_in_polling_mode(database_url: str, fake_telegram: RunningFakeTelegram):
    app = create_app(
        bot_settings(database_url, fake_telegram, "polling"), password_hasher=CHEAP_ARGON2
    )
    with checked_client(app) as client:
        secret = {SECRET_HEADER: webhook_secret(app.state.context.settings)}
        response = client.post(WEBHOOK, json=fake_telegram.text_update(1, "/info"), headers=secret)
        assert response.status_code == 405
        assert fake_telegram.messages == []


def test_polling_rides_out_telegram_trouble(
    migrated_sqlite_url: str, fake_telegram: RunningFakeTelegram
):
    """On SQLite only: what is tested here does not touch the database."""
    empty_database(migrated_sqlite_url)
    settings = bot_settings(migrated_sqlite_url, fake_telegram, "polling")
    app = create_app(settings, password_hasher=CHEAP_ARGON2)
    fake_telegram.webhook = {"url": "https://left.over/bot"}  # from an earlier webhook mode
    with checked_client(app), running_bot(BotServices.of_api(app.state.context)):
        chat = Chat(fake_telegram)
        assert "<b>Pepeunit</b>" in (chat.ask("/help").text or "")  # the webhook was removed
        assert fake_telegram.webhook is None

        # Telegram down for a while: the update waits on Telegram's side, the reply comes after.
        with fake_telegram.outage():
            before = chat.seen()
            fake_telegram.send_text(chat.chat_id, "/info")
            time.sleep(1.0)
            assert chat.seen() == before
        (late,) = fake_telegram.wait_for_messages(chat.chat_id, 1, after=before)
        assert late.text.startswith("<b>Instance</b>")

        # The port closed (connection refused), then back.
        with fake_telegram.unreachable():
            before = chat.seen()
            fake_telegram.send_text(chat.chat_id, "/help")
            time.sleep(0.5)
        fake_telegram.wait_for_messages(chat.chat_id, 1, after=before)

        # Flood control on the reply: it is sent again after retry_after, once.
        fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
        sent_before = len(fake_telegram.calls_of("sendMessage"))
        assert "<b>Pepeunit</b>" in (chat.ask("/help").text or "")
        attempts = fake_telegram.calls_of("sendMessage")[sent_before:]
        assert [call.status for call in attempts] == [429, 200]
        assert attempts[1].at - attempts[0].at >= 1.0

        # A server error on the reply: tried again a second later.
        fake_telegram.fail_next("sendMessage", status=502)
        assert "<b>Pepeunit</b>" in (chat.ask("/help").text or "")
        assert fake_telegram.pending_updates() == 0
