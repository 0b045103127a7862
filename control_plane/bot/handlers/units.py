"""`/units [mine]` (a page of the units the chat may see, with buttons to open one and to page)
and `/unit NAME` (one unit: state, versions, update status, and its creator's actions)."""

from uuid import UUID

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from control_plane.bot import queries, views
from control_plane.bot.callbacks import UnitsPage, UnitView
from control_plane.bot.handlers.replies import chat_of, reply, show
from control_plane.bot.services import BotServices

USAGE = views.View("Which unit? <code>/unit NAME</code> (or its uuid); /units lists them.")


def make_router(services: BotServices) -> Router:
    router = Router(name="units")
    settings = services.settings

    async def page_view(chat_id: int, page: int, mine: bool) -> views.View:
        found = await services.run(
            lambda session: queries.units_page(session, settings, chat_id, page, mine)
        )
        return views.units_view(found)

    async def unit_view(chat_id: int, uuid: UUID) -> views.View:
        found = await services.run(
            lambda session: queries.unit_detail(session, settings, chat_id, uuid)
        )
        return views.unit_view(found)

    @router.message(Command("units"))
    async def list_units(message: Message, command: CommandObject) -> None:
        mine = (command.args or "").strip().lower() == "mine"
        await reply(message, await page_view(message.chat.id, 0, mine))

    @router.callback_query(UnitsPage.filter())
    async def turn_page(callback: CallbackQuery, callback_data: UnitsPage) -> None:
        chat_id = chat_of(callback)
        view = await page_view(chat_id, callback_data.page, callback_data.mine)
        await show(callback, view, in_place=True)

    @router.message(Command("unit"))
    async def open_unit(message: Message, command: CommandObject) -> None:
        name = (command.args or "").strip()
        if not name:
            await reply(message, USAGE)
            return
        chat_id = message.chat.id
        uuid = await services.run(lambda session: queries.find_unit(session, chat_id, name))
        await reply(message, await unit_view(chat_id, uuid))

    @router.callback_query(UnitView.filter(), F.message)
    async def open_listed_unit(callback: CallbackQuery, callback_data: UnitView) -> None:
        view = await unit_view(chat_of(callback), callback_data.uuid)
        await show(callback, view, in_place=False)

    return router
