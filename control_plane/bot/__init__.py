"""The Telegram bot (docs/operations.md#telegram): account linking, instance counts, units with
their state, versions and logs, and the owner's actions (commands, env.json, firmware).

Handlers call the same services as the API, as the user linked to the chat or, for a chat no
user linked, as the anonymous agent (public data only). `pepeunit bot` runs it by long polling,
or keeps a webhook registered for the API's `POST /bot` to feed (`PU_TELEGRAM_BOT_MODE`).
"""

from control_plane.bot.client import make_bot, webhook_secret, webhook_url
from control_plane.bot.dispatcher import make_dispatcher
from control_plane.bot.running import PollingBot, feed_webhook_update, keep_webhook_registered
from control_plane.bot.services import BotServices

__all__ = [
    "BotServices",
    "PollingBot",
    "feed_webhook_update",
    "keep_webhook_registered",
    "make_bot",
    "make_dispatcher",
    "webhook_secret",
    "webhook_url",
]
