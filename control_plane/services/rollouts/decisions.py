"""The next step of a running rollout, decided from its stored progress and what its units
show now (docs/api.md#rollouts). Pure: no database, no broker, no clock — the driver gathers
the inputs, passes `now`, and applies the `Decision`.

A step looks only at the current stage's units:
- Pending: an online unit is sent the Update; an offline one waits, is skipped or fails, by the
  rollout's offline policy.
- Sent: confirmed when it reports the target commit (firmware status Success); failed on an
  Error status or when the confirmation deadline passes.
- Confirmed: failed when it stops reporting state, logs more errors or has more pipeline
  rejections than its gate allows, or a node leaves its bounds; healthy once its soak time
  has passed without that.
Any failure halts the rollout and rolls back what `rollback_on_halt` names; a stage whose units
are all healthy or skipped passes, and the last stage passing completes the rollout. Only a
Pending unit is ever sent an Update, so no unit gets two in one stage.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from pepeunit_core.db.enums import (
    FirmwareUpdateStatus,
    OfflineUnitPolicy,
    RollbackScope,
    RolloutStatus,
    RolloutUnitOutcome,
)

SETTLED = frozenset({RolloutUnitOutcome.HEALTHY, RolloutUnitOutcome.SKIPPED})


@dataclass(frozen=True, slots=True)
class StageGates:
    soak: timedelta
    confirm_deadline: timedelta
    max_error_log_increase: int | None = None
    """None: error logs are not checked."""
    max_rejection_increase: int | None = None
    """None: pipeline rejections are not checked."""


@dataclass(frozen=True, slots=True)
class UnitProgress:
    """What the rollout has stored about one of its units."""

    unit: UUID
    stage: int
    outcome: RolloutUnitOutcome = RolloutUnitOutcome.PENDING
    update_sent_at: datetime | None = None
    confirmed_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class UnitHealth:
    """What a unit shows now: the gate inputs."""

    firmware_status: FirmwareUpdateStatus | None = None
    firmware_error: str | None = None
    reported_commit: str | None = None
    last_state_report_at: datetime | None = None
    error_logs_before: int = 0
    error_logs_after: int = 0
    """Error logs since the update was confirmed; `before` counts those of as long a time
    before the update."""
    rejections_before: int = 0
    rejections_after: int = 0
    node_bounds_violation: str | None = None
    """Why a node's value is out of the rollout's bounds, if it is."""


@dataclass(frozen=True, slots=True)
class RolloutProgress:
    status: RolloutStatus
    stage: int
    stages: Sequence[StageGates]
    target_commit: str
    offline_policy: OfflineUnitPolicy
    rollback_on_halt: RollbackScope
    online_window: timedelta
    """A unit is online while its last state report is at most this old."""
    units: Sequence[UnitProgress]
    listening_since: datetime | None = None
    """Since when the platform has been taking state reports in (the driver's election, e.g.
    after a restart): silence before it is the platform's, not the unit's, so until a whole
    online window has passed since then a unit that had reported counts as online and no
    confirmation deadline fails a unit."""


class Action(StrEnum):
    NOTHING = "Nothing"
    """The rollout is not running (paused or finished)."""
    START = "Start"
    SEND = "Send"
    WAIT = "Wait"
    ADVANCE = "Advance"
    COMPLETE = "Complete"
    HALT = "Halt"


@dataclass(frozen=True, slots=True)
class UnitChange:
    unit: UUID
    outcome: RolloutUnitOutcome
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    status: RolloutStatus
    """The rollout's status after the step."""
    stage: int
    """The rollout's stage after the step."""
    send: tuple[UUID, ...] = ()
    """Units to send the Update to now (they become Sent)."""
    roll_back: tuple[UUID, ...] = ()
    """Units to send back to the version they ran before (they become RolledBack)."""
    changes: tuple[UnitChange, ...] = field(default=())
    """Outcomes that change, applied before `send` and `roll_back` (a failed unit that is
    rolled back is in both)."""
    reason: str | None = None


def decide(rollout: RolloutProgress, health: Mapping[UUID, UnitHealth], now: datetime) -> Decision:
    """The next step; a unit missing from `health` shows nothing (never reported)."""
    if rollout.status is RolloutStatus.PENDING:
        return Decision(Action.START, RolloutStatus.RUNNING, 0, reason="started")
    if rollout.status is not RolloutStatus.RUNNING:
        return Decision(Action.NOTHING, rollout.status, rollout.stage)
    gates = rollout.stages[rollout.stage]
    stage_units = [unit for unit in rollout.units if unit.stage == rollout.stage]
    send: list[UUID] = []
    changes: list[UnitChange] = []
    for unit in stage_units:
        seen = health.get(unit.unit, UnitHealth())
        if unit.outcome is RolloutUnitOutcome.PENDING:
            if _online(rollout, seen, now):
                send.append(unit.unit)
            elif rollout.offline_policy is OfflineUnitPolicy.SKIP:
                changes.append(UnitChange(unit.unit, RolloutUnitOutcome.SKIPPED, "offline"))
            elif rollout.offline_policy is OfflineUnitPolicy.FAIL:
                changes.append(UnitChange(unit.unit, RolloutUnitOutcome.FAILED, "offline"))
        elif unit.outcome is RolloutUnitOutcome.SENT:
            change = _confirmation(rollout, gates, unit, seen, now)
            changes.extend([change] if change else [])
        elif unit.outcome is RolloutUnitOutcome.CONFIRMED:
            change = _soak(rollout, gates, unit, seen, now)
            changes.extend([change] if change else [])
    failed = [change for change in changes if change.outcome is RolloutUnitOutcome.FAILED]
    if failed:
        return _halt(rollout, failed, changes)
    outcomes = {unit.unit: unit.outcome for unit in stage_units}
    outcomes |= {change.unit: change.outcome for change in changes}
    if send:
        return Decision(
            Action.SEND,
            RolloutStatus.RUNNING,
            rollout.stage,
            send=tuple(send),
            changes=tuple(changes),
        )
    if all(outcome in SETTLED for outcome in outcomes.values()):
        return _stage_passed(rollout, changes)
    return Decision(
        Action.WAIT,
        RolloutStatus.RUNNING,
        rollout.stage,
        changes=tuple(changes),
        reason=_waiting_for(outcomes.values()),
    )


def units_to_roll_back(units: Sequence[UnitProgress]) -> tuple[UUID, ...]:
    """Every unit the rollout sent an Update to and has not rolled back yet."""
    return tuple(
        unit.unit
        for unit in units
        if unit.update_sent_at is not None and unit.outcome is not RolloutUnitOutcome.ROLLED_BACK
    )


def _online(rollout: RolloutProgress, seen: UnitHealth, now: datetime) -> bool:
    reported = seen.last_state_report_at
    if reported is None:
        return False
    if rollout.listening_since is not None:
        reported = max(reported, rollout.listening_since)
    return now - reported <= rollout.online_window


def _just_elected(rollout: RolloutProgress, now: datetime) -> bool:
    """Within a window of the election: reports sent while no process listened (a restart)
    may still be coming in, so no unit is judged silent or late yet."""
    since = rollout.listening_since
    return since is not None and now - since <= rollout.online_window


def _confirmation(
    rollout: RolloutProgress,
    gates: StageGates,
    unit: UnitProgress,
    seen: UnitHealth,
    now: datetime,
) -> UnitChange | None:
    if (
        seen.firmware_status is FirmwareUpdateStatus.SUCCESS
        and seen.reported_commit == rollout.target_commit
    ):
        return UnitChange(unit.unit, RolloutUnitOutcome.CONFIRMED)
    if seen.firmware_status is FirmwareUpdateStatus.ERROR:
        reason = f"the update failed: {seen.firmware_error or 'no reason given'}"
        return UnitChange(unit.unit, RolloutUnitOutcome.FAILED, reason)
    sent = unit.update_sent_at
    if (sent is None or now - sent > gates.confirm_deadline) and not _just_elected(rollout, now):
        seconds = int(gates.confirm_deadline.total_seconds())
        reason = f"did not report version {rollout.target_commit} within {seconds} s"
        return UnitChange(unit.unit, RolloutUnitOutcome.FAILED, reason)
    return None


def _soak(
    rollout: RolloutProgress,
    gates: StageGates,
    unit: UnitProgress,
    seen: UnitHealth,
    now: datetime,
) -> UnitChange | None:
    reason = _unhealthy(rollout, gates, seen, now)
    if reason is not None:
        return UnitChange(unit.unit, RolloutUnitOutcome.FAILED, reason)
    confirmed = unit.confirmed_at
    if confirmed is not None and now - confirmed >= gates.soak:
        return UnitChange(unit.unit, RolloutUnitOutcome.HEALTHY)
    return None


def _unhealthy(
    rollout: RolloutProgress, gates: StageGates, seen: UnitHealth, now: datetime
) -> str | None:
    if not _online(rollout, seen, now):
        return "stopped reporting state"
    errors = seen.error_logs_after - seen.error_logs_before
    if gates.max_error_log_increase is not None and errors > gates.max_error_log_increase:
        return (
            f"{seen.error_logs_after} error logs after the update against "
            f"{seen.error_logs_before} before (at most {gates.max_error_log_increase} more)"
        )
    rejections = seen.rejections_after - seen.rejections_before
    if gates.max_rejection_increase is not None and rejections > gates.max_rejection_increase:
        return (
            f"{seen.rejections_after} pipeline rejections after the update against "
            f"{seen.rejections_before} before (at most {gates.max_rejection_increase} more)"
        )
    return seen.node_bounds_violation


def _halt(
    rollout: RolloutProgress, failed: list[UnitChange], changes: list[UnitChange]
) -> Decision:
    reason = "; ".join(f"unit {change.unit}: {change.reason}" for change in failed)
    sent = {unit.unit for unit in rollout.units if unit.update_sent_at is not None}
    if rollout.rollback_on_halt is RollbackScope.ALL_UNITS:
        roll_back = units_to_roll_back(rollout.units)
        status = RolloutStatus.ROLLED_BACK
    elif rollout.rollback_on_halt is RollbackScope.FAILED_UNITS:
        roll_back = tuple(change.unit for change in failed if change.unit in sent)
        status = RolloutStatus.HALTED
    else:
        roll_back, status = (), RolloutStatus.HALTED
    return Decision(
        Action.HALT,
        status,
        rollout.stage,
        roll_back=roll_back,
        changes=tuple(changes),
        reason=reason,
    )


def _stage_passed(rollout: RolloutProgress, changes: list[UnitChange]) -> Decision:
    if rollout.stage + 1 >= len(rollout.stages):
        return Decision(
            Action.COMPLETE,
            RolloutStatus.COMPLETED,
            rollout.stage,
            changes=tuple(changes),
            reason="every stage passed",
        )
    return Decision(
        Action.ADVANCE,
        RolloutStatus.RUNNING,
        rollout.stage + 1,
        changes=tuple(changes),
        reason=f"stage {rollout.stage} passed",
    )


def _waiting_for(outcomes: Iterable[RolloutUnitOutcome]) -> str:
    counts: dict[RolloutUnitOutcome, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    waiting = {
        RolloutUnitOutcome.PENDING: "offline, waiting",
        RolloutUnitOutcome.SENT: "confirming the version",
        RolloutUnitOutcome.CONFIRMED: "soaking",
    }
    return ", ".join(
        f"{counts[outcome]} {text}" for outcome, text in waiting.items() if outcome in counts
    )
