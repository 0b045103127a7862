"""Users (REST `/users`): registration and login for anonymous callers, reading for users,
self-update, the Telegram link, blocking by Admins; and 1.x's Grafana cookie fields."""

from datetime import UTC, datetime
from uuid import UUID

import strawberry
from sqlalchemy.orm import Session

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import OrderByDate, UserRole, UserStatus
from control_plane.graphql.validation import validated
from control_plane.models.user import UserAuth, UserCreate, UserFilter, UserRead, UserUpdate
from control_plane.security import Agent, AgentType
from control_plane.services.errors import FeatureFlagError
from control_plane.services.users import telegram_link, users
from control_plane.services.users.agents import require_admin, require_agent_types, require_user
from pepeunit_core.db.models import User

GRAFANA_COOKIE = "PepeunitGrafana"
"""1.x's cookie for its Grafana login bridge, which this instance does not have
(docs/graphql.md#users)."""


@strawberry.experimental.pydantic.type(model=UserRead, all_fields=True, name="UserType")
class UserType:
    pass


@strawberry.type
class UsersResultType:
    count: int
    users: list[UserType]


@strawberry.input
class UserAuthInput:
    credentials: str
    password: str


@strawberry.input
class UserCreateInput:
    login: str
    password: str


@strawberry.input
class UserUpdateInput:
    login: str | None = None
    password: str | None = None


@strawberry.input
class UserFilterInput(PaginationInput):
    uuids: list[UUID] | None = strawberry.field(default_factory=list)
    search_string: str | None = None
    role: list[UserRole] | None = strawberry.field(default_factory=lambda: list(UserRole))
    status: list[UserStatus] | None = strawberry.field(default_factory=lambda: list(UserStatus))
    order_by_create_date: OrderByDate | None = OrderByDate("desc")


def user_type(row: User) -> UserType:
    return UserType.from_pydantic(UserRead.model_validate(row))


@strawberry.type
class Query:
    @strawberry.field
    async def get_user(self, info: GraphQLInfo, uuid: UUID) -> UserType:
        def work(session: Session, agent: Agent) -> UserType:
            require_user(agent)
            return user_type(users.get_user(session, uuid))

        return await info.context.call(work)

    @strawberry.field
    async def get_token(self, info: GraphQLInfo, data: UserAuthInput) -> str:
        """A query with a side effect in 1.x: the Grafana cookie, never set here."""
        app = info.context.app

        def work(session: Session, agent: Agent) -> str:
            require_agent_types(agent, AgentType.BOT)
            auth = validated(UserAuth, "data", data)
            return users.issue_token(
                session, app.passwords, app.settings, auth.credentials, auth.password
            )

        return await info.context.call(work)

    @strawberry.field
    async def get_verification_user(self, info: GraphQLInfo) -> str:
        settings = info.context.app.settings
        return await info.context.call(
            lambda session, agent: telegram_link.new_verification_link(
                session, settings, require_user(agent), datetime.now(UTC)
            )
        )

    @strawberry.field
    async def get_users(self, info: GraphQLInfo, filters: UserFilterInput) -> UsersResultType:
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> UsersResultType:
            require_user(agent)
            page = filters.page(settings)
            count, rows = users.list_users(session, validated(UserFilter, "filters", filters), page)
            return UsersResultType(count=count, users=[user_type(row) for row in rows])

        return await info.context.call(work)


def _grafana_cookies_disabled() -> FeatureFlagError:
    return FeatureFlagError("This feature has been disabled by the instance Owner")


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_user(self, info: GraphQLInfo, user: UserCreateInput) -> UserType:
        """Register; the first user of the instance becomes Admin."""
        passwords = info.context.app.passwords

        def work(session: Session, agent: Agent) -> UserType:
            require_agent_types(agent, AgentType.BOT)
            return user_type(
                users.create_user(session, passwords, validated(UserCreate, "user", user))
            )

        return await info.context.call(work)

    @strawberry.mutation
    async def update_user(self, info: GraphQLInfo, user: UserUpdateInput) -> UserType:
        """The caller's own login and/or password."""
        passwords = info.context.app.passwords

        def work(session: Session, agent: Agent) -> UserType:
            caller = require_user(agent)
            data = validated(UserUpdate, "user", user)
            return user_type(users.update_user(session, passwords, caller, data))

        return await info.context.call(work)

    @strawberry.mutation
    async def block_user(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        return await _set_blocked(info, uuid, blocked=True)

    @strawberry.mutation
    async def unblock_user(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        return await _set_blocked(info, uuid, blocked=False)

    @strawberry.mutation
    async def set_grafana_cookies(self, info: GraphQLInfo) -> NoneType:
        """1.x's Grafana login bridge is not part of this instance: refused as 1.x refuses it
        with the Grafana feature off."""

        def work(_session: Session, _agent: Agent) -> NoneType:
            raise _grafana_cookies_disabled()

        return await info.context.call(work)

    @strawberry.mutation
    async def delete_user_cookies(self, info: GraphQLInfo) -> NoneType:
        """Deletes 1.x's Grafana cookie, should the browser still carry one."""
        settings = info.context.app.settings
        response = info.context.response
        if response is not None:
            response.delete_cookie(
                GRAFANA_COOKIE, httponly=True, samesite="lax", secure=settings.secure
            )
        return NoneType()


async def _set_blocked(info: GraphQLInfo, uuid: UUID, blocked: bool) -> NoneType:
    settings = info.context.app.settings

    def work(session: Session, agent: Agent) -> NoneType:
        users.set_blocked(session, settings, require_admin(agent), uuid, blocked=blocked)
        return NoneType()

    return await info.context.call(work)
