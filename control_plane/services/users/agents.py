"""Who a token names: the agent a request (REST, GraphQL, console) acts as."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.security import ANONYMOUS, Agent, AgentType, TokenError, decode_token
from control_plane.services.errors import NoAccessError, NotAuthenticatedError
from pepeunit_core.db.enums import UserRole, UserStatus
from pepeunit_core.db.models import Unit, User
from pepeunit_core.settings import Settings


def agent_of_token(session: Session, settings: Settings, token: str | None) -> Agent:
    """Anonymous without a token; `NotAuthenticatedError` for a token that names nobody valid,
    `NoAccessError` for a blocked user and for the units of a blocked user."""
    if not token:
        return ANONYMOUS
    try:
        claims = decode_token(token, settings.resolved_secret_key)
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
            if claims.domain != settings.domain:
                raise NotAuthenticatedError("Token of another instance")
            return Agent(AgentType.BACKEND, claims.uuid)
        case _:
            raise NotAuthenticatedError("Invalid agent type")


def require_agent_types(agent: Agent, *allowed: AgentType) -> Agent:
    """`agent` if it is one of the `allowed` kinds; `NoAccessError` for the others."""
    if agent.type not in allowed:
        raise NoAccessError(f"{agent.type} agents have no access to this")
    return agent


def require_user(agent: Agent) -> User:
    """The calling user's row; `NoAccessError` for any other kind of agent."""
    require_agent_types(agent, AgentType.USER)
    if agent.user is None:  # an Agent of type User always carries its row
        raise NotAuthenticatedError("Agent not found")
    return agent.user


def require_admin(agent: Agent) -> User:
    """The calling Admin's row; `NoAccessError` for anyone else."""
    user = require_user(agent)
    if user.role != UserRole.ADMIN:
        raise NoAccessError("Only an Admin may do this")
    return user
