"""The aiogram `Bot` on `PU_TELEGRAM_API_URL`, and the webhook's address and secret."""

import hashlib
import hmac

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from control_plane.bot.retries import RetryRequests
from pepeunit_core.settings import Settings

WEBHOOK_PATH = "/bot"


class BotNotConfiguredError(RuntimeError):
    """PU_TELEGRAM_TOKEN is not set."""


def make_bot(settings: Settings, *, retries: bool = True) -> Bot:
    """A bot whose messages are HTML and, with `retries`, whose calls are repeated when
    Telegram asks (`RetryRequests`); the caller closes `bot.session`."""
    if not settings.telegram_token:
        raise BotNotConfiguredError("PU_TELEGRAM_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    if retries:
        session.middleware(RetryRequests())
    return Bot(
        settings.telegram_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def webhook_url(settings: Settings) -> str:
    scheme = "https" if settings.secure else "http"
    return (
        f"{scheme}://{settings.domain}{settings.app_prefix}{settings.api_v1_prefix}{WEBHOOK_PATH}"
    )


def webhook_secret(settings: Settings) -> str:
    """What Telegram sends in X-Telegram-Bot-Api-Secret-Token: derived from PU_SECRET_KEY, so
    every API process knows it without another setting (64 hex digits, within Telegram's
    1-256 characters of A-Z a-z 0-9 _ -)."""
    key = settings.resolved_secret_key.encode()
    return hmac.new(key, b"pepeunit telegram webhook", hashlib.sha256).hexdigest()
