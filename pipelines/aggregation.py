"""Aggregation windows: `[start, end)` aligned to UTC multiples of the window size, one
accumulator per open window and node, emitted once when the clock reaches the window's end.
Windows without values produce no row.
"""

from dataclasses import dataclass, field, replace

from pipelines.clock import from_epoch_ms
from pipelines.config import AggregationFunction
from pipelines.rows import AggregationRow

_MS_PER_SECOND = 1000


def window_bounds_ms(epoch_ms: int, window_size_s: int) -> tuple[int, int]:
    """The `[start, end)` window, in epoch milliseconds, that contains `epoch_ms`."""
    size_ms = window_size_s * _MS_PER_SECOND
    start = epoch_ms - epoch_ms % size_ms
    return start, start + size_ms


@dataclass(slots=True)
class WindowAccumulator:
    function: AggregationFunction
    window_size_s: int
    start_ms: int
    end_ms: int
    count: int = 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)

    def result(self) -> float:
        match self.function:
            case AggregationFunction.AVG:
                return self.total / self.count
            case AggregationFunction.MIN:
                return self.minimum
            case AggregationFunction.MAX:
                return self.maximum
            case AggregationFunction.SUM:
                return self.total
        raise AssertionError(f"unknown aggregation function {self.function}")

    def to_row(self, unit_node_uuid: str) -> AggregationRow:
        end = from_epoch_ms(self.end_ms)
        return AggregationRow(
            unit_node_uuid=unit_node_uuid,
            state=self.result(),
            aggregation_type=self.function.value,
            time_window_size=self.window_size_s,
            create_datetime=end,
            start_window_datetime=from_epoch_ms(self.start_ms),
            end_window_datetime=end,
        )


@dataclass(slots=True)
class OpenWindows:
    """A node's open aggregation windows, keyed by (window size, start), and the end of the
    last window emitted: a window is never reopened once emitted."""

    by_key: dict[tuple[int, int], WindowAccumulator] = field(default_factory=dict)
    closed_until_ms: int = 0
    earliest_end_ms: int | None = None

    def add(
        self, epoch_ms: int, value: float, window_size_s: int, function: AggregationFunction
    ) -> bool:
        """Adds `value` to its window; False if that window was already emitted."""
        if epoch_ms < self.closed_until_ms:
            return False
        start, end = window_bounds_ms(epoch_ms, window_size_s)
        key = (window_size_s, start)
        accumulator = self.by_key.get(key)
        if accumulator is None:
            accumulator = WindowAccumulator(function, window_size_s, start, end)
            self.by_key[key] = accumulator
            if self.earliest_end_ms is None or end < self.earliest_end_ms:
                self.earliest_end_ms = end
        accumulator.add(value)
        return True

    def close_due(self, now_ms: int, unit_node_uuid: str) -> list[AggregationRow]:
        """Rows of every window whose end is at or before `now_ms`, oldest first."""
        if self.earliest_end_ms is None or now_ms < self.earliest_end_ms:
            return []
        due = [key for key, window in self.by_key.items() if window.end_ms <= now_ms]
        closed = sorted((self.by_key.pop(key) for key in due), key=lambda w: (w.end_ms, w.start_ms))
        self.closed_until_ms = max(self.closed_until_ms, closed[-1].end_ms)
        self.earliest_end_ms = min((w.end_ms for w in self.by_key.values()), default=None)
        return [window.to_row(unit_node_uuid) for window in closed]

    def copy(self) -> "OpenWindows":
        """An independent copy (a snapshot for recovery), much cheaper than deepcopy."""
        return OpenWindows(
            {key: replace(window) for key, window in self.by_key.items()},
            self.closed_until_ms,
            self.earliest_end_ms,
        )

    def latest_end_ms(self) -> int | None:
        return max((window.end_ms for window in self.by_key.values()), default=None)
