"""`POST /bot`: the Telegram webhook (docs/operations.md#telegram). With
PU_TELEGRAM_BOT_MODE=webhook Telegram posts every update here, with the secret `pepeunit bot`
registered the webhook with; the bot's handlers answer through the Bot API. Telegram sends no token:
anonymous only."""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, status
from pydantic import ValidationError

from control_plane.api.deps import AnonymousAgent, ContextDep
from control_plane.api.error_responses import declared_errors
from control_plane.services.errors import FeatureFlagError, InputValidationError, NoAccessError

router = APIRouter(tags=["telegram"])

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@router.post("/bot", status_code=status.HTTP_204_NO_CONTENT, responses=declared_errors(405))
async def telegram_webhook(
    update: Annotated[dict[str, Any], Body(description="A Telegram Update object.")],
    _agent: AnonymousAgent,
    context: ContextDep,
    secret: Annotated[str | None, Header(alias=SECRET_HEADER)] = None,
) -> None:
    settings = context.settings
    if settings.telegram_bot_mode != "webhook" or not settings.telegram_token:
        raise FeatureFlagError(
            "The Telegram bot takes no webhook updates here (PU_TELEGRAM_BOT_MODE=webhook "
            "and PU_TELEGRAM_TOKEN turn it on)"
        )
    # Imported here: aiogram takes longer to import than the rest of the API, and only a
    # webhook-mode instance needs it.
    from control_plane.bot import BotServices, feed_webhook_update, webhook_secret

    expected = webhook_secret(settings).encode()
    if secret is None or not hmac.compare_digest(secret.encode(), expected):
        raise NoAccessError("Not Telegram: wrong or missing webhook secret")
    try:
        await feed_webhook_update(BotServices.of_api(context), update)
    except ValidationError as error:
        raise InputValidationError(
            f"Not a Telegram update: {error.error_count()} error(s)"
        ) from None
