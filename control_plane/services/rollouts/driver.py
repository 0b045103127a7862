"""Drives the running rollouts (docs/api.md#rollouts): run by the schedule holder only, so
exactly one process sends a rollout's updates. Each step loads a rollout from the database,
gathers its current stage's gate inputs, asks `decisions.decide` and stores the outcome; all
state lives in the database, so a restarted platform resumes every rollout where it stood."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from control_plane.services.broker.publisher import BrokerPublisher
from control_plane.services.rollouts.decisions import (
    Action,
    Decision,
    RolloutProgress,
    StageGates,
    UnitHealth,
    UnitProgress,
    decide,
)
from control_plane.services.rollouts.history import record_transition
from control_plane.services.rollouts.node_bounds import NODE_BOUNDS, bounds_violation
from control_plane.services.rollouts.unit_moves import (
    rejection_count,
    rejections_between,
    roll_back_unit,
    send_rollout_update,
)
from pepeunit_core.db.enums import RolloutStatus, RolloutUnitOutcome
from pepeunit_core.db.models import Rollout, RolloutStage, RolloutUnit, Unit, UnitNode
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.api.rollouts")

ErrorLogCounter = Callable[[UUID, datetime, datetime], int]
"""Error logs of a unit created in [since, until)."""

ONLINE_WINDOW_PERIODS = 3
DRIVEN = (RolloutStatus.PENDING, RolloutStatus.RUNNING)
FOLLOWED_BY_ANOTHER_STEP = frozenset({Action.START, Action.ADVANCE})
NOTIFIED = frozenset({Action.ADVANCE, Action.COMPLETE, Action.HALT})
"""Steps the creator is told about on Telegram: a stage passed, a halt (with its rollback)."""


@dataclass(frozen=True, slots=True)
class RolloutStepReport:
    rollouts: int
    failed: int


def online_window(settings: Settings) -> timedelta:
    """A unit is online while it reported within three state periods: one more than the
    console allows, so that one report lost, or dropped by the dataflow for coming a little
    early (docs/compatibility.md#state-and-log-reports), does not fail a soaking unit."""
    return timedelta(seconds=ONLINE_WINDOW_PERIODS * settings.state_send_interval)


def step_rollouts(
    session_factory: sessionmaker[Session],
    settings: Settings,
    publisher: BrokerPublisher,
    stop: threading.Event,
    count_error_logs: ErrorLogCounter,
    clock: Callable[[], datetime] = utc_now,
    listening_since: datetime | None = None,
) -> RolloutStepReport:
    """One step of every pending or running rollout, each in a session of its own;
    `listening_since`: when this process started driving them (RolloutProgress)."""
    with session_factory() as session:
        uuids = session.scalars(
            select(Rollout.uuid)
            .where(Rollout.status.in_(DRIVEN))
            .order_by(Rollout.create_datetime, Rollout.uuid)
        ).all()
    failed = 0
    for uuid in uuids:
        if stop.is_set():
            break
        with session_factory() as session:
            try:
                step_rollout(
                    session, settings, publisher, uuid, count_error_logs, clock(), listening_since
                )
            except Exception:
                session.rollback()
                failed += 1
                logger.exception("rollout %s: the step failed", uuid)
    return RolloutStepReport(len(uuids), failed)


def step_rollout(
    session: Session,
    settings: Settings,
    publisher: BrokerPublisher,
    uuid: UUID,
    count_error_logs: ErrorLogCounter,
    now: datetime,
    listening_since: datetime | None = None,
) -> list[Decision]:
    """Decides and applies until the rollout waits: a stage that starts is sent at once."""
    decisions = []
    for _ in range(_stage_count(session, uuid) + 2):
        rollout = session.get(Rollout, uuid, with_for_update=True)
        if rollout is None or rollout.status not in DRIVEN:
            break
        stages = _stages(session, rollout)
        records = _records(session, rollout)
        progress = _progress(settings, rollout, stages, records, listening_since)
        stage = stages[rollout.current_stage]
        health = _health(session, rollout, stage, records, now, count_error_logs)
        decision = decide(progress, health, now)
        _apply(session, settings, publisher, rollout, stages, records, decision, now)
        decisions.append(decision)
        if decision.action not in FOLLOWED_BY_ANOTHER_STEP:
            break
    return decisions


def _stage_count(session: Session, uuid: UUID) -> int:
    count = select(func.count()).where(RolloutStage.rollout_uuid == uuid)
    return session.scalar(count) or 0


def _stages(session: Session, rollout: Rollout) -> list[RolloutStage]:
    return list(
        session.scalars(
            select(RolloutStage)
            .where(RolloutStage.rollout_uuid == rollout.uuid)
            .order_by(RolloutStage.position)
        )
    )


def _records(session: Session, rollout: Rollout) -> dict[UUID, RolloutUnit]:
    rows = session.scalars(
        select(RolloutUnit)
        .where(RolloutUnit.rollout_uuid == rollout.uuid)
        .order_by(RolloutUnit.stage, RolloutUnit.uuid)
    )
    return {row.unit_uuid: row for row in rows}


def _progress(
    settings: Settings,
    rollout: Rollout,
    stages: list[RolloutStage],
    records: dict[UUID, RolloutUnit],
    listening_since: datetime | None,
) -> RolloutProgress:
    return RolloutProgress(
        status=rollout.status,
        stage=rollout.current_stage,
        stages=[_gates(stage) for stage in stages],
        target_commit=rollout.target_commit,
        offline_policy=rollout.offline_policy,
        rollback_on_halt=rollout.rollback_on_halt,
        online_window=online_window(settings),
        units=[
            UnitProgress(
                unit=record.unit_uuid,
                stage=record.stage,
                outcome=record.outcome,
                update_sent_at=record.update_sent_datetime,
                confirmed_at=record.confirmed_datetime,
                reason=record.outcome_reason,
            )
            for record in records.values()
        ],
        listening_since=listening_since,
    )


def _gates(stage: RolloutStage) -> StageGates:
    return StageGates(
        soak=timedelta(seconds=stage.soak_seconds),
        confirm_deadline=timedelta(seconds=stage.confirm_deadline_seconds),
        max_error_log_increase=stage.max_error_log_increase,
        max_rejection_increase=stage.max_rejection_increase,
    )


def _health(
    session: Session,
    rollout: Rollout,
    stage: RolloutStage,
    records: dict[UUID, RolloutUnit],
    now: datetime,
    count_error_logs: ErrorLogCounter,
) -> dict[UUID, UnitHealth]:
    """The gate inputs of the current stage's units; logs and rejections are counted only for
    units whose soak is running. Error logs: since the unit confirmed, against as long a time
    before its Update. Rejections: since its Update (the nodes' counters), against as long a
    time before it (the nodes' kept records of their last rejections)."""
    health = {}
    for record in records.values():
        if record.stage != rollout.current_stage:
            continue
        unit = session.get_one(Unit, record.unit_uuid)
        errors_before = errors_after = rejections_before = rejections_after = 0
        violation = None
        if record.outcome is RolloutUnitOutcome.CONFIRMED:
            violation = _bounds_violation(session, rollout, unit, record)
            rejections_after = rejection_count(session, unit) - (record.rejections_before or 0)
            sent, confirmed = record.update_sent_datetime, record.confirmed_datetime
            if stage.max_rejection_increase is not None and sent:
                rejections_before = rejections_between(session, unit, sent - (now - sent), sent)
            if stage.max_error_log_increase is not None and sent and confirmed:
                errors_after = count_error_logs(unit.uuid, confirmed, now)
                errors_before = count_error_logs(unit.uuid, sent - (now - confirmed), sent)
        health[unit.uuid] = UnitHealth(
            firmware_status=unit.firmware_update_status,
            firmware_error=unit.firmware_update_error,
            reported_commit=unit.current_commit_version,
            last_state_report_at=unit.last_state_report_datetime,
            error_logs_before=errors_before,
            error_logs_after=errors_after,
            rejections_before=rejections_before,
            rejections_after=rejections_after,
            node_bounds_violation=violation,
        )
    return health


def _bounds_violation(
    session: Session, rollout: Rollout, unit: Unit, record: RolloutUnit
) -> str | None:
    """Judged on the values the unit's nodes got since it confirmed the new version."""
    if rollout.node_bounds is None or record.confirmed_datetime is None:
        return None
    since = record.confirmed_datetime
    nodes = session.scalars(select(UnitNode).where(UnitNode.unit_uuid == unit.uuid))
    values = {
        node.topic_name: node.state
        for node in nodes
        if node.state is not None and node.last_update_datetime >= since
    }
    return bounds_violation(NODE_BOUNDS.validate_json(rollout.node_bounds), values)


def _apply(
    session: Session,
    settings: Settings,
    publisher: BrokerPublisher,
    rollout: Rollout,
    stages: list[RolloutStage],
    records: dict[UUID, RolloutUnit],
    decision: Decision,
    now: datetime,
) -> None:
    for change in decision.changes:
        record = records[change.unit]
        record.outcome = change.outcome
        record.outcome_reason = change.reason
        record.outcome_datetime = now
        if change.outcome is RolloutUnitOutcome.CONFIRMED:
            record.confirmed_datetime = now
    if decision.action is Action.START:
        stages[0].started_datetime = now
        rollout.stage_started_datetime = now
    if decision.action in (Action.ADVANCE, Action.COMPLETE):
        stages[rollout.current_stage].passed_datetime = now
    if decision.action is Action.ADVANCE:
        stages[decision.stage].started_datetime = now
        rollout.stage_started_datetime = now
    if decision.status is not rollout.status or decision.stage != rollout.current_stage:
        notify = decision.action in NOTIFIED
        record_transition(
            session, rollout, decision.status, decision.stage, decision.reason, notify=notify
        )
    elif decision.action is Action.WAIT:
        rollout.status_reason = decision.reason
    session.commit()
    if decision.status is not RolloutStatus.RUNNING or decision.stage != rollout.current_stage:
        logger.info("rollout %s: %s (%s)", rollout.uuid, decision.action, decision.reason)
    for unit in decision.send:
        session.refresh(rollout)
        if rollout.status is not RolloutStatus.RUNNING:
            break  # paused, aborted or rolled back by hand meanwhile: the rest stay Pending
        send_rollout_update(session, settings, publisher, rollout, records[unit], now)
    failures = {change.unit: change.reason for change in decision.changes}
    for unit in decision.roll_back:
        reason = failures.get(unit) or decision.reason
        roll_back_unit(session, settings, publisher, records[unit], reason, now)
