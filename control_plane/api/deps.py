"""Dependencies of the routes: what the app runs with, a database session, and the caller.

Routes declare who may call them: `AnonymousAgent` (no token), `CurrentUser` / `CurrentAdmin`
(the caller's `User` row), `Annotated[Agent, Depends(agent_of_types(...))]` for other mixes;
`CurrentAgent` is any caller, anonymous included.
"""

from collections.abc import Callable, Iterator
from typing import Annotated

from clickhouse_connect.driver.client import Client
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.context import ControlPlaneContext
from control_plane.security import (
    ANONYMOUS,
    Agent,
    AgentType,
    TokenError,
    decode_token,
)
from control_plane.services.errors import NoAccessError, NotAuthenticatedError
from control_plane.services.store import store_client
from pepeunit_core.db.enums import UserRole, UserStatus
from pepeunit_core.db.models import Unit, User
from pepeunit_core.settings import Settings

AUTH_HEADER = "x-auth-token"


def get_context(request: Request) -> ControlPlaneContext:
    return request.app.state.context


ContextDep = Annotated[ControlPlaneContext, Depends(get_context)]


def get_settings(context: ContextDep) -> Settings:
    return context.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(context: ContextDep) -> Iterator[Session]:
    """A session per request; services commit what they change."""
    with context.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_clickhouse(context: ContextDep) -> Iterator[Client]:
    with store_client(context.clickhouse) as client:
        yield client


# Given back when the route returns, not once the response is sent: a slow download of a
# streamed body must not keep a client of the pool.
ClickHouseDep = Annotated[Client, Depends(get_clickhouse, scope="function")]

# Raw token, no "Bearer" (the reference's header); registered as an API key so Swagger UI
# offers "Authorize".
_auth_token_header = APIKeyHeader(name=AUTH_HEADER, auto_error=False)
# `Authorization: Bearer <token>` works too. This only declares the scheme in the document:
# the header is read by `bearer_token`, which refuses a malformed one instead of ignoring it.
_bearer_scheme = HTTPBearer(auto_error=False)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None without the header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise NotAuthenticatedError(
            "The Authorization header must be 'Bearer <token>' (or send the token raw in "
            f"{AUTH_HEADER})"
        )
    return token


def presented_token(request: Request, auth_token: str | None) -> str | None:
    """The token the caller sent, in `x-auth-token` or as a Bearer token (the same token
    either way; both may be sent only if they agree)."""
    bearer = bearer_token(request.headers.get("authorization"))
    if auth_token and bearer and auth_token != bearer:
        raise NotAuthenticatedError(f"{AUTH_HEADER} and Authorization carry different tokens")
    return auth_token or bearer


def get_current_agent(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    auth_token: Annotated[str | None, Depends(_auth_token_header)],
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Agent:
    """The caller: anonymous without a token; 401 for a token that names nobody valid (or a
    malformed Authorization header), 403 for a blocked user and for the units of a blocked
    user."""
    token = presented_token(request, auth_token)
    if not token:
        return ANONYMOUS
    try:
        claims = decode_token(token, context.settings.resolved_secret_key)
    except TokenError as error:
        raise NotAuthenticatedError(str(error)) from None
    match claims.type:
        case AgentType.USER:
            user = session.get(User, claims.uuid)
            if user is None:
                raise NotAuthenticatedError("Agent not found")
            if user.status == UserStatus.BLOCKED:
                raise NoAccessError("User is blocked")
            return Agent(AgentType.USER, user.uuid, user)
        case AgentType.UNIT:
            found = session.execute(
                select(Unit.uuid, User.status)
                .outerjoin(User, User.uuid == Unit.creator_uuid)
                .where(Unit.uuid == claims.uuid)
            ).first()
            if found is None:
                raise NotAuthenticatedError("Agent not found")
            if found.status == UserStatus.BLOCKED:
                raise NoAccessError("The unit's creator is blocked")
            return Agent(AgentType.UNIT, claims.uuid)
        case AgentType.BACKEND:
            if claims.domain != context.settings.domain:
                raise NotAuthenticatedError("Token of another instance")
            return Agent(AgentType.BACKEND, claims.uuid)
        case _:
            raise NotAuthenticatedError("Invalid agent type")


CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


def agent_of_types(*allowed: AgentType) -> Callable[[Agent], Agent]:
    """A dependency that lets only the `allowed` kinds of agent through (403 for others)."""

    def require(agent: CurrentAgent) -> Agent:
        if agent.type not in allowed:
            raise NoAccessError(f"{agent.type} agents have no access to this")
        return agent

    return require


AnonymousAgent = Annotated[Agent, Depends(agent_of_types(AgentType.BOT))]


def get_current_user(agent: Annotated[Agent, Depends(agent_of_types(AgentType.USER))]) -> User:
    if agent.user is None:  # an Agent of type User always carries its row
        raise NotAuthenticatedError("Agent not found")
    return agent.user


CurrentUser = Annotated[User, Depends(get_current_user)]
"""The row of the calling user; other agents get 403."""


def get_current_admin(user: CurrentUser) -> User:
    if user.role != UserRole.ADMIN:
        raise NoAccessError("Only an Admin may do this")
    return user


CurrentAdmin = Annotated[User, Depends(get_current_admin)]
