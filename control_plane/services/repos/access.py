"""Who may do what with a repo (docs/compatibility.md#access-model): Public to everyone, Internal
to users, Private to its creator and the users holding a Permission row for it (its creator gets
one on create); the Backend agent sees all. Only its creator changes it.

Lists follow 1.x: anonymous callers get Public only; a user without any repo permission gets Public
and Internal (of the levels asked for); otherwise Private rows are limited to the permitted ones.
"""

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from control_plane.security import Agent, AgentType
from control_plane.services.errors import NoAccessError, NotFoundError
from control_plane.services.visibility import USERS, is_visible, visible_clause
from pepeunit_core.db.enums import PermissionEntity, VisibilityLevel
from pepeunit_core.db.models import Repo, User

REPO_READERS = (AgentType.BOT, AgentType.USER, AgentType.BACKEND)
"""Who may read repos: units have no access (docs/compatibility.md#access-model); the Backend
agent sees every repo."""


def found_repo(session: Session, uuid: UUID) -> Repo:
    repo = session.get(Repo, uuid)
    if repo is None:
        raise NotFoundError.of("Repo", uuid)
    return repo


def visible_repo(session: Session, agent: Agent, uuid: UUID) -> Repo:
    """The repo, for an agent who sees it (NotFoundError if missing, NoAccessError if not)."""
    repo = found_repo(session, uuid)
    is_creator = agent.type == AgentType.USER and repo.creator_uuid == agent.uuid
    if not is_visible(
        session,
        agent,
        repo.visibility_level,
        repo.uuid,
        PermissionEntity.REPO,
        USERS,
        own=is_creator,
    ):
        raise NoAccessError("No access to this repo")
    return repo


def own_repo(session: Session, user: User, uuid: UUID) -> Repo:
    """The repo, for its creator (NotFoundError if missing, NoAccessError for anyone else)."""
    repo = found_repo(session, uuid)
    if repo.creator_uuid != user.uuid:
        raise NoAccessError("Only the creator can change a repo")
    return repo


def visible_repos(agent: Agent, asked: Collection[VisibilityLevel]) -> ColumnElement[bool]:
    """The repos of the levels `asked` (all when empty) that `agent` sees, for a list."""
    return visible_clause(
        Repo.visibility_level, Repo.uuid, agent, asked, PermissionEntity.REPO, USERS
    )
