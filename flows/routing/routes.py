"""The route table: for each Output node topic with edges, the Input node topics it feeds.

Loaded from the edges in the SQL database with the node topics built as devices use them
(`{D}/{node}` plus `/pepeunit` when the template ends in `/pepeunit`), so the intake can look a
received topic up directly.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from pepeunit_core.db.config_version import read_dataflow_config_version
from pepeunit_core.db.models import UnitNode, UnitNodeEdge
from pepeunit_core.topics import node_topic


@dataclass(frozen=True, slots=True)
class RouteTable:
    version: int
    by_output_topic: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def targets(self, topic: str) -> tuple[str, ...]:
        return self.by_output_topic.get(topic, ())


def load_route_table(session: Session, domain: str) -> RouteTable:
    version = read_dataflow_config_version(session)
    output = aliased(UnitNode)
    target = aliased(UnitNode)
    rows = session.execute(
        select(output.uuid, output.topic_name, target.uuid, target.topic_name)
        .join(UnitNodeEdge, UnitNodeEdge.node_output_uuid == output.uuid)
        .join(target, UnitNodeEdge.node_input_uuid == target.uuid)
        .order_by(output.uuid, target.uuid)
    ).all()
    routes: dict[str, list[str]] = {}
    for output_uuid, output_template, input_uuid, input_template in rows:
        source = node_topic(domain, output_uuid, output_template)
        routes.setdefault(source, []).append(node_topic(domain, input_uuid, input_template))
    return RouteTable(version, {topic: tuple(inputs) for topic, inputs in routes.items()})
