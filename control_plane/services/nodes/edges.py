"""Edges from Output to Input nodes: the dataflow republishes every message of an Output node to
the Inputs linked to it (docs/compatibility.md#routing-by-the-dataflow), so each change bumps the
dataflow config version instead of sending `SchemaUpdate` to devices."""

from uuid import UUID

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.models.unit_node import UnitNodeEdgeCreate, UnitNodeEdgeRead
from control_plane.security import Agent, AgentType
from control_plane.services.errors import NoAccessError, NotFoundError, UnitNodeError
from control_plane.services.nodes.access import can_see, found_node
from control_plane.services.users.permissions import ensure_permission, remove_permission
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity, UnitNodeType
from pepeunit_core.db.models import UnitNode, UnitNodeEdge, User


def _edge_count(session: Session, condition: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(UnitNodeEdge).where(condition)) or 0


def create_edge(session: Session, user: User, data: UnitNodeEdgeCreate) -> UnitNodeEdgeRead:
    agent = Agent(AgentType.USER, user.uuid, user)
    output = found_node(session, data.node_output_uuid)
    input_ = found_node(session, data.node_input_uuid)
    if output.type != UnitNodeType.OUTPUT:
        raise UnitNodeError("node_output_uuid must be an Output node")
    if input_.type != UnitNodeType.INPUT:
        raise UnitNodeError("node_input_uuid must be an Input node")
    if not (can_see(session, agent, output) and can_see(session, agent, input_)):
        raise NoAccessError("Both unit nodes must be visible to the caller")
    duplicate = exists().where(
        UnitNodeEdge.node_output_uuid == output.uuid, UnitNodeEdge.node_input_uuid == input_.uuid
    )
    if session.scalar(select(duplicate)):
        raise UnitNodeError("This edge already exists")
    if _edge_count(session, UnitNodeEdge.node_input_uuid == input_.uuid) >= input_.max_connections:
        raise UnitNodeError(f"The input node has reached its {input_.max_connections} connections")
    if _edge_count(session, UnitNodeEdge.node_output_uuid == output.uuid) >= output.max_connections:
        raise UnitNodeError(f"The output node has reached its {output.max_connections} connections")
    edge = UnitNodeEdge(
        node_output_uuid=output.uuid, node_input_uuid=input_.uuid, creator_uuid=user.uuid
    )
    session.add(edge)
    try:
        session.flush()
        unit_agent = PermissionEntity.UNIT
        ensure_permission(
            session, unit_agent, output.unit_uuid, PermissionEntity.UNIT_NODE, input_.uuid
        )
        ensure_permission(
            session, unit_agent, input_.unit_uuid, PermissionEntity.UNIT_NODE, output.uuid
        )
        ensure_permission(
            session, unit_agent, output.unit_uuid, PermissionEntity.UNIT, input_.unit_uuid
        )
        bump_dataflow_config_version(session)
        session.commit()
    except IntegrityError:  # a concurrent create of the same edge, or a node just deleted
        session.rollback()
        raise UnitNodeError("The edge could not be created") from None
    return UnitNodeEdgeRead.model_validate(edge)


def delete_edge(session: Session, user: User, input_uuid: UUID, output_uuid: UUID) -> None:
    """Allowed to the edge's creator and the input node's creator. Drops the output unit's
    access to the input node unless another edge (or ownership) still needs it."""
    edge = session.scalar(
        select(UnitNodeEdge).where(
            UnitNodeEdge.node_input_uuid == input_uuid,
            UnitNodeEdge.node_output_uuid == output_uuid,
        )
    )
    if edge is None:
        raise NotFoundError(f"Edge from unit node {output_uuid} to {input_uuid}: not found")
    input_ = found_node(session, input_uuid)
    output = found_node(session, output_uuid)
    if user.uuid not in (edge.creator_uuid, input_.creator_uuid):
        raise NoAccessError("Only the edge's creator or the input node's creator may delete it")
    session.delete(edge)
    session.flush()
    other_outputs_of_unit = select(UnitNode.uuid).where(UnitNode.unit_uuid == output.unit_uuid)
    still_linked = session.scalar(
        select(
            exists().where(
                UnitNodeEdge.node_input_uuid == input_uuid,
                UnitNodeEdge.node_output_uuid.in_(other_outputs_of_unit),
            )
        )
    )
    if output.unit_uuid != input_.unit_uuid and not still_linked:
        remove_permission(
            session, PermissionEntity.UNIT, output.unit_uuid, PermissionEntity.UNIT_NODE, input_uuid
        )
    bump_dataflow_config_version(session)
    session.commit()
