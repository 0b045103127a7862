"""The bytewax sink: writes each released batch synchronously (with retries), so an epoch
completes only after its rows are stored.

Writers live in named storage partitions. The embedded engine (chdb) may be opened by one
process only, so with it there is one partition, owned by process 0; with a ClickHouse server
every process owns one and the tables are spread over them.
"""

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from flows.metrics import FlowMetrics, observe_all
from flows.storage.writer import StorageWriter
from pepeunit_core.retry import BatchNotStoredError
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.clock import to_epoch_ms
from pipelines.rows import NRecordsRow, TimeWindowRow

logger = logging.getLogger("pepeunit.flow.storage")

TableBatch = list[IngestedRow]
"""Rows of one table, released together by the batching step."""


def storage_partition_name(index: int) -> str:
    return f"storage-{index}"


class Writers:
    """One storage partition's writers (ClickHouse tables, node values, unit states, the alert
    outbox, the nodes' rejected messages), found by the table of the rows to store."""

    def __init__(self, *writers: StorageWriter) -> None:
        self._by_table: dict[str, StorageWriter] = {}
        for writer in writers:
            for table in writer.tables:
                if table in self._by_table:
                    raise ValueError(f"Two storage writers take the table {table}")
                self._by_table[table] = writer

    def for_table(self, table: str) -> StorageWriter:
        writer = self._by_table.get(table)
        if writer is None:
            raise LookupError(f"No storage writer takes the table {table}")
        return writer


class Announcer(Protocol):
    """Tells the API what a written batch holds (`flows.storage.live_events`)."""

    def announce(self, rows: Sequence[IngestedRow]) -> None: ...

    def stop(self) -> None: ...


class StoragePartition(StatefulSinkPartition[TableBatch, None]):
    def __init__(
        self, writers: Writers, metrics: FlowMetrics, announcer: Announcer | None = None
    ) -> None:
        self._writers = writers
        self._metrics = metrics
        self._announcer = announcer

    def write_batch(self, values: list[TableBatch]) -> None:
        for rows in values:
            if rows:
                self._write_isolating_bad_rows(rows)

    def _write(self, rows: TableBatch) -> None:
        """A batch holds rows of one table (the batching step groups them so)."""
        self._writers.for_table(rows[0].row.table).write(rows)
        self._observe_latency(rows)
        if self._announcer is not None:
            self._announcer.announce(rows)

    def _write_isolating_bad_rows(self, rows: TableBatch) -> None:
        """Transient failures are retried inside the writers; what escapes them is a row the
        store refuses for good. Halving finds it, so one bad row costs itself, not its batch,
        and the dataflow never stops on it (a crash would replay it forever)."""
        try:
            self._write(rows)
        except BatchNotStoredError:
            raise  # stopping: the epoch must not complete without these rows
        except Exception:
            if len(rows) == 1:
                logger.exception("%s refused a row for good; dropped: %r", rows[0].row.table,
                                 rows[0].row)  # fmt: skip
                self._metrics.dropped.labels("unwritable").inc()
                return
            middle = len(rows) // 2
            self._write_isolating_bad_rows(rows[:middle])
            self._write_isolating_bad_rows(rows[middle:])

    def _observe_latency(self, rows: TableBatch) -> None:
        if not isinstance(rows[0].row, NRecordsRow | TimeWindowRow):
            return
        histogram = self._metrics.stored_latency.labels(rows[0].row.table)
        stored_ms = time.time_ns() // 1_000_000
        # a batch holds one table's rows
        observe_all(
            histogram,
            [(stored_ms - to_epoch_ms(item.row.create_datetime)) / 1000 for item in rows],  # type: ignore[union-attr]
        )

    def snapshot(self) -> None:
        return None  # nothing to resume: every batch is fully written before the epoch ends

    def close(self) -> None:
        if self._announcer is not None:
            self._announcer.stop()


class StorageSink(FixedPartitionedSink[TableBatch, None]):
    def __init__(
        self,
        local_partitions: list[str],
        open_writers: Callable[[], Writers],
        metrics: FlowMetrics,
        open_announcer: Callable[[], Announcer] | None = None,
    ) -> None:
        self._local_partitions = local_partitions
        self._open_writers = open_writers
        self._metrics = metrics
        self._open_announcer = open_announcer

    def list_parts(self) -> list[str]:
        return self._local_partitions

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> StoragePartition:
        announcer = None if self._open_announcer is None else self._open_announcer()
        return StoragePartition(self._open_writers(), self._metrics, announcer)
