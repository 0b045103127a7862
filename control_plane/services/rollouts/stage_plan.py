"""Which units go in which stage: pure, so the plan is fixed when the rollout is created."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from control_plane.services.errors import RolloutError
from pepeunit_core.db.enums import RolloutStageSize

FULL_PERCENT = 100


@dataclass(frozen=True, slots=True)
class StageSize:
    kind: RolloutStageSize
    value: int


def check_stage_sizes(sizes: Sequence[StageSize]) -> None:
    """Refuses a stage list that is empty, goes backwards, or does not end with every unit."""
    if not sizes:
        raise RolloutError("A rollout needs at least one stage")
    previous_percent = 0
    for position, size in enumerate(sizes):
        if size.value < 0:
            raise RolloutError(f"Stage {position}: the size cannot be negative")
        if size.kind is RolloutStageSize.PERCENT:
            if size.value > FULL_PERCENT:
                raise RolloutError(f"Stage {position}: a percentage cannot exceed 100")
            if size.value < previous_percent:
                raise RolloutError(
                    f"Stage {position}: {size.value} % is less than the {previous_percent} % "
                    "an earlier stage reaches (percentages count all units updated so far)"
                )
            previous_percent = size.value
    last = sizes[-1]
    if (last.kind, last.value) != (RolloutStageSize.PERCENT, FULL_PERCENT):
        raise RolloutError("The last stage must reach 100 % of the units")


def assign_stages(units: Sequence[UUID], sizes: Sequence[StageSize]) -> dict[UUID, int]:
    """Each unit's stage, in the order given: a `Units` stage takes that many more units, a
    `Percent` stage takes units until that share of all of them (rounded up) is reached."""
    check_stage_sizes(sizes)
    stages: dict[UUID, int] = {}
    taken = 0
    for position, size in enumerate(sizes):
        if size.kind is RolloutStageSize.UNITS:
            end = taken + size.value
        else:
            end = math.ceil(len(units) * size.value / FULL_PERCENT)
        end = min(max(end, taken), len(units))
        for unit in units[taken:end]:
            stages[unit] = position
        taken = end
    return stages
