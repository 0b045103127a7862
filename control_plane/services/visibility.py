"""Visibility of repos, units and nodes (docs/compatibility.md#access-model): Public rows are seen
by everyone, Internal rows by the resource's insiders (users, or users and units), Private rows by
insiders holding a Permission row for them; the Backend agent sees all. One row is checked with
`is_visible`, a list is filtered with `visible_clause`."""

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from control_plane.security import Agent, AgentType
from control_plane.services.users.permissions import has_permission, permitted_resources
from pepeunit_core.db.enums import PermissionEntity, VisibilityLevel

VISIBILITY_RANK = {
    VisibilityLevel.PUBLIC: 0,
    VisibilityLevel.INTERNAL: 1,
    VisibilityLevel.PRIVATE: 2,
}
USERS = frozenset({AgentType.USER})
USERS_AND_UNITS = frozenset({AgentType.USER, AgentType.UNIT})


def _is_insider(agent: Agent, insiders: Collection[AgentType]) -> bool:
    return agent.type in insiders and agent.uuid is not None


def _permitted(agent: Agent, resource: PermissionEntity) -> Select[tuple[UUID | None]]:
    """The uuids of the `resource`s `agent` (a user or a unit) holds a permission on."""
    assert agent.uuid is not None  # an insider
    return permitted_resources(_agent_kind(agent), agent.uuid, resource)


def is_visible(
    session: Session,
    agent: Agent,
    level: VisibilityLevel,
    uuid: UUID,
    resource: PermissionEntity,
    insiders: Collection[AgentType],
    *,
    own: bool = False,
) -> bool:
    """Whether `agent` may see the row `uuid` of `resource` at `level`; `own` for a Private row
    an insider sees without a permission (its creator's, a unit's own)."""
    if agent.type == AgentType.BACKEND or level == VisibilityLevel.PUBLIC:
        return True
    if not _is_insider(agent, insiders):
        return False
    if level == VisibilityLevel.INTERNAL or own:
        return True
    assert agent.uuid is not None  # an insider
    return has_permission(session, _agent_kind(agent), agent.uuid, resource, uuid)


def visible_clause(
    level: InstrumentedAttribute[VisibilityLevel],
    uuid: InstrumentedAttribute[UUID],
    agent: Agent,
    asked: Collection[VisibilityLevel],
    resource: PermissionEntity,
    insiders: Collection[AgentType],
    *,
    own: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """The rows of the levels `asked` (all when empty) that `agent` may see; `own` adds the
    Private rows an insider sees without a permission (its creator's, a unit's own)."""
    levels = set(asked or VisibilityLevel)
    if agent.type == AgentType.BACKEND:
        return level.in_(levels)
    if not _is_insider(agent, insiders):
        return level.in_(levels & {VisibilityLevel.PUBLIC})
    if VisibilityLevel.PRIVATE not in levels:
        private: ColumnElement[bool] = false()
    else:
        granted = uuid.in_(_permitted(agent, resource))
        private = and_(
            level == VisibilityLevel.PRIVATE, granted if own is None else or_(own, granted)
        )
    return or_(level.in_(levels - {VisibilityLevel.PRIVATE}), private)


def _agent_kind(agent: Agent) -> PermissionEntity:
    return PermissionEntity.USER if agent.type == AgentType.USER else PermissionEntity.UNIT
