"""What an owner can do to a rollout by hand, and in which status (docs/api.md#rollouts).

| command  | from                                               | to          |
|----------|----------------------------------------------------|-------------|
| pause    | Pending, Running                                   | Paused      |
| resume   | Paused                                             | Running     |
| abort    | Pending, Running, Paused, Halted                   | Aborted     |
| rollback | Running, Paused, Halted, Aborted, Completed        | RolledBack  |

Resume continues the stage where it stood (a unit's confirmation deadline counts from its
Update, so a long pause can fail units that were still confirming). Abort sends nothing more and
leaves every unit where it is; rollback sends every unit the rollout updated back to the
version it ran before.
"""

from enum import StrEnum

from control_plane.services.errors import RolloutError
from pepeunit_core.db.enums import RolloutStatus


class RolloutCommand(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"
    ROLLBACK = "rollback"


_ALLOWED: dict[RolloutCommand, tuple[frozenset[RolloutStatus], RolloutStatus]] = {
    RolloutCommand.PAUSE: (
        frozenset({RolloutStatus.PENDING, RolloutStatus.RUNNING}),
        RolloutStatus.PAUSED,
    ),
    RolloutCommand.RESUME: (frozenset({RolloutStatus.PAUSED}), RolloutStatus.RUNNING),
    RolloutCommand.ABORT: (
        frozenset(
            {
                RolloutStatus.PENDING,
                RolloutStatus.RUNNING,
                RolloutStatus.PAUSED,
                RolloutStatus.HALTED,
            }
        ),
        RolloutStatus.ABORTED,
    ),
    RolloutCommand.ROLLBACK: (
        frozenset(
            {
                RolloutStatus.RUNNING,
                RolloutStatus.PAUSED,
                RolloutStatus.HALTED,
                RolloutStatus.ABORTED,
                RolloutStatus.COMPLETED,
            }
        ),
        RolloutStatus.ROLLED_BACK,
    ),
}


def status_after(status: RolloutStatus, command: RolloutCommand) -> RolloutStatus:
    """The status `command` moves a rollout in `status` to; RolloutError if it cannot."""
    allowed, target = _ALLOWED[command]
    if status not in allowed:
        raise RolloutError(f"A rollout that is {status.value} cannot {command.value}")
    return target
