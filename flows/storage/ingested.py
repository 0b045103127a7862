"""A row to store (from a pipeline or a unit report) tagged with the MQTT message it came
from."""

from dataclasses import dataclass

from flows.storage.node_rejections_row import NodeRejectionsRow
from flows.units.rows import UnitLogRow, UnitStateRow
from pipelines.alerting import AlertEventRow
from pipelines.rows import Row

StoredRow = Row | UnitStateRow | UnitLogRow | AlertEventRow | NodeRejectionsRow


@dataclass(slots=True)
class IngestedRow:
    ingest_id: int
    """Identifies the message that produced the row, the same on every replay, so a replayed
    insert replaces the stored row instead of adding one. Aggregation rows ignore it: their
    identity is node + window + size + function."""
    row: StoredRow
