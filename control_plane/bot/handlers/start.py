"""`/start [CODE]` (linking a chat to an account with the one-time code), `/help`, and the
help for anything that is not a command."""

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from control_plane.bot import queries, views
from control_plane.bot.handlers.replies import reply
from control_plane.bot.services import BotServices


def make_router(services: BotServices) -> Router:
    router = Router(name="start")

    @router.message(Command("start"))
    async def start(message: Message, command: CommandObject) -> None:
        code = (command.args or "").strip()
        if not code:
            await reply(message, await _help(services, message.chat.id))
            return
        result = await services.run(
            lambda session: queries.link_chat(session, message.chat.id, code)
        )
        if result.refusal is not None:
            await reply(message, views.link_refused_view(result.refusal))
        else:
            await reply(message, views.linked_view(result.login or ""))

    @router.message(Command("help"))
    async def help_command(message: Message) -> None:
        await reply(message, await _help(services, message.chat.id))

    return router


def make_fallback_router(services: BotServices) -> Router:
    """Last of all: any other message gets the help."""
    router = Router(name="fallback")

    @router.message()
    async def anything(message: Message) -> None:
        await reply(message, await _help(services, message.chat.id))

    return router


async def _help(services: BotServices, chat_id: int) -> views.View:
    info = await services.run(lambda session: queries.instance_info(session, chat_id))
    return views.help_view(info.login)
