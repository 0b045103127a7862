"""Writes NRecords, TimeWindow, Aggregation and unit log rows to ClickHouse, one INSERT per
table (`pepeunit_core.stored_data.clickhouse_insert`), retried and metered: inserting a batch
again replaces its rows instead of duplicating them.
"""

from collections.abc import Callable, Sequence

from clickhouse_connect.driver.client import Client

from flows.storage.metrics import StorageMetrics, metered_write
from flows.storage.writer import WriteResult
from pepeunit_core.retry import DEFAULT_RETRY, Retrier, RetryPolicy
from pepeunit_core.stored_data.clickhouse_columns import COLUMNS_BY_TABLE, Columns, columns_by_table
from pepeunit_core.stored_data.clickhouse_insert import clickhouse_may_heal, insert_columns
from pepeunit_core.stored_data.rows import IngestedRow


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
            lambda: insert_columns(self._client, table, columns),
        )
        metrics.rows_stored.labels(table).inc(row_count)
        return row_count
