"""Linking a Telegram chat to a user (docs/operations.md#telegram): a logged-in user gets a one-time
code (`GET /users/generate_verification_link/`) and sends `/start <code>` to the bot, which stores
the chat id on the user and marks them Verified.

Codes live in the SQL database (`telegram_verification_codes`), not in Redis: 8 characters,
valid for 60 s, usable once. A chat belongs to one user at a time.
"""

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.services.errors import FeatureFlagError
from pepeunit_core.db.enums import UserStatus
from pepeunit_core.db.models import TelegramVerificationCode, User
from pepeunit_core.settings import Settings

CODE_LENGTH = 8
CODE_LIFETIME = timedelta(seconds=60)
_CODE_ALPHABET = string.ascii_letters + string.digits
"""Within what a t.me `?start=` parameter may carry ([A-Za-z0-9_-])."""


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def create_verification_code(session: Session, user: User, now: datetime) -> str:
    """A fresh code for `user`; expired codes of everyone are dropped on the way."""
    session.execute(
        delete(TelegramVerificationCode).where(TelegramVerificationCode.expiration_datetime <= now)
    )
    while True:
        code = new_code()
        if session.get(TelegramVerificationCode, code) is None:
            break
    session.add(
        TelegramVerificationCode(
            code=code, user_uuid=user.uuid, expiration_datetime=now + CODE_LIFETIME
        )
    )
    session.commit()
    return code


def verification_link(bot_link: str, code: str) -> str:
    return f"{bot_link}?start={code}"


def new_verification_link(session: Session, settings: Settings, user: User, now: datetime) -> str:
    """A link to the bot carrying a fresh code for `user`; `FeatureFlagError` when the
    instance has no bot (`PU_TELEGRAM_BOT_LINK`)."""
    if not settings.telegram_bot_link:
        raise FeatureFlagError("The Telegram bot is not set up here (PU_TELEGRAM_BOT_LINK)")
    code = create_verification_code(session, user, now)
    return verification_link(settings.telegram_bot_link, code)


class LinkRefusal(StrEnum):
    UNKNOWN_CODE = "unknown"
    """Never issued, or already used."""
    EXPIRED_CODE = "expired"
    CHAT_TAKEN = "taken"
    """The chat is linked to another user."""
    BLOCKED_USER = "blocked"


@dataclass(frozen=True)
class LinkResult:
    user: User | None
    refusal: LinkRefusal | None = None


def link_chat(session: Session, code: str, chat_id: str, now: datetime) -> LinkResult:
    """Uses up `code` (whatever the outcome, once it is found) and links `chat_id` to its user."""
    found = session.get(TelegramVerificationCode, code)
    if found is None:
        return LinkResult(None, LinkRefusal.UNKNOWN_CODE)
    user_uuid, expired = found.user_uuid, found.expiration_datetime <= now
    used = session.execute(
        delete(TelegramVerificationCode).where(TelegramVerificationCode.code == code)
    )
    session.commit()
    if used.rowcount != 1:  # a simultaneous /start with the same code was first
        return LinkResult(None, LinkRefusal.UNKNOWN_CODE)
    if expired:
        return LinkResult(None, LinkRefusal.EXPIRED_CODE)
    user = session.get_one(User, user_uuid)
    holder = linked_user(session, chat_id)
    if holder is not None and holder.uuid != user.uuid:
        return LinkResult(None, LinkRefusal.CHAT_TAKEN)
    if user.status == UserStatus.BLOCKED:
        return LinkResult(None, LinkRefusal.BLOCKED_USER)
    user.telegram_chat_id = chat_id
    user.status = UserStatus.VERIFIED
    try:
        session.commit()
    except IntegrityError:  # another user took the chat meanwhile
        session.rollback()
        return LinkResult(None, LinkRefusal.CHAT_TAKEN)
    return LinkResult(user)


def linked_user(session: Session, chat_id: str) -> User | None:
    return session.scalar(select(User).where(User.telegram_chat_id == chat_id))
