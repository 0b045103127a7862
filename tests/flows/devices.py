"""Units with input and output nodes in the SQL database, for the dataflow's device tests."""

from dataclasses import dataclass
from uuid import UUID

from pepeunit_core.db import models
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.topics import node_topic
from tests.flows.support import DOMAIN, seed_owner


@dataclass(frozen=True)
class SeededNode:
    uuid: UUID
    template: str

    @property
    def topic(self) -> str:
        return node_topic(DOMAIN, self.uuid, self.template)


@dataclass(frozen=True)
class SeededUnit:
    uuid: UUID
    inputs: dict[str, SeededNode]
    outputs: dict[str, SeededNode]


def seed_units(url: str, units: dict[str, tuple[list[str], list[str]]]) -> dict[str, SeededUnit]:
    """Creates units by name, each with (input templates, output templates)."""
    migrate_sql(url)
    sessions = make_session_factory(make_engine(url))
    seeded: dict[str, SeededUnit] = {}
    with sessions() as session:
        user, repo = seed_owner(session, "devices")
        for name, (inputs, outputs) in units.items():
            unit = models.Unit(name=name, repo_uuid=repo.uuid, creator_uuid=user.uuid)
            session.add(unit)
            session.flush()
            nodes: dict[models.UnitNodeType, dict[str, SeededNode]] = {}
            for kind, templates in (
                (models.UnitNodeType.INPUT, inputs),
                (models.UnitNodeType.OUTPUT, outputs),
            ):
                for template in templates:
                    node = models.UnitNode(
                        type=kind, topic_name=template, unit_uuid=unit.uuid,
                        creator_uuid=user.uuid,
                    )  # fmt: skip
                    session.add(node)
                    session.flush()
                    nodes.setdefault(kind, {})[template] = SeededNode(node.uuid, template)
            seeded[name] = SeededUnit(
                unit.uuid,
                nodes.get(models.UnitNodeType.INPUT, {}),
                nodes.get(models.UnitNodeType.OUTPUT, {}),
            )
        session.commit()
    return seeded


def link(url: str, output: SeededNode, target: SeededNode) -> None:
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        session.add(models.UnitNodeEdge(node_output_uuid=output.uuid, node_input_uuid=target.uuid))
        bump_dataflow_config_version(session)
        session.commit()


def unlink(url: str, output: SeededNode, target: SeededNode) -> None:
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        edge = (
            session.query(models.UnitNodeEdge)
            .filter_by(node_output_uuid=output.uuid, node_input_uuid=target.uuid)
            .one()
        )
        session.delete(edge)
        bump_dataflow_config_version(session)
        session.commit()
