"""A row to store (from a pipeline or a unit report) tagged with the MQTT message it came
from."""

from dataclasses import dataclass

from flows.pipelines.alerting import AlertEventRow
from flows.pipelines.rows import Row
from flows.storage.rejections_writer import NodeRejectionsRow
from flows.units.rows import UnitLogRow, UnitStateRow

StoredRow = Row | UnitStateRow | UnitLogRow | AlertEventRow | NodeRejectionsRow


@dataclass(slots=True)
class IngestedRow:
    ingest_id: int
    """Identifies the message that produced the row, the same on every replay, so a replayed
    insert replaces the stored row instead of adding one. Aggregation rows ignore it: their
    identity is node + window + size + function."""
    row: StoredRow
