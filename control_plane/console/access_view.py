"""The Access section of the pages of a resource the user created (a repo, a unit): who has
access to it, and granting and revoking it, through `services.users.permissions` as the
`/permission` routes do (so refused to anyone but the creator, as the API refuses)."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.models.permission import AgentKind, PermissionCreate, ResourceKind
from control_plane.models.user import UserFilter
from control_plane.services.errors import PermissionValidationError
from control_plane.services.paging import Page
from control_plane.services.users import permissions, users
from pepeunit_core.db.models import User

ACCESS_SHOWN = 200


@dataclass(frozen=True)
class Access:
    agent_uuid: UUID
    agent_type: AgentKind
    name: str | None
    """The user's login (units are shown by uuid)."""
    fixed: str | None
    """Why the access cannot be revoked (`creator`, `itself`), None when it can."""


def access_list(
    session: Session, user: User, kind: ResourceKind, uuid: UUID, creator_uuid: UUID
) -> list[Access]:
    """Who has access to the resource `user` created (the service refuses anyone else)."""
    listed = permissions.list_resource_agents(
        session, user, uuid, kind, None, Page(0, ACCESS_SHOWN)
    ).permissions
    user_uuids = [row.agent_uuid for row in listed if row.agent_type == AgentKind.USER]
    logins = _logins(session, user_uuids)
    found = [
        Access(
            row.agent_uuid,
            row.agent_type,
            logins.get(row.agent_uuid),
            _fixed(row.agent_uuid, row.agent_type, uuid, creator_uuid),
        )
        for row in listed
    ]
    # The creator first, then the resource itself, then in a stable order, so that a grant
    # does not reshuffle the list.
    rank = {"creator": 0, "itself": 1, None: 2}
    return sorted(found, key=lambda a: (rank[a.fixed], a.name or "", str(a.agent_uuid)))


def _fixed(agent_uuid: UUID, agent_type: AgentKind, uuid: UUID, creator_uuid: UUID) -> str | None:
    if agent_type == AgentKind.USER and agent_uuid == creator_uuid:
        return "creator"
    if agent_uuid == uuid:
        return "itself"
    return None


def grant_access(
    session: Session,
    user: User,
    kind: ResourceKind,
    uuid: UUID,
    agent_type: AgentKind,
    agent: str,
) -> None:
    """`agent`: a user's login or uuid, or a unit's uuid, as typed."""
    permissions.create_permission(
        session,
        user,
        PermissionCreate(
            agent_uuid=_agent_uuid(session, agent_type, agent.strip()),
            agent_type=agent_type,
            resource_uuid=uuid,
            resource_type=kind,
        ),
    )


def _agent_uuid(session: Session, agent_type: AgentKind, wanted: str) -> UUID:
    try:
        return UUID(wanted)
    except ValueError:
        found = users.find_by_login(session, wanted) if agent_type == AgentKind.USER else None
        if found is None:
            raise PermissionValidationError(
                f"No user with the login “{wanted}”"
                if agent_type == AgentKind.USER
                else "A unit is given by its uuid"
            ) from None
        return found.uuid


def _logins(session: Session, uuids: Sequence[UUID]) -> dict[UUID, str]:
    if not uuids:
        return {}
    _, found = users.list_users(session, UserFilter(uuids=list(uuids)), Page(0, len(uuids)))
    return {user.uuid: user.login for user in found}
