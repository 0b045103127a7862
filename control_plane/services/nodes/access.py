"""Who may do what with a node (docs/compatibility.md#access-model): Public to everyone, Internal
to users and units, Private to its creator, its own unit and the agents holding a Permission row
for it; the Backend agent sees all. Its creator changes it and its pipeline; the pipeline's config
and data are read by its creator and its own unit (1.x lets any unit read any node's data; we limit
units to their own nodes).
"""

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from control_plane.security import Agent, AgentType
from control_plane.services.errors import NoAccessError, NotFoundError
from control_plane.services.visibility import USERS_AND_UNITS, is_visible, visible_clause
from pepeunit_core.db.enums import PermissionEntity, VisibilityLevel
from pepeunit_core.db.models import UnitNode


def found_node(session: Session, uuid: UUID) -> UnitNode:
    node = session.get(UnitNode, uuid)
    if node is None:
        raise NotFoundError.of("Unit node", uuid)
    return node


def can_see(session: Session, agent: Agent, node: UnitNode) -> bool:
    return is_visible(
        session,
        agent,
        node.visibility_level,
        node.uuid,
        PermissionEntity.UNIT_NODE,
        USERS_AND_UNITS,
        own=_is_own(agent, node),
    )


def visible_node(session: Session, agent: Agent, uuid: UUID) -> UnitNode:
    """The node, for an agent who sees it (NotFoundError if missing, NoAccessError if not)."""
    node = found_node(session, uuid)
    if not can_see(session, agent, node):
        raise NoAccessError("The unit node is not visible to this agent")
    return node


def own_node(session: Session, agent: Agent, uuid: UUID) -> UnitNode:
    """The node, for its creator (NotFoundError if missing, NoAccessError for anyone else)."""
    node = found_node(session, uuid)
    ensure_creator(agent, node)
    return node


def readable_node(session: Session, agent: Agent, uuid: UUID) -> UnitNode:
    """The node whose pipeline config and data `agent` may read: its creator or its own unit."""
    node = found_node(session, uuid)
    if not (agent.type is AgentType.UNIT and agent.uuid == node.unit_uuid):
        ensure_creator(agent, node)
    return node


def ensure_creator(agent: Agent, node: UnitNode) -> None:
    if agent.type is not AgentType.USER or agent.uuid != node.creator_uuid:
        raise NoAccessError("Only the creator of this unit node may do this")


def visible_nodes(agent: Agent, asked: Collection[VisibilityLevel]) -> ColumnElement[bool]:
    """The nodes of the levels `asked` (all when empty) that `agent` sees, for a list."""
    if agent.type == AgentType.USER:
        own: ColumnElement[bool] | None = UnitNode.creator_uuid == agent.uuid
    elif agent.type == AgentType.UNIT:
        own = UnitNode.unit_uuid == agent.uuid
    else:
        own = None
    return visible_clause(
        UnitNode.visibility_level,
        UnitNode.uuid,
        agent,
        asked,
        PermissionEntity.UNIT_NODE,
        USERS_AND_UNITS,
        own=own,
    )


def _is_own(agent: Agent, node: UnitNode) -> bool:
    if agent.type == AgentType.USER:
        return node.creator_uuid == agent.uuid
    return agent.type == AgentType.UNIT and node.unit_uuid == agent.uuid
