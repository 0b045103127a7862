"""The active pipelines of the SQL database, grouped by unit: what dashboards are made from.

Ordering is decided here, in Python, by unit name and topic (then uuid), never by the database:
PostgreSQL and SQLite collate differently, and generated files must not depend on either.
"""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from pepeunit_core.db.models import Unit, UnitNode
from pepeunit_core.pipeline_store import StoredConfigError, config_from_stored
from pipelines.config import PipelineConfig


@dataclass(frozen=True, slots=True)
class NodePipeline:
    node_uuid: UUID
    topic_name: str
    config: PipelineConfig


@dataclass(frozen=True, slots=True)
class UnitPipelines:
    unit_uuid: UUID
    unit_name: str
    nodes: tuple[NodePipeline, ...]
    """By topic name, then uuid."""


@dataclass(frozen=True, slots=True)
class SkippedNode:
    """An active pipeline whose stored config cannot be read: it gets no panel."""

    node_uuid: UUID
    unit_name: str
    topic_name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.unit_name}@{self.topic_name} ({self.node_uuid}): {self.reason}"


@dataclass(frozen=True, slots=True)
class Inventory:
    units: tuple[UnitPipelines, ...]
    """Units with at least one readable active pipeline, by name, then uuid."""
    skipped: tuple[SkippedNode, ...] = ()


def read_inventory(session: Session) -> Inventory:
    """Every unit node with an active pipeline, with its parsed config."""
    rows = session.execute(
        select(Unit.uuid, Unit.name, UnitNode.uuid, UnitNode.topic_name, UnitNode.data_pipe_yml)
        .join(UnitNode, UnitNode.unit_uuid == Unit.uuid)
        .where(UnitNode.is_data_pipe_active.is_(True), UnitNode.data_pipe_yml.is_not(None))
    ).all()
    names: dict[UUID, str] = {}
    nodes: dict[UUID, list[NodePipeline]] = {}
    skipped: list[SkippedNode] = []
    for unit_uuid, unit_name, node_uuid, topic_name, stored in rows:
        try:
            config = config_from_stored(stored)
        except StoredConfigError as error:
            skipped.append(SkippedNode(node_uuid, unit_name, topic_name, str(error)))
            continue
        names[unit_uuid] = unit_name
        nodes.setdefault(unit_uuid, []).append(NodePipeline(node_uuid, topic_name, config))
    units = [
        UnitPipelines(
            unit_uuid,
            names[unit_uuid],
            tuple(sorted(unit_nodes, key=lambda node: (node.topic_name, node.node_uuid))),
        )
        for unit_uuid, unit_nodes in nodes.items()
    ]
    units.sort(key=lambda unit: (unit.unit_name, unit.unit_uuid))
    skipped.sort(key=lambda node: (node.unit_name, node.topic_name, node.node_uuid))
    return Inventory(tuple(units), tuple(skipped))
