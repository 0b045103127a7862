"""Stage plans and the manual transitions of a rollout (pure)."""

from uuid import uuid4

import pytest

from control_plane.services.errors import RolloutError
from control_plane.services.rollouts.stage_plan import StageSize, assign_stages
from control_plane.services.rollouts.transitions import RolloutCommand, status_after
from pepeunit_core.db.enums import RolloutStageSize, RolloutStatus

UNITS = RolloutStageSize.UNITS
PERCENT = RolloutStageSize.PERCENT
ALL = StageSize(PERCENT, 100)


def stage_counts(unit_count: int, sizes: list[StageSize]) -> list[int]:
    units = [uuid4() for _ in range(unit_count)]
    stages = assign_stages(units, sizes)
    assert list(stages) == units, "every unit gets a stage, in the order given"
    assert sorted(stages.values()) == list(stages.values()), "stages follow the unit order"
    return [list(stages.values()).count(position) for position in range(len(sizes))]


@pytest.mark.parametrize(
    ("unit_count", "sizes", "counts"),
    [
        (10, [StageSize(UNITS, 1), StageSize(PERCENT, 50), ALL], [1, 4, 5]),
        (10, [StageSize(PERCENT, 10), StageSize(PERCENT, 50), ALL], [1, 4, 5]),
        (3, [StageSize(PERCENT, 10), ALL], [1, 2]),
        (10, [StageSize(UNITS, 6), StageSize(PERCENT, 50), ALL], [6, 0, 4]),
        (2, [StageSize(UNITS, 5), ALL], [2, 0]),
        (0, [StageSize(UNITS, 1), ALL], [0, 0]),
        (5, [ALL], [5]),
        (7, [StageSize(PERCENT, 0), ALL], [0, 7]),
    ],
    ids=[
        "canary, half, all",
        "percent canary",
        "percent rounds up",
        "a share already reached",
        "more units asked than there are",
        "no units",
        "one stage",
        "zero percent",
    ],
)
def test_stages_take_units_in_order(unit_count, sizes, counts):
    assert stage_counts(unit_count, sizes) == counts


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ([], "A rollout needs at least one stage"),
        ([StageSize(UNITS, 2)], "The last stage must reach 100 % of the units"),
        ([StageSize(PERCENT, 50)], "The last stage must reach 100 % of the units"),
        ([ALL, StageSize(UNITS, 1)], "The last stage must reach 100 % of the units"),
        ([StageSize(UNITS, -1), ALL], "Stage 0: the size cannot be negative"),
        ([StageSize(PERCENT, 101)], "Stage 0: a percentage cannot exceed 100"),
        (
            [StageSize(PERCENT, 50), StageSize(PERCENT, 20), ALL],
            "Stage 1: 20 % is less than the 50 % an earlier stage reaches "
            "(percentages count all units updated so far)",
        ),
    ],
)
def test_a_stage_list_that_cannot_update_every_unit_is_refused(sizes, message):
    with pytest.raises(RolloutError) as refused:
        assign_stages([uuid4()], sizes)
    assert refused.value.message == message


EVERY_STATUS = list(RolloutStatus)
ALLOWED = {
    RolloutCommand.PAUSE: {
        RolloutStatus.PENDING: RolloutStatus.PAUSED,
        RolloutStatus.RUNNING: RolloutStatus.PAUSED,
    },
    RolloutCommand.RESUME: {RolloutStatus.PAUSED: RolloutStatus.RUNNING},
    RolloutCommand.ABORT: {
        status: RolloutStatus.ABORTED
        for status in (
            RolloutStatus.PENDING,
            RolloutStatus.RUNNING,
            RolloutStatus.PAUSED,
            RolloutStatus.HALTED,
        )
    },
    RolloutCommand.ROLLBACK: {
        status: RolloutStatus.ROLLED_BACK
        for status in (
            RolloutStatus.RUNNING,
            RolloutStatus.PAUSED,
            RolloutStatus.HALTED,
            RolloutStatus.ABORTED,
            RolloutStatus.COMPLETED,
        )
    },
}


@pytest.mark.parametrize("command", list(RolloutCommand))
@pytest.mark.parametrize("status", EVERY_STATUS)
def test_each_command_moves_only_the_statuses_it_applies_to(command, status):
    expected = ALLOWED[command].get(status)
    if expected is not None:
        assert status_after(status, command) is expected
        return
    with pytest.raises(RolloutError) as refused:
        status_after(status, command)
    assert refused.value.message == f"A rollout that is {status.value} cannot {command.value}"
