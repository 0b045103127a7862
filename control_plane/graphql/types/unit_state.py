"""1.x's `UnitStateType`: the reserved keys of a unit's last state report."""

import strawberry

from control_plane.models.unit import UnitStateRead


@strawberry.type
class UnitStateType:
    ifconfig: list[str]
    millis: float | None
    mem_free: float | None
    mem_alloc: float | None
    freq: float | None
    statvfs: list[float]
    pu_commit_version: str | None

    @classmethod
    def of(cls, state: UnitStateRead) -> "UnitStateType":
        return cls(
            ifconfig=[item if isinstance(item, str) else str(item) for item in state.ifconfig],
            millis=state.millis,
            mem_free=state.mem_free,
            mem_alloc=state.mem_alloc,
            freq=state.freq,
            statvfs=[
                float(item)
                for item in state.statvfs
                if isinstance(item, int | float) and not isinstance(item, bool)
            ],
            pu_commit_version=state.pu_commit_version,
        )
