"""`/registry`, `/repo` and `/dashboard` (docs/operations.md#telegram): pages of what the chat may
see, with buttons to open one and to page; a registry's sync and a repo's "update its units" for who
may.

`/registry [mine] [WORDS]`, `/registry UUID`; `/repo [mine] [WORDS]`, `/repo NAME|UUID`: one
word that names a repo (or a registry's uuid) opens it, anything else is a search.
"""

from uuid import UUID

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from control_plane.bot import catalog_queries as queries
from control_plane.bot import catalog_views as views
from control_plane.bot.callbacks import (
    DashboardsPage,
    RegistriesPage,
    RegistryReposPage,
    RegistrySync,
    RegistryView,
    ReposPage,
    RepoUnitsPage,
    RepoUnitsUpdate,
    RepoView,
)
from control_plane.bot.handlers.replies import chat_of, reply, show
from control_plane.bot.services import BotServices
from control_plane.bot.views import View, escape


def _arguments(command: CommandObject) -> tuple[bool, str]:
    """(`mine`, the rest) of a list command's arguments."""
    words = (command.args or "").split()
    mine = bool(words) and words[0].lower() == "mine"
    return mine, " ".join(words[1:] if mine else words)


def make_router(services: BotServices) -> Router:
    router = Router(name="catalog")
    settings = services.settings

    # --- registries ---------------------------------------------------------------------------

    async def registries_page(chat_id: int, page: int, mine: bool, search: str) -> View:
        found = await services.run(
            lambda session: queries.registries_page(session, settings, chat_id, page, mine, search)
        )
        return views.registries_view(found)

    async def registry_view(chat_id: int, uuid: UUID) -> View:
        found = await services.run(
            lambda session: queries.registry_detail(session, settings, chat_id, uuid)
        )
        return views.registry_view(found)

    @router.message(Command("registry"))
    async def registry_command(message: Message, command: CommandObject) -> None:
        chat_id = message.chat.id
        mine, text = _arguments(command)
        if not mine and text and " " not in text:
            uuid = await services.run(lambda session: queries.find_registry(session, chat_id, text))
            if uuid is not None:
                await reply(message, await registry_view(chat_id, uuid))
                return
        await reply(message, await registries_page(chat_id, 0, mine, text))

    @router.callback_query(RegistriesPage.filter())
    async def turn_registries_page(callback: CallbackQuery, callback_data: RegistriesPage) -> None:
        view = await registries_page(
            chat_of(callback), callback_data.page, callback_data.mine, callback_data.search
        )
        await show(callback, view, in_place=True)

    @router.callback_query(RegistryView.filter(), F.message)
    async def open_registry(callback: CallbackQuery, callback_data: RegistryView) -> None:
        view = await registry_view(chat_of(callback), callback_data.uuid)
        await show(callback, view, in_place=False)

    @router.callback_query(RegistrySync.filter())
    async def sync_registry(callback: CallbackQuery, callback_data: RegistrySync, bot: Bot) -> None:
        chat_id = chat_of(callback)
        url = await services.run(
            lambda session: queries.sync_registry(session, settings, chat_id, callback_data.uuid)
        )
        await callback.answer()
        await bot.send_message(chat_id, f"✅ <b>{escape(url)}</b> is up to date.")

    @router.callback_query(RegistryReposPage.filter())
    async def registry_repos(callback: CallbackQuery, callback_data: RegistryReposPage) -> None:
        chat_id, uuid = chat_of(callback), callback_data.uuid
        found = await services.run(
            lambda session: queries.repos_page(
                session, settings, chat_id, callback_data.page, False, "", registry_uuid=uuid
            )
        )
        await show(callback, views.repos_view(found), in_place=callback_data.edit)

    # --- repos --------------------------------------------------------------------------------

    async def repos_page(chat_id: int, page: int, mine: bool, search: str) -> View:
        found = await services.run(
            lambda session: queries.repos_page(session, settings, chat_id, page, mine, search)
        )
        return views.repos_view(found)

    async def repo_view(chat_id: int, uuid: UUID) -> View:
        found = await services.run(
            lambda session: queries.repo_detail(session, settings, chat_id, uuid)
        )
        return views.repo_view(found)

    @router.message(Command("repo"))
    async def repo_command(message: Message, command: CommandObject) -> None:
        chat_id = message.chat.id
        mine, text = _arguments(command)
        if not mine and text and " " not in text:
            uuid = await services.run(lambda session: queries.find_repo(session, chat_id, text))
            if uuid is not None:
                await reply(message, await repo_view(chat_id, uuid))
                return
        await reply(message, await repos_page(chat_id, 0, mine, text))

    @router.callback_query(ReposPage.filter())
    async def turn_repos_page(callback: CallbackQuery, callback_data: ReposPage) -> None:
        view = await repos_page(
            chat_of(callback), callback_data.page, callback_data.mine, callback_data.search
        )
        await show(callback, view, in_place=True)

    @router.callback_query(RepoView.filter(), F.message)
    async def open_repo(callback: CallbackQuery, callback_data: RepoView) -> None:
        view = await repo_view(chat_of(callback), callback_data.uuid)
        await show(callback, view, in_place=False)

    @router.callback_query(RepoUnitsPage.filter())
    async def repo_units(callback: CallbackQuery, callback_data: RepoUnitsPage) -> None:
        chat_id = chat_of(callback)
        found = await services.run(
            lambda session: queries.repo_units_page(
                session, settings, chat_id, callback_data.uuid, callback_data.page
            )
        )
        await show(callback, views.repo_units_view(found), in_place=callback_data.edit)

    @router.callback_query(RepoUnitsUpdate.filter())
    async def update_repo_units(
        callback: CallbackQuery, callback_data: RepoUnitsUpdate, bot: Bot
    ) -> None:
        chat_id = chat_of(callback)
        name, units, failed = await services.run(
            lambda session: queries.update_repo_units(
                session, services, chat_id, callback_data.uuid
            )
        )
        await callback.answer()
        await bot.send_message(chat_id, views.repo_update_sent_view(name, units, failed).text)

    # --- dashboards ---------------------------------------------------------------------------

    async def dashboards_page(chat_id: int, page: int) -> View:
        found = await services.run(
            lambda session: queries.dashboards_page(session, settings, chat_id, page)
        )
        return views.dashboards_view(found)

    @router.message(Command("dashboard"))
    async def dashboard_command(message: Message) -> None:
        await reply(message, await dashboards_page(message.chat.id, 0))

    @router.callback_query(DashboardsPage.filter())
    async def turn_dashboards_page(callback: CallbackQuery, callback_data: DashboardsPage) -> None:
        view = await dashboards_page(chat_of(callback), callback_data.page)
        await show(callback, view, in_place=True)

    return router
