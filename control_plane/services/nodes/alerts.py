"""A user's alerts: the rules of their nodes' pipelines (docs/pipelines.md#alerts) and the events
those rules raised (the `alert_events` outbox), newest first. Only the creator of a node reads
its pipeline config (as `nodes.access.readable_node`), so only their own nodes count."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from control_plane.services.paging import Page, paginate
from pepeunit_core.db.enums import AlertEventKind, DeliveryStatus
from pepeunit_core.db.models import AlertEvent, Unit, UnitNode, User
from pepeunit_core.pipeline_store import StoredConfigError, config_from_stored
from pipelines.alert_rules import OfflineRule, ThresholdRule

MAX_NODES_WITH_RULES = 500
"""The nodes `alert_rules` reads at most (their configs are parsed one by one)."""

# The stored form names `alerts` only when the pipeline has rules (pipeline_store).
_HAS_RULES = '"alerts":'


@dataclass(frozen=True)
class NodeAlertRules:
    node_uuid: UUID
    unit_uuid: UUID
    unit_name: str
    topic: str
    rules: list[ThresholdRule | OfflineRule]
    problem: str | None = None
    """Why the stored config could not be read (then `rules` is empty)."""


@dataclass(frozen=True)
class AlertEventRow:
    uuid: UUID
    node_uuid: UUID
    unit_name: str
    topic: str
    rule_name: str
    kind: AlertEventKind
    value: str | None
    message: str
    moment: datetime
    delivery: DeliveryStatus

    @property
    def fired(self) -> bool:
        return self.kind is AlertEventKind.ALERT


def alert_rules(session: Session, user: User) -> list[NodeAlertRules]:
    """The user's nodes whose pipelines have alert rules, by unit name and topic."""
    rows = session.execute(
        select(UnitNode, Unit.name)
        .join(Unit, Unit.uuid == UnitNode.unit_uuid)
        .where(UnitNode.creator_uuid == user.uuid, UnitNode.data_pipe_yml.contains(_HAS_RULES))
        .order_by(Unit.name, UnitNode.topic_name, UnitNode.uuid)
        .limit(MAX_NODES_WITH_RULES)
    ).all()
    found = []
    for node, unit_name in rows:
        assert node.data_pipe_yml is not None  # the filter above
        try:
            rules, problem = config_from_stored(node.data_pipe_yml).alerts or [], None
        except StoredConfigError as error:
            rules, problem = [], str(error)
        if rules or problem:
            found.append(
                NodeAlertRules(
                    node.uuid, node.unit_uuid, unit_name, node.topic_name, rules, problem
                )
            )
    return found


def alert_events(session: Session, user: User, page: Page) -> tuple[int, list[AlertEventRow]]:
    """The events of the user's nodes, newest first, and how many there are."""
    statement = (
        select(AlertEvent)
        .join(UnitNode, UnitNode.uuid == AlertEvent.unit_node_uuid)
        .where(UnitNode.creator_uuid == user.uuid)
        .order_by(desc(AlertEvent.event_datetime), desc(AlertEvent.sequence), desc(AlertEvent.uuid))
    )
    count, events = paginate(session, statement, page)
    node_uuids = {event.unit_node_uuid for event in events}
    places = (
        {
            node_uuid: (unit_name, topic)
            for node_uuid, unit_name, topic in session.execute(
                select(UnitNode.uuid, Unit.name, UnitNode.topic_name)
                .join(Unit, Unit.uuid == UnitNode.unit_uuid)
                .where(UnitNode.uuid.in_(node_uuids))
            )
        }
        if node_uuids
        else {}
    )
    return count, [_event_row(event, *places[event.unit_node_uuid]) for event in events]


def _event_row(event: AlertEvent, unit_name: str, topic: str) -> AlertEventRow:
    return AlertEventRow(
        uuid=event.uuid,
        node_uuid=event.unit_node_uuid,
        unit_name=unit_name,
        topic=topic,
        rule_name=event.rule_name,
        kind=event.kind,
        value=event.value,
        message=event.message,
        moment=event.event_datetime,
        delivery=event.delivery_status,
    )
