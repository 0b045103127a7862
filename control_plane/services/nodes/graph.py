"""The graph an agent sees: the units it may see, their visible Input and Output nodes, and the
edges between those nodes (edges to or from a node it may not see are left out), in three
queries of plain columns, so a graph of thousands of units reads in one go.

The edges are read whole and kept when both their nodes are shown: a few milliseconds per
thousand edges, where SQLite takes seconds to filter them by two visibility subqueries."""

import hashlib
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from control_plane.security import Agent, AgentType
from control_plane.services.nodes.access import visible_nodes
from control_plane.services.units.access import visible_units
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import (
    DATAFLOW_CONFIG_VERSION_ROW_ID,
    DataflowConfigVersion,
    Permission,
    Unit,
    UnitNode,
    UnitNodeEdge,
)

MAX_GRAPH_UNITS = 5000


@dataclass(frozen=True)
class GraphUnit:
    uuid: UUID
    name: str


@dataclass(frozen=True)
class GraphNode:
    uuid: UUID
    unit_uuid: UUID
    type: UnitNodeType
    topic: str


@dataclass(frozen=True)
class GraphEdge:
    output_uuid: UUID
    input_uuid: UUID
    deletable: bool
    """The caller created the edge or its input node (`edges.delete_edge` allows them)."""


@dataclass(frozen=True)
class Graph:
    units: list[GraphUnit]
    """By name."""
    nodes: list[GraphNode]
    """By unit, then type and topic."""
    edges: list[GraphEdge]
    truncated: bool
    """More than `MAX_GRAPH_UNITS` units are visible: only the first by name are here."""

    @property
    def version(self) -> str:
        """Changes whenever what the graph shows changes."""
        digest = hashlib.sha256()
        for unit in self.units:
            digest.update(f"u{unit.uuid}{unit.name}\n".encode())
        for node in self.nodes:
            digest.update(f"n{node.uuid}{node.type.value}{node.topic}\n".encode())
        for edge in self.edges:
            digest.update(f"e{edge.output_uuid}{edge.input_uuid}{edge.deletable}\n".encode())
        return digest.hexdigest()[:16]


def visible_graph(session: Session, agent: Agent, limit: int = MAX_GRAPH_UNITS) -> Graph:
    unit_rows = session.execute(
        select(Unit.uuid, Unit.name)
        .where(visible_units(agent, ()))
        .order_by(Unit.name, Unit.uuid)
        .limit(limit + 1)
    ).all()
    truncated = len(unit_rows) > limit
    units = [GraphUnit(uuid, name) for uuid, name in unit_rows[:limit]]
    shown_units = {unit.uuid for unit in units}
    node_rows = session.execute(
        select(UnitNode.uuid, UnitNode.unit_uuid, UnitNode.type, UnitNode.topic_name)
        .where(
            UnitNode.type.in_([UnitNodeType.OUTPUT, UnitNodeType.INPUT]),
            UnitNode.unit_uuid.in_(select(Unit.uuid).where(visible_units(agent, ()))),
            visible_nodes(agent, ()),
        )
        .order_by(UnitNode.unit_uuid, UnitNode.type, UnitNode.topic_name, UnitNode.uuid)
    ).all()
    nodes = [GraphNode(*row) for row in node_rows if row.unit_uuid in shown_units]
    shown_nodes = {node.uuid for node in nodes}
    input_node = UnitNode.__table__.alias("input_node")
    edge_rows = session.execute(
        select(
            UnitNodeEdge.node_output_uuid,
            UnitNodeEdge.node_input_uuid,
            UnitNodeEdge.creator_uuid,
            input_node.c.creator_uuid,
        )
        .join(input_node, input_node.c.uuid == UnitNodeEdge.node_input_uuid)
        .order_by(UnitNodeEdge.node_output_uuid, UnitNodeEdge.node_input_uuid)
    ).all()
    caller = agent.uuid if agent.type is AgentType.USER else None
    edges = [
        GraphEdge(output, input_, caller is not None and caller in (creator, input_creator))
        for output, input_, creator, input_creator in edge_rows
        if output in shown_nodes and input_ in shown_nodes
    ]
    return Graph(units, nodes, edges, truncated)


def graph_marker(session: Session) -> tuple[object, ...]:
    """Moves whenever anyone's graph may have changed, in one query of counts and maxima (a
    few milliseconds where `visible_graph` takes tens): units and nodes added, deleted, renamed
    or made more or less visible (`last_update_datetime`; state reports do not move it), edges
    added or deleted (each bumps the dataflow's config version), access granted or revoked.
    A live page re-reads its graph only when this moved."""
    marker: Row[tuple[object, ...]] = session.execute(
        select(
            select(func.count()).select_from(Unit).scalar_subquery(),
            select(func.max(Unit.last_update_datetime)).scalar_subquery(),
            select(func.count()).select_from(UnitNode).scalar_subquery(),
            select(func.max(UnitNode.last_update_datetime)).scalar_subquery(),
            select(func.count()).select_from(UnitNodeEdge).scalar_subquery(),
            select(func.count()).select_from(Permission).scalar_subquery(),
            select(DataflowConfigVersion.version)
            .where(DataflowConfigVersion.id == DATAFLOW_CONFIG_VERSION_ROW_ID)
            .scalar_subquery(),
        )
    ).one()
    return tuple(marker)
