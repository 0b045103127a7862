"""Storage rows produced by the policies, with the reference table and column names.

Values, never changed after creation; not `frozen` only because frozen dataclasses cost about
a microsecond more per row on the hot path.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(slots=True)
class LastValueRow:
    """The node's `state` / `last_update_datetime` in the SQL database."""

    table: ClassVar[str] = "last_value"
    unit_node_uuid: str
    state: str
    last_update_datetime: datetime


@dataclass(slots=True)
class NRecordsRow:
    table: ClassVar[str] = "n_last_entry"
    unit_node_uuid: str
    state: str
    state_type: str
    create_datetime: datetime
    max_count: int
    size: int


@dataclass(slots=True)
class TimeWindowRow:
    table: ClassVar[str] = "window_entry"
    unit_node_uuid: str
    state: str
    state_type: str
    create_datetime: datetime
    expiration_datetime: datetime
    """`create_datetime` + window size, truncated to whole seconds (a `DateTime` column)."""
    size: int


@dataclass(slots=True)
class AggregationRow:
    table: ClassVar[str] = "aggregation_entry"
    unit_node_uuid: str
    state: float
    aggregation_type: str
    time_window_size: int
    create_datetime: datetime
    """When the window closed, i.e. its end: deterministic, so a replayed window is the same row."""
    start_window_datetime: datetime
    end_window_datetime: datetime


Row = LastValueRow | NRecordsRow | TimeWindowRow | AggregationRow
TABLES: tuple[str, ...] = (
    LastValueRow.table,
    NRecordsRow.table,
    TimeWindowRow.table,
    AggregationRow.table,
)
