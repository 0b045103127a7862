"""The bytewax sink: writes each released batch synchronously (with retries), so an epoch
completes only after its rows are stored."""

from collections.abc import Callable

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from flows.pipelines.rows import LastValueRow
from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.ingested import IngestedRow
from flows.storage.last_value_writer import LastValueWriter

TableBatch = tuple[str, list[IngestedRow]]


class _StoragePartition(StatelessSinkPartition[TableBatch]):
    def __init__(self, clickhouse: ClickHouseWriter, last_values: LastValueWriter) -> None:
        self._clickhouse = clickhouse
        self._last_values = last_values

    def write_batch(self, items: list[TableBatch]) -> None:
        for table, rows in items:
            if table == LastValueRow.table:
                self._last_values.write([r.row for r in rows if isinstance(r.row, LastValueRow)])
            else:
                self._clickhouse.write(rows)


class StorageSink(DynamicSink[TableBatch]):
    def __init__(
        self, open_writers: Callable[[], tuple[ClickHouseWriter, LastValueWriter]]
    ) -> None:
        self._open_writers = open_writers

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _StoragePartition:
        return _StoragePartition(*self._open_writers())
