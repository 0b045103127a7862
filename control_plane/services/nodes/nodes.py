"""Unit nodes (docs/compatibility.md#user-routes): reading with the visibility rules of
docs/compatibility.md#access-model, the creator's settings and the value of Input nodes."""

from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, asc, desc, false, or_, select
from sqlalchemy.orm import Session

from control_plane.models.common import OrderByDate
from control_plane.models.unit_node import (
    UnitNodeFilter,
    UnitNodeRead,
    UnitNodesResult,
    UnitNodeUpdate,
)
from control_plane.security import Agent, AgentType
from control_plane.services.broker.publisher import BrokerPublisher, PublishError
from control_plane.services.errors import MqttError, NoAccessError, NotFoundError, UnitNodeError
from control_plane.services.paging import Page, paginate
from control_plane.services.users.permissions import has_permission, permitted_resources
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Unit, UnitNode, UnitNodeEdge
from pepeunit_core.db.types import utc_now
from pepeunit_core.pipeline_store import refresh_data_pipe_status
from pepeunit_core.settings import Settings
from pepeunit_core.topics import node_topic

VISIBILITY_RANK = {
    VisibilityLevel.PUBLIC: 0,
    VisibilityLevel.INTERNAL: 1,
    VisibilityLevel.PRIVATE: 2,
}
DATA_PIPE_SUFFIX = "/pepeunit"


def _permission_agent(agent: Agent) -> PermissionEntity | None:
    match agent.type:
        case AgentType.USER:
            return PermissionEntity.USER
        case AgentType.UNIT:
            return PermissionEntity.UNIT
    return None


def can_see(session: Session, agent: Agent, node: UnitNode) -> bool:
    if agent.type == AgentType.BACKEND or node.visibility_level == VisibilityLevel.PUBLIC:
        return True
    kind = _permission_agent(agent)
    if kind is None or agent.uuid is None:
        return False
    if node.visibility_level == VisibilityLevel.INTERNAL:
        return True
    if kind == PermissionEntity.USER and node.creator_uuid == agent.uuid:
        return True
    if kind == PermissionEntity.UNIT and node.unit_uuid == agent.uuid:
        return True
    return has_permission(session, kind, agent.uuid, PermissionEntity.UNIT_NODE, node.uuid)


def get_node(session: Session, uuid: UUID) -> UnitNode:
    node = session.get(UnitNode, uuid)
    if node is None:
        raise NotFoundError.of("Unit node", uuid)
    return node


def get_visible_node(session: Session, agent: Agent, uuid: UUID) -> UnitNode:
    node = get_node(session, uuid)
    if not can_see(session, agent, node):
        raise NoAccessError("The unit node is not visible to this agent")
    return node


def _visible_to(agent: Agent, asked: list[VisibilityLevel]) -> ColumnElement[bool]:
    """List semantics of docs/compatibility.md#access-model; a creator (or the node's own unit)
    always sees its Private nodes."""
    levels = set(asked or VisibilityLevel)
    if agent.type == AgentType.BACKEND:
        return UnitNode.visibility_level.in_(levels)
    kind = _permission_agent(agent)
    if kind is None or agent.uuid is None:
        return UnitNode.visibility_level.in_(levels & {VisibilityLevel.PUBLIC})
    open_levels = levels - {VisibilityLevel.PRIVATE}
    if VisibilityLevel.PRIVATE not in levels:
        private: ColumnElement[bool] = false()
    else:
        own = (
            UnitNode.creator_uuid == agent.uuid
            if kind == PermissionEntity.USER
            else UnitNode.unit_uuid == agent.uuid
        )
        permitted = permitted_resources(kind, agent.uuid, PermissionEntity.UNIT_NODE)
        private = and_(
            UnitNode.visibility_level == VisibilityLevel.PRIVATE,
            or_(own, UnitNode.uuid.in_(permitted)),
        )
    return or_(UnitNode.visibility_level.in_(open_levels), private)


def _filtered(filters: UnitNodeFilter) -> Select[tuple[UnitNode]]:
    statement = select(UnitNode)
    uuids = [*filters.uuids, *filters.unit_node_uuids]
    if uuids:
        statement = statement.where(UnitNode.uuid.in_(uuids))
    if filters.unit_uuid is not None:
        statement = statement.where(UnitNode.unit_uuid == filters.unit_uuid)
    if filters.type:
        statement = statement.where(UnitNode.type.in_(filters.type))
    if filters.output_uuid is not None:
        linked = select(UnitNodeEdge.node_input_uuid).where(
            UnitNodeEdge.node_output_uuid == filters.output_uuid
        )
        statement = statement.where(UnitNode.type == UnitNodeType.INPUT, UnitNode.uuid.in_(linked))
    for word in (filters.search_string or "").split():
        statement = statement.where(UnitNode.topic_name.icontains(word, autoescape=True))
    by_create = asc if filters.order_by_create_date == OrderByDate.ASC else desc
    return statement.order_by(by_create(UnitNode.create_datetime), by_create(UnitNode.uuid))


def list_nodes(
    session: Session, agent: Agent, filters: UnitNodeFilter, page: Page
) -> UnitNodesResult:
    statement = _filtered(filters).where(_visible_to(agent, filters.visibility_level))
    count, rows = paginate(session, statement, page)
    return UnitNodesResult(
        count=count, unit_nodes=[UnitNodeRead.model_validate(row) for row in rows]
    )


def ensure_creator(agent: Agent, node: UnitNode) -> None:
    if agent.type != AgentType.USER or agent.uuid != node.creator_uuid:
        raise NoAccessError("Only the creator of this unit node may do this")


def update_node(session: Session, agent: Agent, uuid: UUID, data: UnitNodeUpdate) -> UnitNodeRead:
    node = get_node(session, uuid)
    ensure_creator(agent, node)
    changes = data.model_dump(exclude_none=True)
    if "visibility_level" in changes:
        unit = session.get(Unit, node.unit_uuid)
        assert unit is not None  # the foreign key
        if VISIBILITY_RANK[changes["visibility_level"]] < VISIBILITY_RANK[unit.visibility_level]:
            raise UnitNodeError(
                f"A unit node's visibility must be at least its unit's ({unit.visibility_level})"
            )
    if "is_rewritable_input" in changes and node.type != UnitNodeType.INPUT:
        raise UnitNodeError("Only Input nodes can be rewritable")
    pipe_changed = False
    if "is_data_pipe_active" in changes:
        if changes["is_data_pipe_active"] and not node.topic_name.endswith(DATA_PIPE_SUFFIX):
            raise UnitNodeError(f"Only topics ending in {DATA_PIPE_SUFFIX} can have a DataPipe")
        pipe_changed = changes["is_data_pipe_active"] != node.is_data_pipe_active
    for field, value in changes.items():
        setattr(node, field, value)
    node.last_update_datetime = utc_now()
    if pipe_changed:
        refresh_data_pipe_status(node)
        bump_dataflow_config_version(session)
    session.commit()
    return UnitNodeRead.model_validate(node)


def set_state_input(
    session: Session,
    settings: Settings,
    publisher: BrokerPublisher,
    agent: Agent,
    uuid: UUID,
    state: str,
) -> UnitNodeRead:
    """Users who see the node may set it; Units only when the node `is_rewritable_input`.
    The value is published raw to the node's topic (the unit reads it there) and stored only
    once the broker has taken it."""
    if agent.type not in (AgentType.USER, AgentType.UNIT):
        raise NoAccessError(f"{agent.type} agents have no access to this")
    node = get_visible_node(session, agent, uuid)
    if node.type != UnitNodeType.INPUT:
        raise UnitNodeError("Only the state of Input nodes can be set")
    if agent.type == AgentType.UNIT and not node.is_rewritable_input:
        raise NoAccessError("This input is not rewritable by units")
    try:
        publisher.publish(node_topic(settings.domain, node.uuid, node.topic_name), state.encode())
    except PublishError as error:
        raise MqttError(str(error)) from error
    node.state = state
    node.last_update_datetime = utc_now()
    session.commit()
    return UnitNodeRead.model_validate(node)
