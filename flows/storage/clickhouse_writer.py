"""Writes NRecords, TimeWindow and Aggregation rows to ClickHouse, one INSERT per table.

The tables are ReplacingMergeTrees keyed by the row's identity (node, time and ingest id; for
aggregations node, window and function), so inserting a batch again, after a failure that may or
may not have stored it, or on a replay after a crash, replaces rows instead of duplicating them.
"""

from collections.abc import Callable, Sequence

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DataError

from flows.storage.clickhouse_columns import COLUMNS_BY_TABLE, Columns, columns_by_table
from flows.storage.ingested import IngestedRow
from flows.storage.metrics import StorageMetrics, metered_write
from flows.storage.retry import DEFAULT_RETRY, Retrier, RetryPolicy
from flows.storage.writer import WriteResult


def clickhouse_may_heal(error: Exception) -> bool:
    """Errors worth retrying: ClickHouse or the connection failed, not the encoding of a value
    (DataError is raised by the driver before anything is sent) and not our own code."""
    return isinstance(error, ClickHouseError | OSError) and not isinstance(error, DataError)


class ClickHouseWriter:
    tables = frozenset(COLUMNS_BY_TABLE)

    def __init__(
        self,
        client: Client,
        metrics: StorageMetrics | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        *,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self._client = client
        self._metrics = metrics if metrics is not None else StorageMetrics()
        self._retrier = Retrier(retry, clickhouse_may_heal, sleep)

    def write(self, rows: Sequence[IngestedRow]) -> WriteResult:
        """Stores `rows`, retrying each table's INSERT until it succeeds.

        Raises BatchNotStoredError if `stop()` is called while an INSERT keeps failing, and the
        error itself if retrying cannot help (a value that cannot be encoded). Tables written
        before that keep their rows; writing the whole batch again is harmless.
        """
        return self.write_columns(columns_by_table(rows))

    def write_columns(self, tables: dict[str, Columns]) -> WriteResult:
        """`write` for rows already made into each table's columns (`columns_by_table`)."""
        return WriteResult(sum(self._insert(table, columns) for table, columns in tables.items()))

    def stop(self) -> None:
        """Makes a write that is failing give up (from any thread), e.g. on shutdown."""
        self._retrier.stop()

    def _insert(self, table: str, columns: Columns) -> int:
        metrics = self._metrics
        row_count = len(columns[0])
        metered_write(
            self._retrier,
            metrics,
            table,
            row_count,
            lambda: self._client.insert(
                table, columns, column_names=COLUMNS_BY_TABLE[table], column_oriented=True
            ),
        )
        metrics.rows_stored.labels(table).inc(row_count)
        return row_count
