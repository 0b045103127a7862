"""`/users`: registration and login (anonymous only), reading (users), self-update, Telegram
verification links, and blocking (Admin)."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from control_plane.api.deps import (
    AnonymousAgent,
    ContextDep,
    CurrentAdmin,
    CurrentUser,
    SessionDep,
    SettingsDep,
)
from control_plane.api.error_responses import declared_errors
from control_plane.api.pagination import PageDep
from control_plane.models.user import (
    AccessToken,
    UserAuth,
    UserCreate,
    UserFilter,
    UserRead,
    UsersResult,
    UserUpdate,
)
from control_plane.services.errors import NoAccessError
from control_plane.services.users import telegram_link, users

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(
    data: UserCreate, _agent: AnonymousAgent, context: ContextDep, session: SessionDep
) -> UserRead:
    """Register; the first user of the instance becomes Admin."""
    return UserRead.model_validate(users.create_user(session, context.passwords, data))


@router.post("/auth")
def get_token(
    data: UserAuth, _agent: AnonymousAgent, context: ContextDep, session: SessionDep
) -> AccessToken:
    """A token for `x-auth-token`, from a login (or Telegram chat id) and password."""
    token = users.issue_token(
        session, context.passwords, context.settings, data.credentials, data.password
    )
    return AccessToken(token=token)


@router.get("")
def list_users(
    filters: Annotated[UserFilter, Query()], page: PageDep, _user: CurrentUser, session: SessionDep
) -> UsersResult:
    count, rows = users.list_users(session, filters, page)
    return UsersResult(count=count, users=[UserRead.model_validate(row) for row in rows])


@router.get("/generate_verification_link/", responses=declared_errors(405))
def generate_verification_link(
    user: CurrentUser, settings: SettingsDep, session: SessionDep
) -> str:
    """A link to the Telegram bot with a one-time code (valid 60 s): opening it sends
    `/start <code>`, which links that chat to you."""
    return telegram_link.new_verification_link(session, settings, user, datetime.now(UTC))


@router.get("/{uuid}")
def get_user(uuid: UUID, _user: CurrentUser, session: SessionDep) -> UserRead:
    return UserRead.model_validate(users.get_user(session, uuid))


@router.patch("/{uuid}")
def update_user(
    uuid: UUID, data: UserUpdate, user: CurrentUser, context: ContextDep, session: SessionDep
) -> UserRead:
    """Change your own login and/or password; `uuid` must be your own."""
    if uuid != user.uuid:
        raise NoAccessError("Users can only change themselves")
    return UserRead.model_validate(users.update_user(session, context.passwords, user, data))


@router.patch("/block/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def block_user(uuid: UUID, admin: CurrentAdmin, settings: SettingsDep, session: SessionDep) -> None:
    """Blocks the user: their logins and tokens are refused, and their units are cut off from
    the API and from every broker at once."""
    users.set_blocked(session, settings, admin, uuid, blocked=True)


@router.patch("/unblock/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def unblock_user(
    uuid: UUID, admin: CurrentAdmin, settings: SettingsDep, session: SessionDep
) -> None:
    users.set_blocked(session, settings, admin, uuid, blocked=False)
