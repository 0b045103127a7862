"""Every step of a rollout from its gate inputs (pure: no database, no broker, no waits)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from control_plane.services.rollouts.decisions import (
    Action,
    Decision,
    RolloutProgress,
    StageGates,
    UnitChange,
    UnitHealth,
    UnitProgress,
    decide,
    units_to_roll_back,
)
from pepeunit_core.db.enums import (
    FirmwareUpdateStatus,
    OfflineUnitPolicy,
    RollbackScope,
    RolloutStatus,
    RolloutUnitOutcome,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TARGET = "a" * 40
OLD = "b" * 40
WINDOW = timedelta(seconds=120)
GATES = StageGates(
    soak=timedelta(minutes=10),
    confirm_deadline=timedelta(minutes=5),
    max_error_log_increase=2,
    max_rejection_increase=3,
)
Outcome = RolloutUnitOutcome


def rollout(
    units: list[UnitProgress],
    *,
    status: RolloutStatus = RolloutStatus.RUNNING,
    stage: int = 0,
    stages: int = 3,
    offline: OfflineUnitPolicy = OfflineUnitPolicy.WAIT,
    rollback: RollbackScope = RollbackScope.FAILED_UNITS,
) -> RolloutProgress:
    return RolloutProgress(
        status=status,
        stage=stage,
        stages=[GATES] * stages,
        target_commit=TARGET,
        offline_policy=offline,
        rollback_on_halt=rollback,
        online_window=WINDOW,
        units=units,
    )


def online(**fields: object) -> UnitHealth:
    """A unit that reported state a moment ago, still on the old version."""
    return replace(UnitHealth(last_state_report_at=NOW - timedelta(seconds=5)), **fields)


def running_target(**fields: object) -> UnitHealth:
    return online(firmware_status=FirmwareUpdateStatus.SUCCESS, reported_commit=TARGET, **fields)


OFFLINE = UnitHealth(last_state_report_at=NOW - WINDOW - timedelta(seconds=1))


def pending(stage: int = 0) -> UnitProgress:
    return UnitProgress(uuid4(), stage)


def sent(stage: int = 0, ago: timedelta = timedelta(minutes=1)) -> UnitProgress:
    return UnitProgress(uuid4(), stage, Outcome.SENT, update_sent_at=NOW - ago)


def confirmed(stage: int = 0, ago: timedelta = timedelta(minutes=1)) -> UnitProgress:
    return UnitProgress(
        uuid4(),
        stage,
        Outcome.CONFIRMED,
        update_sent_at=NOW - ago - timedelta(minutes=1),
        confirmed_at=NOW - ago,
    )


def settled(outcome: RolloutUnitOutcome, stage: int = 0) -> UnitProgress:
    sent_at = None if outcome is Outcome.SKIPPED else NOW - timedelta(hours=1)
    return UnitProgress(uuid4(), stage, outcome, update_sent_at=sent_at)


# --- statuses that do not run ----------------------------------------------------------------


def test_a_pending_rollout_starts_at_its_first_stage():
    decision = decide(rollout([pending()], status=RolloutStatus.PENDING), {}, NOW)
    assert (decision.action, decision.status, decision.stage) == (
        Action.START,
        RolloutStatus.RUNNING,
        0,
    )
    assert decision.send == ()


@pytest.mark.parametrize(
    "status",
    [
        RolloutStatus.PAUSED,
        RolloutStatus.HALTED,
        RolloutStatus.ROLLED_BACK,
        RolloutStatus.ABORTED,
        RolloutStatus.COMPLETED,
    ],
)
def test_a_rollout_that_is_not_running_does_nothing_whatever_its_units_show(status):
    unit, failing = pending(), sent()
    health = {unit.unit: online(), failing.unit: online(firmware_status=FirmwareUpdateStatus.ERROR)}
    decision = decide(rollout([unit, failing], status=status, stage=1), health, NOW)
    assert decision == Decision(Action.NOTHING, status, 1)


# --- pending units: send, or the offline policy ----------------------------------------------


def test_the_online_units_of_the_current_stage_are_sent_the_update_and_no_others():
    canary, later, earlier = pending(1), pending(2), settled(Outcome.HEALTHY, 0)
    health = {unit.unit: online() for unit in (canary, later, earlier)}
    decision = decide(rollout([earlier, canary, later], stage=1), health, NOW)
    assert decision == Decision(Action.SEND, RolloutStatus.RUNNING, 1, send=(canary.unit,))


@pytest.mark.parametrize("health", [OFFLINE, UnitHealth()], ids=["silent too long", "never"])
def test_an_offline_unit_is_waited_for_under_the_wait_policy(health):
    unit = pending()
    decision = decide(rollout([unit], offline=OfflineUnitPolicy.WAIT), {unit.unit: health}, NOW)
    assert decision == Decision(Action.WAIT, RolloutStatus.RUNNING, 0, reason="1 offline, waiting")


def test_the_wait_policy_sends_the_update_once_the_unit_comes_online():
    unit = pending()
    rolled = rollout([unit], offline=OfflineUnitPolicy.WAIT)
    assert decide(rolled, {unit.unit: OFFLINE}, NOW).action is Action.WAIT
    assert decide(rolled, {unit.unit: online()}, NOW).send == (unit.unit,)


def test_an_offline_unit_is_skipped_under_the_skip_policy_and_the_others_are_sent():
    offline_unit, online_unit = pending(), pending()
    health = {offline_unit.unit: OFFLINE, online_unit.unit: online()}
    decision = decide(
        rollout([offline_unit, online_unit], offline=OfflineUnitPolicy.SKIP), health, NOW
    )
    assert decision == Decision(
        Action.SEND,
        RolloutStatus.RUNNING,
        0,
        send=(online_unit.unit,),
        changes=(UnitChange(offline_unit.unit, Outcome.SKIPPED, "offline"),),
    )


def test_a_stage_whose_units_were_all_skipped_passes():
    unit = pending()
    decision = decide(rollout([unit], offline=OfflineUnitPolicy.SKIP), {unit.unit: OFFLINE}, NOW)
    assert (decision.action, decision.stage) == (Action.ADVANCE, 1)
    assert decision.changes == (UnitChange(unit.unit, Outcome.SKIPPED, "offline"),)


def test_an_offline_unit_halts_the_rollout_under_the_fail_policy_and_nothing_is_sent():
    offline_unit, online_unit = pending(), pending()
    health = {offline_unit.unit: OFFLINE, online_unit.unit: online()}
    decision = decide(
        rollout([offline_unit, online_unit], offline=OfflineUnitPolicy.FAIL), health, NOW
    )
    assert decision == Decision(
        Action.HALT,
        RolloutStatus.HALTED,
        0,
        changes=(UnitChange(offline_unit.unit, Outcome.FAILED, "offline"),),
        reason=f"unit {offline_unit.unit}: offline",
    )


# --- sent units: confirmation --------------------------------------------------------------


def test_a_unit_reporting_the_target_with_success_is_confirmed():
    unit = sent()
    decision = decide(rollout([unit]), {unit.unit: running_target()}, NOW)
    assert decision == Decision(
        Action.WAIT,
        RolloutStatus.RUNNING,
        0,
        changes=(UnitChange(unit.unit, Outcome.CONFIRMED),),
        reason="1 soaking",
    )


@pytest.mark.parametrize(
    "health",
    [
        online(firmware_status=FirmwareUpdateStatus.REQUEST_SENT, reported_commit=OLD),
        online(firmware_status=FirmwareUpdateStatus.SUCCESS, reported_commit=OLD),
        OFFLINE,
    ],
    ids=["still requested", "success of another version", "silent"],
)
def test_a_sent_unit_is_waited_for_until_its_deadline(health):
    unit = sent(ago=GATES.confirm_deadline)
    decision = decide(rollout([unit]), {unit.unit: health}, NOW)
    assert decision == Decision(
        Action.WAIT, RolloutStatus.RUNNING, 0, reason="1 confirming the version"
    )


def test_a_sent_unit_past_its_deadline_fails_and_is_rolled_back():
    unit = sent(ago=GATES.confirm_deadline + timedelta(seconds=1))
    health = online(firmware_status=FirmwareUpdateStatus.REQUEST_SENT, reported_commit=OLD)
    reason = f"did not report version {TARGET} within 300 s"
    decision = decide(rollout([unit]), {unit.unit: health}, NOW)
    assert decision == Decision(
        Action.HALT,
        RolloutStatus.HALTED,
        0,
        roll_back=(unit.unit,),
        changes=(UnitChange(unit.unit, Outcome.FAILED, reason),),
        reason=f"unit {unit.unit}: {reason}",
    )


def test_a_sent_unit_whose_update_failed_halts_the_rollout_at_once():
    unit = sent(ago=timedelta(seconds=1))
    health = online(firmware_status=FirmwareUpdateStatus.ERROR, firmware_error="broker down")
    decision = decide(rollout([unit]), {unit.unit: health}, NOW)
    assert (decision.action, decision.roll_back) == (Action.HALT, (unit.unit,))
    assert decision.reason == f"unit {unit.unit}: the update failed: broker down"


# --- confirmed units: soak and health gates ---------------------------------------------------


def test_a_confirmed_unit_soaks_until_its_soak_time_has_passed():
    unit = confirmed(ago=GATES.soak - timedelta(seconds=1))
    decision = decide(rollout([unit]), {unit.unit: running_target()}, NOW)
    assert decision == Decision(Action.WAIT, RolloutStatus.RUNNING, 0, reason="1 soaking")


def test_a_healthy_stage_passes_to_the_next_stage():
    soaked, done = confirmed(ago=GATES.soak), settled(Outcome.HEALTHY)
    later = pending(1)
    health = {soaked.unit: running_target(), done.unit: running_target(), later.unit: online()}
    decision = decide(rollout([soaked, done, later]), health, NOW)
    assert decision == Decision(
        Action.ADVANCE,
        RolloutStatus.RUNNING,
        1,
        changes=(UnitChange(soaked.unit, Outcome.HEALTHY),),
        reason="stage 0 passed",
    )


def test_the_last_stage_passing_completes_the_rollout():
    unit = confirmed(stage=2, ago=GATES.soak)
    decision = decide(rollout([unit], stage=2), {unit.unit: running_target()}, NOW)
    assert (decision.action, decision.status, decision.stage) == (
        Action.COMPLETE,
        RolloutStatus.COMPLETED,
        2,
    )
    assert decision.changes == (UnitChange(unit.unit, Outcome.HEALTHY),)


def test_an_empty_stage_passes():
    decision = decide(rollout([settled(Outcome.HEALTHY)], stage=1), {}, NOW)
    assert (decision.action, decision.stage) == (Action.ADVANCE, 2)


@pytest.mark.parametrize(
    ("health", "reason"),
    [
        (
            replace(running_target(), last_state_report_at=NOW - WINDOW - timedelta(seconds=1)),
            "stopped reporting state",
        ),
        (
            running_target(error_logs_before=1, error_logs_after=4),
            "4 error logs after the update against 1 before (at most 2 more)",
        ),
        (
            running_target(rejections_before=0, rejections_after=4),
            "4 pipeline rejections after the update against 0 before (at most 3 more)",
        ),
        (
            running_target(node_bounds_violation="temp 91 is above 80"),
            "temp 91 is above 80",
        ),
    ],
    ids=["stops reporting", "error logs", "rejections", "node bounds"],
)
def test_a_confirmed_unit_failing_a_gate_halts_and_is_rolled_back_even_after_its_soak(
    health, reason
):
    unit = confirmed(ago=GATES.soak + timedelta(minutes=1))
    decision = decide(rollout([unit]), {unit.unit: health}, NOW)
    assert decision == Decision(
        Action.HALT,
        RolloutStatus.HALTED,
        0,
        roll_back=(unit.unit,),
        changes=(UnitChange(unit.unit, Outcome.FAILED, reason),),
        reason=f"unit {unit.unit}: {reason}",
    )


def test_increases_up_to_the_gate_pass():
    unit = confirmed(ago=GATES.soak)
    health = running_target(
        error_logs_before=5, error_logs_after=7, rejections_before=1, rejections_after=4
    )
    decision = decide(rollout([unit]), {unit.unit: health}, NOW)
    assert decision.action is Action.ADVANCE


def test_a_gate_left_unset_is_not_checked():
    unit = confirmed(ago=GATES.soak)
    lenient = replace(
        rollout([unit]),
        stages=[replace(GATES, max_error_log_increase=None, max_rejection_increase=None)] * 3,
    )
    health = running_target(error_logs_after=1000, rejections_after=1000)
    assert decide(lenient, {unit.unit: health}, NOW).action is Action.ADVANCE


# --- what a halt rolls back ------------------------------------------------------------------


def halting_rollout(rollback: RollbackScope) -> tuple[RolloutProgress, dict, list[UnitProgress]]:
    """Stage 1 of 3: one unit of stage 0 healthy, in stage 1 one failing, one soaking fine, one
    still pending and offline; stage 2 untouched."""
    earlier = settled(Outcome.HEALTHY, 0)
    failing, fine, waiting, later = confirmed(1), confirmed(1), pending(1), pending(2)
    health = {
        earlier.unit: running_target(),
        failing.unit: running_target(error_logs_after=10),
        fine.unit: running_target(),
        waiting.unit: OFFLINE,
        later.unit: online(),
    }
    units = [earlier, failing, fine, waiting, later]
    return rollout(units, stage=1, rollback=rollback), health, units


def test_a_halt_rolls_back_only_the_failed_units_by_default():
    progress, health, (_, failing, *_) = halting_rollout(RollbackScope.FAILED_UNITS)
    decision = decide(progress, health, NOW)
    assert (decision.action, decision.status) == (Action.HALT, RolloutStatus.HALTED)
    assert decision.roll_back == (failing.unit,)
    assert decision.send == ()
    assert [change.unit for change in decision.changes] == [failing.unit]


def test_a_halt_can_roll_back_every_unit_the_rollout_updated():
    progress, health, (earlier, failing, fine, _, _) = halting_rollout(RollbackScope.ALL_UNITS)
    decision = decide(progress, health, NOW)
    assert (decision.action, decision.status) == (Action.HALT, RolloutStatus.ROLLED_BACK)
    assert set(decision.roll_back) == {earlier.unit, failing.unit, fine.unit}
    assert decision.send == ()


def test_a_halt_can_roll_back_nothing():
    progress, health, (_, failing, *_) = halting_rollout(RollbackScope.NONE)
    decision = decide(progress, health, NOW)
    assert (decision.action, decision.status, decision.roll_back) == (
        Action.HALT,
        RolloutStatus.HALTED,
        (),
    )
    assert decision.changes == (
        UnitChange(
            failing.unit,
            Outcome.FAILED,
            "10 error logs after the update against 0 before (at most 2 more)",
        ),
    )


def test_a_failure_wins_over_sending_the_rest_of_the_stage():
    failing, waiting = sent(ago=timedelta(hours=1)), pending()
    health = {failing.unit: online(), waiting.unit: online()}
    decision = decide(rollout([failing, waiting]), health, NOW)
    assert (decision.action, decision.send) == (Action.HALT, ())


def test_units_to_roll_back_are_those_sent_and_not_rolled_back_yet():
    units = [
        settled(Outcome.HEALTHY),
        settled(Outcome.ROLLED_BACK),
        settled(Outcome.SKIPPED),
        pending(),
        sent(),
        confirmed(),
        settled(Outcome.FAILED),
    ]
    expected = (units[0].unit, units[4].unit, units[5].unit, units[6].unit)
    assert units_to_roll_back(units) == expected


# --- a whole rollout, step by step: each unit gets one Update --------------------------------


def apply(progress: RolloutProgress, decision: Decision, now: datetime) -> RolloutProgress:
    """What the driver stores after a decision."""
    changed = {change.unit: change for change in decision.changes}
    units = []
    for unit in progress.units:
        if unit.unit in decision.send:
            unit = replace(unit, outcome=Outcome.SENT, update_sent_at=now)
        elif unit.unit in decision.roll_back:
            unit = replace(unit, outcome=Outcome.ROLLED_BACK)
        elif unit.unit in changed:
            change = changed[unit.unit]
            confirmed_at = now if change.outcome is Outcome.CONFIRMED else unit.confirmed_at
            unit = replace(unit, outcome=change.outcome, confirmed_at=confirmed_at)
        units.append(unit)
    return replace(progress, status=decision.status, stage=decision.stage, units=units)


class Fleet:
    """Units that take an Update after a tick and then run it (or a bad version's symptoms)."""

    def __init__(self, units: list[UUID], bad: bool) -> None:
        self.bad = bad
        self.commits = dict.fromkeys(units, OLD)
        self.updates: dict[UUID, int] = dict.fromkeys(units, 0)
        self.requested: set[UUID] = set()

    def send(self, units: tuple[UUID, ...]) -> None:
        for unit in units:
            self.updates[unit] += 1
            self.requested.add(unit)

    def tick(self) -> None:
        for unit in self.requested:
            self.commits[unit] = TARGET
        self.requested = set()

    def health(self, now: datetime) -> dict[UUID, UnitHealth]:
        health = {}
        for unit, commit in self.commits.items():
            updated = commit == TARGET
            health[unit] = UnitHealth(
                last_state_report_at=now - timedelta(seconds=5),
                firmware_status=FirmwareUpdateStatus.SUCCESS if updated else None,
                reported_commit=commit,
                error_logs_after=50 if updated and self.bad else 0,
            )
        return health


def run(bad: bool) -> tuple[RolloutProgress, Fleet, list[Action]]:
    units = [uuid4() for _ in range(10)]
    stage_of = {unit: 0 if i == 0 else 1 if i < 5 else 2 for i, unit in enumerate(units)}
    progress = rollout(
        [UnitProgress(unit, stage_of[unit]) for unit in units], status=RolloutStatus.PENDING
    )
    fleet = Fleet(units, bad)
    actions = []
    now = NOW
    for _ in range(100):
        decision = decide(progress, fleet.health(now), now)
        actions.append(decision.action)
        fleet.send(decision.send)
        progress = apply(progress, decision, now)
        if decision.action is Action.NOTHING:
            break
        fleet.tick()
        now += timedelta(minutes=3)
    return progress, fleet, actions


def test_a_good_version_goes_through_every_stage_with_one_update_per_unit():
    progress, fleet, actions = run(bad=False)
    assert progress.status is RolloutStatus.COMPLETED
    assert set(fleet.updates.values()) == {1}
    assert {unit.outcome for unit in progress.units} == {Outcome.HEALTHY}
    assert actions.count(Action.ADVANCE) == 2
    assert actions.count(Action.SEND) == 3


def test_a_bad_version_halts_at_the_canary_and_leaves_the_others_untouched():
    progress, fleet, actions = run(bad=True)
    assert (progress.status, progress.stage) == (RolloutStatus.HALTED, 0)
    canary = progress.units[0]
    assert canary.outcome is Outcome.ROLLED_BACK
    assert fleet.updates[canary.unit] == 1
    assert sum(fleet.updates.values()) == 1
    assert {unit.outcome for unit in progress.units[1:]} == {Outcome.PENDING}
    assert Action.ADVANCE not in actions


def test_silence_while_the_platform_was_down_is_not_the_units():
    """After a restart the driver listens anew: a unit silent since before it is online until
    a whole window has passed since then, and fails only after that."""
    unit = confirmed(ago=timedelta(seconds=30))
    silent = replace(running_target(), last_state_report_at=NOW - 3 * WINDOW)
    restarted = replace(rollout([unit]), listening_since=NOW - WINDOW)
    assert decide(restarted, {unit.unit: silent}, NOW).action is Action.WAIT
    later = NOW + timedelta(seconds=1)
    decision = decide(restarted, {unit.unit: silent}, later)
    assert decision.action is Action.HALT
    assert decision.reason == f"unit {unit.unit}: stopped reporting state"
    never = UnitProgress(uuid4(), 0)
    decision = decide(replace(restarted, units=[never]), {}, NOW)
    assert decision.action is Action.WAIT, "a unit that never reported is still offline"
    late = sent(ago=GATES.confirm_deadline + timedelta(minutes=1))
    assert decide(replace(restarted, units=[late]), {late.unit: online()}, NOW).action is (
        Action.WAIT
    ), "its confirmation may be among the reports still coming in"
    decision = decide(replace(restarted, units=[late]), {late.unit: online()}, later)
    assert decision.action is Action.HALT
    assert "did not report version" in (decision.reason or "")
