"""The unit creator's buttons: send a command the unit's schema takes, get env.json or a
firmware archive as a file, read the recent logs. The services refuse anyone else."""

from aiogram import Bot, Router
from aiogram.types import BufferedInputFile, CallbackQuery

from control_plane.bot import queries, views
from control_plane.bot.callbacks import LogsPage, UnitCommandCall, UnitDownload, UnitFileCall
from control_plane.bot.handlers.replies import chat_of, show
from control_plane.bot.services import BotServices
from control_plane.services.firmware import ArchiveFormat


def make_router(services: BotServices) -> Router:
    router = Router(name="unit_actions")

    @router.callback_query(UnitCommandCall.filter())
    async def send_command(
        callback: CallbackQuery, callback_data: UnitCommandCall, bot: Bot
    ) -> None:
        chat_id, command = chat_of(callback), callback_data.command
        name = await services.run(
            lambda session: queries.send_command(
                session, services, chat_id, callback_data.uuid, command
            )
        )
        await callback.answer(f"{command.value} sent to {name}")
        await bot.send_message(chat_id, f"✅ {command.value} sent to <b>{views.escape(name)}</b>.")

    @router.callback_query(UnitFileCall.filter())
    async def send_file(callback: CallbackQuery, callback_data: UnitFileCall, bot: Bot) -> None:
        chat_id, uuid = chat_of(callback), callback_data.uuid
        if callback_data.file is UnitDownload.ENV:
            found = await services.run(
                lambda session: queries.env_file(session, services, chat_id, uuid)
            )
        else:
            archive_format = ArchiveFormat(callback_data.file.value)
            found = await services.run(
                lambda session: queries.firmware_file(
                    session, services, chat_id, uuid, archive_format
                )
            )
        await callback.answer()
        await bot.send_document(chat_id, BufferedInputFile(found.content, found.filename))

    @router.callback_query(LogsPage.filter())
    async def show_logs(callback: CallbackQuery, callback_data: LogsPage) -> None:
        chat_id = chat_of(callback)
        found = await services.run(
            lambda session: queries.recent_logs(
                session, services.settings, chat_id, callback_data.uuid, callback_data.page
            )
        )
        await show(callback, views.logs_view(found), in_place=callback_data.edit)

    return router
