"""`/info`: what the instance holds (anyone may ask, as anyone may read GET /metrics/)."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from control_plane.bot import queries, views
from control_plane.bot.handlers.replies import reply
from control_plane.bot.services import BotServices


def make_router(services: BotServices) -> Router:
    router = Router(name="info")

    @router.message(Command("info"))
    async def info(message: Message) -> None:
        found = await services.run(lambda session: queries.instance_info(session, message.chat.id))
        await reply(message, views.info_view(found))

    return router
