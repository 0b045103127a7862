"""Users: registration (the first user becomes Admin), login, listing, self-update, blocking."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Select, asc, desc, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.models.common import OrderByDate
from control_plane.models.user import UserCreate, UserFilter, UserUpdate
from control_plane.security import HashedPassword, PasswordHashing, make_user_token
from control_plane.services.broker.changes import broker_access_changed
from control_plane.services.errors import (
    NoAccessError,
    NotAuthenticatedError,
    NotFoundError,
    UserError,
)
from control_plane.services.paging import Page, paginate
from pepeunit_core.db.enums import UserRole, UserStatus
from pepeunit_core.db.models import User
from pepeunit_core.settings import Settings

LOGIN_TAKEN = "Login is not unique"


def create_user(session: Session, passwords: PasswordHashing, data: UserCreate) -> User:
    _ensure_login_free(session, data.login)
    # Two simultaneous first registrations could both become Admin; harmless enough to accept.
    is_first = not session.scalar(select(exists().select_from(User)))
    salt, hashed = passwords.hash(data.password)
    user = User(
        role=UserRole.ADMIN if is_first else UserRole.USER,
        status=UserStatus.UNVERIFIED,
        login=data.login,
        hashed_password=hashed,
        cipher_dynamic_salt=salt,
    )
    session.add(user)
    _commit_or_login_taken(session)
    return user


def authenticate(
    session: Session, passwords: PasswordHashing, credentials: str, password: str
) -> User:
    """The user whose login (or else Telegram chat id) is `credentials`, if the password fits."""
    user = session.scalar(select(User).where(User.login == credentials)) or session.scalar(
        select(User).where(User.telegram_chat_id == credentials)
    )
    if user is None or not passwords.verify(
        password, HashedPassword(user.cipher_dynamic_salt, user.hashed_password)
    ):
        raise NotAuthenticatedError("Invalid credentials")
    if user.status == UserStatus.BLOCKED:
        raise NoAccessError("User is blocked")
    return user


def issue_token(
    session: Session,
    passwords: PasswordHashing,
    settings: Settings,
    credentials: str,
    password: str,
) -> str:
    """A user token (`PU_AUTH_TOKEN_EXPIRATION` seconds) for the user `authenticate` finds."""
    user = authenticate(session, passwords, credentials, password)
    return make_user_token(user.uuid, settings.resolved_secret_key, settings.auth_token_expiration)


def get_user(session: Session, uuid: UUID) -> User:
    user = session.get(User, uuid)
    if user is None:
        raise NotFoundError.of("User", uuid)
    return user


def find_by_login(session: Session, login: str) -> User | None:
    """The user whose login is exactly `login` (any user may list users, as `GET /users`)."""
    if "\x00" in login:
        return None  # no login holds NUL, and PostgreSQL refuses to compare with it
    return session.scalar(select(User).where(User.login == login))


def list_users(session: Session, filters: UserFilter, page: Page) -> tuple[int, Sequence[User]]:
    return paginate(session, _filtered_users(filters), page)


def _filtered_users(filters: UserFilter) -> Select[tuple[User]]:
    statement = select(User)
    if filters.uuids:
        statement = statement.where(User.uuid.in_(filters.uuids))
    for word in (filters.search_string or "").split():
        statement = statement.where(User.login.icontains(word, autoescape=True))
    if filters.role:
        statement = statement.where(User.role.in_(filters.role))
    if filters.status:
        statement = statement.where(User.status.in_(filters.status))
    direction = asc if filters.order_by_create_date == OrderByDate.ASC else desc
    return statement.order_by(direction(User.create_datetime), direction(User.uuid))


def update_user(session: Session, passwords: PasswordHashing, user: User, data: UserUpdate) -> User:
    """Changes the caller's own login and/or password."""
    if data.login is not None and data.login != user.login:
        _ensure_login_free(session, data.login)
        user.login = data.login
    if data.password is not None:
        user.cipher_dynamic_salt, user.hashed_password = passwords.hash(data.password)
    _commit_or_login_taken(session)
    return user


def set_blocked(
    session: Session, settings: Settings, admin: User, uuid: UUID, blocked: bool
) -> None:
    """Block, or unblock back to Verified (Telegram linked) or Unverified. The user's units
    lose (or get back) their broker access at once: the brokers are told after the commit."""
    user = get_user(session, uuid)
    if blocked and user.uuid == admin.uuid:
        raise UserError("An Admin cannot block themselves")
    if blocked:
        user.status = UserStatus.BLOCKED
    else:
        user.status = UserStatus.VERIFIED if user.telegram_chat_id else UserStatus.UNVERIFIED
    session.commit()
    broker_access_changed(session, settings)


def _ensure_login_free(session: Session, login: str) -> None:
    if session.scalar(select(exists().where(User.login == login))):
        raise UserError(LOGIN_TAKEN)


def _commit_or_login_taken(session: Session) -> None:
    """Commits; the login's unique constraint is the only one a user row can break, and a
    concurrent request may have taken the login since `_ensure_login_free`."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise UserError(LOGIN_TAKEN) from None
