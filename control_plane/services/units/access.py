"""Who may do what with a unit (docs/compatibility.md#access-model): everyone who sees it may read
its row; its device files (target, env, schema, firmware, state storage, logs) are for its
creator and the unit itself; only its creator changes it.

Visibility follows repos: Public to everyone, Internal to users and units, Private to agents
(a User or a Unit) holding a Permission row for the unit (its creator and the unit itself get
one on create); the Backend agent sees all.
"""

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from control_plane.security import Agent, AgentType
from control_plane.services.errors import NoAccessError, NotFoundError
from control_plane.services.visibility import USERS_AND_UNITS, is_visible, visible_clause
from pepeunit_core.db.enums import PermissionEntity, VisibilityLevel
from pepeunit_core.db.models import Unit, User


def found_unit(session: Session, uuid: UUID) -> Unit:
    unit = session.get(Unit, uuid)
    if unit is None:
        raise NotFoundError.of("Unit", uuid)
    return unit


def visible_unit(session: Session, agent: Agent, uuid: UUID) -> Unit:
    """The unit, for an agent who sees it (NotFoundError if missing, NoAccessError if not)."""
    unit = found_unit(session, uuid)
    if not is_visible(
        session, agent, unit.visibility_level, unit.uuid, PermissionEntity.UNIT, USERS_AND_UNITS
    ):
        raise NoAccessError("No access to this unit")
    return unit


def device_unit(session: Session, agent: Agent, uuid: UUID) -> Unit:
    """The unit whose device files `agent` may read: only its creator or the unit itself
    (NotFoundError if missing, NoAccessError for anyone else)."""
    unit = found_unit(session, uuid)
    is_creator = agent.type == AgentType.USER and agent.uuid == unit.creator_uuid
    is_self = agent.type == AgentType.UNIT and agent.uuid == unit.uuid
    if not (is_creator or is_self):
        raise NoAccessError("Only the unit or its creator can read this")
    return unit


def own_unit(session: Session, user: User, uuid: UUID) -> Unit:
    """The unit, for its creator (NotFoundError if missing, NoAccessError for anyone else)."""
    unit = found_unit(session, uuid)
    if unit.creator_uuid != user.uuid:
        raise NoAccessError("Only the creator can change a unit")
    return unit


def visible_units(agent: Agent, asked: Collection[VisibilityLevel]) -> ColumnElement[bool]:
    """The units of the levels `asked` (all when empty) that `agent` sees, for a list."""
    return visible_clause(
        Unit.visibility_level, Unit.uuid, agent, asked, PermissionEntity.UNIT, USERS_AND_UNITS
    )
