"""One node's pipeline: active period → filters → transformations → processing policy.

Plain Python with no I/O. The caller owns each node's `NodeMemory` (so the live dataflow can keep
it in recoverable state) and the clock (`now`, a timezone-aware datetime).
"""

from dataclasses import dataclass, field
from datetime import datetime

from pipelines import rejections
from pipelines.aggregation import OpenWindows
from pipelines.alerting import AlertEventRow, AlertMemory, CompiledAlerts
from pipelines.clock import from_epoch_ms, to_epoch_ms, truncate_to_ms
from pipelines.config import PipelineConfig, PolicyType
from pipelines.filters import CompiledFilters, FilterMemory
from pipelines.numbers import parse_finite_float
from pipelines.rejections import Rejection
from pipelines.rows import AggregationRow, LastValueRow, NRecordsRow, Row, TimeWindowRow
from pipelines.transformations import CompiledTransformations


@dataclass(slots=True)
class NodeMemory:
    """Everything a node's pipeline remembers between messages; survives config changes."""

    filter_memory: FilterMemory = field(default_factory=FilterMemory)
    open_windows: OpenWindows = field(default_factory=OpenWindows)
    alerts: AlertMemory = field(default_factory=AlertMemory)

    def copy(self) -> "NodeMemory":
        """An independent copy (a snapshot for recovery), much cheaper than deepcopy."""
        memory = self.filter_memory
        return NodeMemory(
            FilterMemory(memory.last_accepted_ms, memory.last_accepted_raw),
            self.open_windows.copy(),
            self.alerts.copy(),
        )


@dataclass(slots=True)
class ProcessResult:
    rows: list[Row]
    """Rows to store: aggregation windows that closed, then the row of this message (if any)."""
    rejection: Rejection | None = None
    alerts: list[AlertEventRow] = field(default_factory=list)
    """Alerts and recoveries the accepted value raised."""

    @property
    def accepted(self) -> bool:
        return self.rejection is None


class Pipeline:
    """A node's validated config, compiled for the hot path."""

    __slots__ = (
        "_active_period",
        "_alerts",
        "_explanations",
        "_filters",
        "_policy",
        "_state_type",
        "_transformations",
        "_window_ms",
        "config",
        "unit_node_uuid",
    )

    def __init__(self, unit_node_uuid: str, config: PipelineConfig) -> None:
        self.unit_node_uuid = unit_node_uuid
        self.config = config
        self._active_period = config.active_period
        self._filters = CompiledFilters(config.filters)
        self._state_type = config.filters.type_input_value.value
        self._transformations = (
            CompiledTransformations(config.transformations, config.filters.type_input_value)
            if config.transformations is not None
            else None
        )
        self._policy = config.processing_policy
        size = self._policy.time_window_size
        self._window_ms = size * 1000 if size is not None else None
        self._alerts = CompiledAlerts(unit_node_uuid, config.alerts) if config.alerts else None
        self._explanations: dict[Rejection, str] = {}

    def explain(self, rejection: Rejection) -> str:
        """Why this pipeline's rule rejects a message (built once per rule)."""
        explanation = self._explanations.get(rejection)
        if explanation is None:
            explanation = self._explanations[rejection] = rejections.explain(rejection, self.config)
        return explanation

    @property
    def watches_time(self) -> bool:
        """Whether the pipeline acts on the passing of time (windows close, offline rules)."""
        is_aggregation = self._policy.policy_type is PolicyType.AGGREGATION
        return is_aggregation or (self._alerts is not None and self._alerts.has_offline)

    def process(
        self, memory: NodeMemory, payload: str, now: datetime, message_id: int | None = None
    ) -> ProcessResult:
        """Runs one message received at `now` through the pipeline; `message_id` identifies
        the message, and so the alert events it raises (see `CompiledAlerts.on_value`)."""
        return self.process_at(memory, payload, to_epoch_ms(truncate_to_ms(now)), message_id)

    def process_at(
        self, memory: NodeMemory, payload: str, now_ms: int, message_id: int | None = None
    ) -> ProcessResult:
        """`process` on the epoch-milliseconds clock (the dataflow's), which makes no datetime
        unless a stored row needs one."""
        rows: list[Row] = []
        windows = memory.open_windows
        if windows.earliest_end_ms is not None and now_ms >= windows.earliest_end_ms:
            rows.extend(windows.close_due(now_ms, self.unit_node_uuid))
        if not self._active_period.is_active_at(now_ms):
            return ProcessResult(rows, rejections.INACTIVE_PERIOD)
        rejection = self._filters.check(payload, now_ms, memory.filter_memory)
        if rejection is not None:
            return ProcessResult(rows, rejection)
        value = payload
        if self._transformations is not None:
            transformed = self._transformations.apply(payload)
            if transformed is None:
                return ProcessResult(rows, rejections.NON_FINITE_RESULT)
            value = transformed
        rejection = self._store(memory, value, now_ms, rows)
        if rejection is not None:
            return ProcessResult(rows, rejection)
        filter_memory = memory.filter_memory
        filter_memory.last_accepted_ms = now_ms
        filter_memory.last_accepted_raw = payload
        if self._alerts is None:
            return ProcessResult(rows)
        alerts = self._alerts.on_value(memory.alerts, value, now_ms, message_id)
        return ProcessResult(rows, alerts=alerts)

    def on_time(self, memory: NodeMemory, now_ms: int) -> list[AlertEventRow]:
        """Offline alerts due when the clock reaches `now_ms` (none without such rules)."""
        if self._alerts is None:
            return []
        return self._alerts.on_time(memory.alerts, now_ms)

    def close_due_windows(self, memory: NodeMemory, now: datetime) -> list[AggregationRow]:
        """Rows of the node's aggregation windows that ended at or before `now`."""
        return memory.open_windows.close_due(to_epoch_ms(now), self.unit_node_uuid)

    def _store(
        self, memory: NodeMemory, value: str, now_ms: int, rows: list[Row]
    ) -> Rejection | None:
        policy = self._policy
        match policy.policy_type:
            case PolicyType.LAST_VALUE:
                rows.append(LastValueRow(self.unit_node_uuid, value, from_epoch_ms(now_ms)))
            case PolicyType.N_RECORDS:
                assert policy.n_records_count is not None
                rows.append(
                    NRecordsRow(
                        self.unit_node_uuid,
                        value,
                        self._state_type,
                        from_epoch_ms(now_ms),
                        policy.n_records_count,
                        _utf8_size(value),
                    )
                )
            case PolicyType.TIME_WINDOW:
                assert self._window_ms is not None
                now = from_epoch_ms(now_ms)
                # expiration_datetime is a `DateTime` column: whole seconds
                expiration_ms = (now_ms + self._window_ms) // 1000 * 1000
                rows.append(
                    TimeWindowRow(
                        self.unit_node_uuid,
                        value,
                        self._state_type,
                        now,
                        from_epoch_ms(expiration_ms),
                        _utf8_size(value),
                    )
                )
            case PolicyType.AGGREGATION:
                assert policy.time_window_size is not None
                assert policy.aggregation_functions is not None
                number = parse_finite_float(value)
                if number is None:
                    return rejections.AGGREGATED_NOT_A_NUMBER
                if not memory.open_windows.add(
                    now_ms, number, policy.time_window_size, policy.aggregation_functions
                ):
                    return rejections.WINDOW_ALREADY_CLOSED
        return None


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))
