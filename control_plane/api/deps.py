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
from sqlalchemy.orm import Session

from control_plane.context import ControlPlaneContext
from control_plane.security import (
    Agent,
    AgentType,
)
from control_plane.services.errors import NotAuthenticatedError
from control_plane.services.store import store_client
from control_plane.services.users.agents import (
    agent_of_token,
    require_admin,
    require_agent_types,
    require_user,
)
from pepeunit_core.db.models import User
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
    return agent_of_token(session, context.settings, presented_token(request, auth_token))


CurrentAgent = Annotated[Agent, Depends(get_current_agent)]


def agent_of_types(*allowed: AgentType) -> Callable[[Agent], Agent]:
    """A dependency that lets only the `allowed` kinds of agent through (403 for others)."""

    def require(agent: CurrentAgent) -> Agent:
        return require_agent_types(agent, *allowed)

    return require


AnonymousAgent = Annotated[Agent, Depends(agent_of_types(AgentType.BOT))]


def get_current_user(agent: CurrentAgent) -> User:
    return require_user(agent)


CurrentUser = Annotated[User, Depends(get_current_user)]
"""The row of the calling user; other agents get 403."""


def get_current_admin(agent: CurrentAgent) -> User:
    return require_admin(agent)


CurrentAdmin = Annotated[User, Depends(get_current_admin)]
