"""Unit nodes (docs/compatibility.md#user-routes): reading with the visibility rules of
docs/compatibility.md#access-model, the creator's settings and the value of Input nodes."""

from uuid import UUID

from sqlalchemy import Select, asc, desc, select
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
from control_plane.services.errors import MqttError, NoAccessError, UnitNodeError
from control_plane.services.nodes.access import own_node, visible_node, visible_nodes
from control_plane.services.paging import Page, paginate
from control_plane.services.visibility import VISIBILITY_RANK
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import Unit, UnitNode, UnitNodeEdge
from pepeunit_core.db.types import utc_now
from pepeunit_core.pipeline_store import refresh_data_pipe_status
from pepeunit_core.settings import Settings
from pepeunit_core.topics import node_topic

DATA_PIPE_SUFFIX = "/pepeunit"


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
    statement = _filtered(filters).where(visible_nodes(agent, filters.visibility_level))
    count, rows = paginate(session, statement, page)
    return UnitNodesResult(
        count=count, unit_nodes=[UnitNodeRead.model_validate(row) for row in rows]
    )


def update_node(session: Session, agent: Agent, uuid: UUID, data: UnitNodeUpdate) -> UnitNodeRead:
    node = own_node(session, agent, uuid)
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
    node = visible_node(session, agent, uuid)
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
