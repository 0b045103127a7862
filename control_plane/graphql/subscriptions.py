"""Subscriptions (docs/graphql.md#subscriptions), beyond 1.x, which has none: a node's new
values, a unit's state and online status, a unit's log entries, as the dataflow stores them.

They are fed by the dataflow's live events (`control_plane.services.broker.live_events`), never
by reading the database again and again. A subscription starts only for a caller who may run the
query that reads the same thing (`getUnitNode`, `getUnit`, `getUnitLogs`): otherwise it ends at
once with that query's error. The check is made again before an event is delivered when the
last one is older than `ACCESS_RECHECK_S`, so a caller who lost access (or whose token expired)
stops receiving within that time.
"""

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from control_plane.graphql.context import GraphQLContext
from control_plane.graphql.enums import LogLevel
from control_plane.graphql.types.unit_state import UnitStateType
from control_plane.models.unit import parse_unit_state
from control_plane.security import Agent, AgentType
from control_plane.services.broker.live_events import Delivery
from control_plane.services.nodes.access import visible_node
from control_plane.services.units.access import device_unit, visible_unit
from control_plane.services.units.online import is_online, online_window
from control_plane.services.users.agents import require_agent_types
from pepeunit_core.db import enums as db
from pepeunit_core.db.models import Unit
from pepeunit_core.live_events import EventKind, NodeValueEvent, UnitLogEvent, UnitStateEvent
from pipelines.clock import from_epoch_ms

ACCESS_RECHECK_S = 30.0
_UNIT_READERS = (AgentType.BOT, AgentType.USER, AgentType.UNIT, AgentType.BACKEND)
"""Who may run `getUnit` (REST `GET /units/{uuid}`)."""

Info_ = Info[GraphQLContext, None]
AccessCheck = Callable[[Session, Agent], Any]


@strawberry.type
class UnitNodeValueType:
    """A value the node's pipeline stored (LastValue, NRecords or TimeWindow)."""

    unit_node_uuid: UUID
    state: str
    create_datetime: datetime
    missed: int
    """Events of this subscription dropped just before this one, because it did not keep up."""


@strawberry.type
class UnitStatusType:
    unit_uuid: UUID
    online: bool
    """A state report came in within twice PU_STATE_SEND_INTERVAL."""
    last_state_report_datetime: datetime | None
    current_commit_version: str | None
    unit_state: UnitStateType | None
    missed: int


@strawberry.type
class UnitLogEntryType:
    """The fields of 1.x's `UnitLogType`, and `missed`."""

    uuid: UUID
    level: LogLevel
    unit_uuid: UUID
    text: str
    create_datetime: datetime
    expiration_datetime: datetime
    missed: int


async def _deliveries(
    context: GraphQLContext,
    kind: EventKind,
    entity: UUID,
    check: AccessCheck,
    wait_s: Callable[[], float | None] = lambda: None,
) -> AsyncIterator[Delivery | None]:
    """The subscription's events, access checked again when the last check is old; None
    when `wait_s()` seconds pass without one."""
    subscription = context.app.live_events.subscribe(kind, str(entity))
    checked_at = time.monotonic()
    try:
        while True:
            delivery = await subscription.next(wait_s())
            if time.monotonic() - checked_at > ACCESS_RECHECK_S:
                await context.call(check)
                checked_at = time.monotonic()
            yield delivery
    finally:
        subscription.close()


def _status(unit: Unit, context: GraphQLContext, missed: int = 0) -> UnitStatusType:
    state = parse_unit_state(unit.unit_state_dict)
    reported = unit.last_state_report_datetime
    return UnitStatusType(
        unit_uuid=unit.uuid,
        online=is_online(context.app.settings, reported, datetime.now(UTC)),
        last_state_report_datetime=reported,
        current_commit_version=unit.current_commit_version,
        unit_state=None if state is None else UnitStateType.of(state),
        missed=missed,
    )


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def unit_node_values(
        self, info: Info_, uuid: UUID
    ) -> AsyncGenerator[UnitNodeValueType, None]:
        """Each value the node's pipeline stores, once stored; for whoever may `getUnitNode`."""
        context = info.context

        def check(session: Session, agent: Agent) -> None:
            visible_node(session, agent, uuid)

        await context.call(check)

        async def values() -> AsyncGenerator[UnitNodeValueType, None]:
            async for delivery in _deliveries(context, EventKind.NODE_VALUES, uuid, check):
                if delivery is not None and isinstance(delivery.event, NodeValueEvent):
                    event = delivery.event
                    yield UnitNodeValueType(
                        unit_node_uuid=uuid,
                        state=event.value,
                        create_datetime=from_epoch_ms(event.stored_ms),
                        missed=delivery.missed,
                    )

        return values()  # type: ignore[return-value]  # checked before the stream starts

    @strawberry.subscription
    async def unit_state(self, info: Info_, uuid: UUID) -> AsyncGenerator[UnitStatusType, None]:
        """The unit's status now, then after each accepted state report and when it goes
        offline; for whoever may `getUnit`."""
        context = info.context
        settings = context.app.settings

        def check(session: Session, agent: Agent) -> UnitStatusType:
            unit = visible_unit(session, require_agent_types(agent, *_UNIT_READERS), uuid)
            return _status(unit, context)

        current = await context.call(check)

        def until_offline() -> float | None:
            if not current.online or current.last_state_report_datetime is None:
                return None
            offline_at = current.last_state_report_datetime + online_window(settings)
            return max((offline_at - datetime.now(UTC)).total_seconds(), 0.0) + 0.01

        async def statuses() -> AsyncGenerator[UnitStatusType, None]:
            nonlocal current
            yield current
            deliveries = _deliveries(context, EventKind.UNIT_STATES, uuid, check, until_offline)
            async for delivery in deliveries:
                if delivery is None:
                    if not _went_offline(current, context):
                        continue
                    current = _offline(current)
                elif isinstance(delivery.event, UnitStateEvent):
                    current = _reported(current, delivery.event, delivery.missed, context)
                else:
                    continue
                yield current

        return statuses()  # type: ignore[return-value]

    @strawberry.subscription
    async def unit_logs(
        self, info: Info_, uuid: UUID, level: list[LogLevel] | None = None
    ) -> AsyncGenerator[UnitLogEntryType, None]:
        """Each log entry of the unit (of the `level`s asked, all when none), once stored; for
        the unit's creator and the unit itself, as `getUnitLogs`."""
        context = info.context
        levels = {db.LogLevel(member.value) for member in level or []}

        def check(session: Session, agent: Agent) -> None:
            device_unit(session, agent, uuid)

        await context.call(check)

        async def entries() -> AsyncGenerator[UnitLogEntryType, None]:
            async for delivery in _deliveries(context, EventKind.UNIT_LOGS, uuid, check):
                if delivery is None or not isinstance(delivery.event, UnitLogEvent):
                    continue
                event = delivery.event
                entry_level = db.LogLevel(event.level)
                if levels and entry_level not in levels:
                    continue
                yield UnitLogEntryType(
                    uuid=UUID(event.uuid),
                    level=entry_level,  # type: ignore[arg-type]  # the enum's member
                    unit_uuid=uuid,
                    text=event.text,
                    create_datetime=from_epoch_ms(event.created_ms),
                    expiration_datetime=from_epoch_ms(event.expires_ms),
                    missed=delivery.missed,
                )

        return entries()  # type: ignore[return-value]


def _went_offline(current: UnitStatusType, context: GraphQLContext) -> bool:
    reported = current.last_state_report_datetime
    return current.online and not is_online(context.app.settings, reported, datetime.now(UTC))


def _offline(current: UnitStatusType) -> UnitStatusType:
    return UnitStatusType(
        unit_uuid=current.unit_uuid,
        online=False,
        last_state_report_datetime=current.last_state_report_datetime,
        current_commit_version=current.current_commit_version,
        unit_state=current.unit_state,
        missed=0,
    )


def _reported(
    current: UnitStatusType, event: UnitStateEvent, missed: int, context: GraphQLContext
) -> UnitStatusType:
    reported = from_epoch_ms(event.received_ms)
    if current.last_state_report_datetime and reported < current.last_state_report_datetime:
        return current  # a replayed report, older than what the subscriber has
    state = parse_unit_state(event.state_json)
    return UnitStatusType(
        unit_uuid=current.unit_uuid,
        online=is_online(context.app.settings, reported, datetime.now(UTC)),
        last_state_report_datetime=reported,
        current_commit_version=event.commit_version,
        unit_state=None if state is None else UnitStateType.of(state),
        missed=missed,
    )
