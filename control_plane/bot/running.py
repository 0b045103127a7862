"""Running the bot: long polling (`PollingBot`), or a webhook that Telegram posts updates to
(`keep_webhook_registered` in `pepeunit bot`, `feed_webhook_update` in the API's route)."""

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand
from aiogram.utils.backoff import BackoffConfig

from control_plane.bot.client import make_bot, webhook_secret, webhook_url
from control_plane.bot.dispatcher import make_dispatcher
from control_plane.bot.services import BotServices

logger = logging.getLogger("pepeunit.bot")

WEBHOOK_CHECK_INTERVAL_S = 60.0
DEFAULT_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)
"""Between getUpdates attempts while Telegram cannot be reached."""
"""How often `pepeunit bot` checks that Telegram still has the webhook (as the reference)."""


COMMANDS = (
    ("registry", "Repository registries: branches, sync"),
    ("repo", "Repos: update policy, versions of their units"),
    ("units", "The units you can see"),
    ("unit", "A unit: state, versions, commands, files, logs"),
    ("dashboard", "Your dashboards"),
    ("info", "What this instance holds"),
    ("help", "The commands, and whom this chat is linked to"),
)
"""The menu Telegram shows (the reference's BotFather list, with /units)."""


async def publish_commands(bot: Bot) -> None:
    """Sets the command menu; a failure is logged, the bot works without it."""
    commands = [BotCommand(command=name, description=text) for name, text in COMMANDS]
    try:
        await bot.set_my_commands(commands)
    except TelegramAPIError as error:
        logger.warning("could not set the command menu: %s", error)


class PollingBot:
    """Asks Telegram for updates (getUpdates long polling) until stopped; retries with backoff
    while Telegram cannot be reached."""

    def __init__(
        self,
        services: BotServices,
        *,
        polling_timeout: int = 30,
        backoff: BackoffConfig = DEFAULT_BACKOFF,
    ) -> None:
        self.bot = make_bot(services.settings)
        self.dispatcher = make_dispatcher(services)
        self._polling_timeout = polling_timeout
        self._backoff = backoff

    async def run(self, *, handle_signals: bool = True) -> None:
        """Until SIGINT/SIGTERM (with `handle_signals`) or `stop()`; closes the bot's session."""
        try:
            # A webhook left from webhook mode would make every getUpdates fail (409).
            await self.bot.delete_webhook()
        except TelegramAPIError as error:
            logger.warning("could not remove a webhook before polling: %s", error)
        await publish_commands(self.bot)
        await self.dispatcher.start_polling(
            self.bot,
            polling_timeout=self._polling_timeout,
            backoff_config=self._backoff,
            handle_signals=handle_signals,
        )

    async def stop(self) -> None:
        await self.dispatcher.stop_polling()


async def feed_webhook_update(services: BotServices, update: dict[str, Any]) -> None:
    """Handles one update Telegram posted to the webhook; raises pydantic's ValidationError
    for a body that is not an Update. Failures inside handlers are answered in the chat."""
    bot = make_bot(services.settings)
    try:
        await make_dispatcher(services).feed_raw_update(bot, update)
    finally:
        await bot.session.close()


async def ensure_webhook(bot: Bot, services: BotServices) -> bool:
    """Registers the webhook unless Telegram has it already; True when it set it now."""
    settings = services.settings
    url = webhook_url(settings)
    info = await bot.get_webhook_info()
    if info.url == url:
        return False
    allowed = make_dispatcher(services).resolve_used_update_types()
    await bot.set_webhook(url, secret_token=webhook_secret(settings), allowed_updates=allowed)
    logger.info("webhook set to %s", url)
    await publish_commands(bot)
    return True


async def keep_webhook_registered(
    services: BotServices,
    stop: asyncio.Event,
    *,
    interval_s: float = WEBHOOK_CHECK_INTERVAL_S,
) -> None:
    """Sets the webhook, then checks every `interval_s` that it is still there, until `stop`."""
    bot = make_bot(services.settings)
    try:
        while not stop.is_set():
            try:
                await ensure_webhook(bot, services)
            except TelegramAPIError as error:
                logger.warning("could not check the webhook: %s", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
    finally:
        await bot.session.close()
