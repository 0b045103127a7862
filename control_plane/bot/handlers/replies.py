"""Sending a view: as a reply to a message, or from a button press (edited in place or new)."""

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from control_plane.bot.views import View


async def reply(message: Message, view: View) -> None:
    await message.answer(view.text, reply_markup=view.markup)


def pressed_message(callback: CallbackQuery) -> Message | None:
    """The message whose button was pressed, if Telegram still has it."""
    message = callback.message
    return message if isinstance(message, Message) else None


async def show(callback: CallbackQuery, view: View, *, in_place: bool) -> None:
    """`in_place`: the pressed message becomes the view (paging); else a new message."""
    message = pressed_message(callback)
    if in_place and message is not None:
        try:
            await message.edit_text(view.text, reply_markup=view.markup)
        except TelegramBadRequest as error:  # an old button that leads where the message is
            if "not modified" not in error.message:
                raise
    elif message is not None:
        await message.answer(view.text, reply_markup=view.markup)
    await callback.answer()


def chat_of(callback: CallbackQuery) -> int:
    """The chat the button was pressed in (the presser's own chat if Telegram gave none)."""
    message = callback.message
    return message.chat.id if message is not None else callback.from_user.id
