"""The rows the dataflow stores besides the pipeline rows (`pipelines.rows`): those made from
unit reports and a node's record of rejected messages; and any row to store tagged with the
MQTT message it came from."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from pipelines.alerting import AlertEventRow
from pipelines.rows import Row


@dataclass(slots=True)
class UnitStateRow:
    """A unit's accepted state report, for its `units` row in the SQL database."""

    table: ClassVar[str] = "unit_state"
    unit_uuid: str
    unit_state_dict: str
    """The reserved keys only, as JSON text."""
    commit_version: str | None
    received_datetime: datetime


@dataclass(slots=True)
class UnitLogRow:
    """One log entry, for ClickHouse `unit_logs`."""

    table: ClassVar[str] = "unit_logs"
    uuid: str
    """Derived from the message and the entry's index: a replayed entry is the same row."""
    level: str
    unit_uuid: str
    text: str
    create_datetime: datetime
    expiration_datetime: datetime


@dataclass(slots=True)
class NodeRejectionsRow:
    """A node's record of rejected messages, for its `units_nodes` row."""

    table: ClassVar[str] = "data_pipe_rejections"
    unit_node_uuid: str
    rejected_count: int
    stored_log: str
    """`RejectionLog.to_stored()`."""


StoredRow = Row | UnitStateRow | UnitLogRow | AlertEventRow | NodeRejectionsRow


@dataclass(slots=True)
class IngestedRow:
    ingest_id: int
    """Identifies the message that produced the row, the same on every replay, so a replayed
    insert replaces the stored row instead of adding one. Aggregation rows ignore it: their
    identity is node + window + size + function."""
    row: StoredRow
