"""Collects rows per table into write batches: a batch is released when it holds `max_rows`
rows or when its first row has waited `max_wait`, whichever comes first. Unwritten rows are
part of the recoverable state, and end of input releases everything (clean shutdown)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from bytewax.operators import StatefulBatchLogic

T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class PendingBatch(Generic[T]):
    rows: list[T] = field(default_factory=list)
    deadline: datetime | None = None


class RowBatcher(StatefulBatchLogic[list[T], list[T], PendingBatch[T]]):
    """Takes rows in lists (each the rows of one node or unit step)."""

    def __init__(
        self,
        max_rows: int,
        max_wait: timedelta,
        pending: PendingBatch[T] | None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._max_rows = max_rows
        self._max_wait = max_wait
        self._now = now
        self._pending: PendingBatch[T] = pending or PendingBatch()

    def on_batch(self, values: list[list[T]]) -> tuple[Iterable[list[T]], bool]:
        pending = self._pending
        if not pending.rows:
            pending.deadline = self._now() + self._max_wait
        for rows in values:
            pending.rows.extend(rows)
        if len(pending.rows) < self._max_rows:
            return (), StatefulBatchLogic.RETAIN
        rows, size = pending.rows, self._max_rows
        full = [rows[start : start + size] for start in range(0, len(rows) - size + 1, size)]
        pending.rows = rows[len(full) * size :]
        if not pending.rows:
            pending.deadline = None
        return full, StatefulBatchLogic.RETAIN

    def on_notify(self) -> tuple[Iterable[list[T]], bool]:
        return self._release()

    def on_eof(self) -> tuple[Iterable[list[T]], bool]:
        return self._release()

    def _release(self) -> tuple[Iterable[list[T]], bool]:
        rows = self._pending.rows
        self._pending = PendingBatch()
        return ([rows] if rows else []), StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        return self._pending.deadline

    def snapshot(self) -> PendingBatch[T]:
        return PendingBatch(list(self._pending.rows), self._pending.deadline)
