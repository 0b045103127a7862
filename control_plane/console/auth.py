"""Who is signed in: the console's dependencies, built on the API's own token check.

A page route takes `ConsoleUser` (the signed-in user's row) or `ConsoleAgent` (the same as an
`Agent`, for the services that take one); without a valid session they raise `SignInRequired`,
which `routing.ConsoleRoute` turns into a redirect to the sign-in page (or a 401 for htmx and
SSE requests). A live stream takes `StreamAgent`: checked the same way, with a session that is
closed before the stream starts.
"""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from control_plane.api.deps import ContextDep, SessionDep, get_current_agent, get_session
from control_plane.console.session import SESSION_COOKIE
from control_plane.security import Agent, AgentType
from control_plane.services.errors import NoAccessError, NotAuthenticatedError
from pepeunit_core.db.models import User


class SignInRequiredError(Exception):
    """No valid session; `reason` is shown on the sign-in page (empty when there was none)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def signed_in_agent(request: Request, context: ContextDep, session: Session) -> Agent:
    """The user of the session cookie, checked as the API checks `x-auth-token`."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequiredError()
    try:
        agent = get_current_agent(request, context, session, token, None)
    except (NotAuthenticatedError, NoAccessError) as error:
        raise SignInRequiredError(f"Please sign in again: {error.message}") from None
    if agent.type != AgentType.USER or agent.user is None:
        raise SignInRequiredError("Please sign in as a user")
    request.state.user = agent.user
    return agent


def _page_agent(request: Request, context: ContextDep, session: SessionDep) -> Agent:
    return signed_in_agent(request, context, session)


def _page_user(agent: Annotated[Agent, Depends(_page_agent)]) -> User:
    assert agent.user is not None  # signed_in_agent returns users only
    return agent.user


ConsoleAgent = Annotated[Agent, Depends(_page_agent)]
"""The signed-in user as an `Agent`, loaded in the request's `SessionDep`."""

ConsoleUser = Annotated[User, Depends(_page_user)]
"""The signed-in user's row, loaded in the request's `SessionDep`."""


def _stream_agent(
    request: Request,
    context: ContextDep,
    session: Annotated[Session, Depends(get_session, scope="function")],
) -> Agent:
    return signed_in_agent(request, context, session)


StreamAgent = Annotated[Agent, Depends(_stream_agent, scope="function")]
"""For SSE routes: the signed-in user, without holding a database session while streaming."""
