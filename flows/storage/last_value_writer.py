"""Writes LastValue rows to the node rows of the SQL database (`units_nodes`), batched.

Per node only the newest value of a batch is written (by `last_update_datetime`; equal times:
the later row of the batch), with one UPDATE for the whole batch that never replaces a stored
value that is newer. Rows for nodes that do not exist are counted and skipped.
"""

from collections.abc import Callable, Sequence
from uuid import UUID

from sqlalchemy.orm import Session

from flows.storage.metrics import StorageMetrics, metered_write
from flows.storage.node_value_updates import (
    NodeValue,
    NodeValueUpdate,
    count_existing_nodes,
    node_value_update,
)
from flows.storage.sql_writer import SqlWriter
from flows.storage.writer import WriteResult, count_result, rows_of
from pepeunit_core.retry import DEFAULT_RETRY, RetryPolicy
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.rows import LastValueRow

TABLE = LastValueRow.table


def newest_per_node(rows: Sequence[LastValueRow]) -> list[NodeValue]:
    """Each node's newest row, in uuid order."""
    newest: dict[UUID, LastValueRow] = {}
    for row in rows:
        if row.last_update_datetime.utcoffset() is None:
            raise ValueError(f"naive last_update_datetime in {row!r}: it must have a zone")
        node = UUID(row.unit_node_uuid)
        kept = newest.get(node)
        if kept is None or row.last_update_datetime >= kept.last_update_datetime:
            newest[node] = row
    return sorted(newest.items(), key=lambda item: item[0].int)


class LastValueWriter(SqlWriter):
    """Ignored rows: `unknown_node`; `stale`, nodes whose stored value was already newer (a
    replay, or another process was ahead); `superseded`, rows replaced by a newer row for the
    same node within the batch."""

    tables = frozenset({TABLE})

    def __init__(
        self,
        session_factory: Callable[[], Session],
        metrics: StorageMetrics | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        *,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__(session_factory, metrics, retry, sleep=sleep)
        self._dialect_name: str | None = None

    def write(self, rows: Sequence[IngestedRow]) -> WriteResult:
        """Stores the batch, retrying until it succeeds.

        Raises BatchNotStoredError if `stop()` is called while the UPDATE keeps failing, and
        the error itself if retrying cannot help (e.g. PostgreSQL refuses a NUL character).
        """
        last_values = rows_of(rows, LastValueRow)
        values = newest_per_node(last_values)
        if not values:
            return WriteResult(0)
        update = node_value_update(self._dialect(), values)
        updated, unknown = metered_write(
            self._retrier, self._metrics, TABLE, len(values), lambda: self._update(update, values)
        )
        ignored = {
            "unknown_node": unknown,
            "stale": len(values) - updated - unknown,
            "superseded": len(last_values) - len(values),
        }
        return count_result(self._metrics, TABLE, WriteResult(updated, ignored))

    def _dialect(self) -> str:
        if self._dialect_name is None:
            with self._session_factory() as session:
                self._dialect_name = session.get_bind().dialect.name
        return self._dialect_name

    def _update(self, update: NodeValueUpdate, values: Sequence[NodeValue]) -> tuple[int, int]:
        """(nodes updated, nodes unknown), in one transaction."""
        with self._session_factory() as session, session.begin():
            updated = update.run(session)
            unknown = 0
            if updated < len(values):
                unknown = len(values) - count_existing_nodes(session, [node for node, _ in values])
            return updated, unknown
