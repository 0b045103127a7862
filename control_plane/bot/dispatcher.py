"""The bot's dispatcher: its routers, and errors turned into answers in the chat.

A service's refusal (`ServiceError`: no access, not found, a command the unit does not take...) is
told to the chat; anything else is logged and answered with a short apology, so one bad update
never stops the bot.
"""

import logging

from aiogram import Bot, Dispatcher
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from control_plane.bot import views
from control_plane.bot.handlers import catalog, info, start, unit_actions, units
from control_plane.bot.services import BotServices
from control_plane.services.errors import ServiceError

logger = logging.getLogger("pepeunit.bot")

UNEXPECTED = views.View("⚠️ Something went wrong on our side; it has been logged.")


def make_dispatcher(services: BotServices) -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.include_routers(
        start.make_router(services),
        info.make_router(services),
        units.make_router(services),
        unit_actions.make_router(services),
        catalog.make_router(services),
        start.make_fallback_router(services),
    )
    dispatcher.errors.register(_refused, ExceptionTypeFilter(ServiceError))
    dispatcher.errors.register(_failed)
    return dispatcher


async def _tell(event: ErrorEvent, bot: Bot, view: views.View) -> None:
    update = event.update
    if update.callback_query is not None:
        callback = update.callback_query
        await callback.answer()
        chat_id = callback.message.chat.id if callback.message else callback.from_user.id
        await bot.send_message(chat_id, view.text)
    elif update.message is not None:
        await update.message.answer(view.text)


async def _refused(event: ErrorEvent, bot: Bot) -> bool:
    assert isinstance(event.exception, ServiceError)
    await _tell(event, bot, views.error_view(event.exception))
    return True


async def _failed(event: ErrorEvent, bot: Bot) -> bool:
    logger.error("update %s failed", event.update.update_id, exc_info=event.exception)
    try:
        await _tell(event, bot, UNEXPECTED)
    except Exception:  # Telegram is unreachable too: the log says enough
        logger.warning("could not tell the chat about the failure", exc_info=True)
    return True
