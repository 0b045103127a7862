"""Writes each node's record of rejected messages (`pepeunit_core.pipe_rejections`) to its
`units_nodes` row, batched.

A row carries the node's whole log as the dataflow's recoverable state holds it, so writing it
is idempotent: a replay after a crash rebuilds the same log and writes the same values. The
rows of a node reach the writer in order (one node lives in one worker, and all rows of this
table go through one batcher and one storage partition), so within a batch the last row of a
node wins and it replaces what is stored. Rows for nodes that do not exist are skipped.
"""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import bindparam, update

from flows.storage.metrics import metered_write
from flows.storage.sql_writer import SqlWriter
from flows.storage.writer import WriteResult, count_result, rows_of
from pepeunit_core.db.models import UnitNode
from pepeunit_core.stored_data.rows import IngestedRow, NodeRejectionsRow

TABLE = NodeRejectionsRow.table

_nodes = UnitNode.__table__
_UPDATE = (
    update(_nodes)
    .where(_nodes.c.uuid == bindparam("node_uuid"))
    .values(
        data_pipe_rejected_count=bindparam("new_count"),
        data_pipe_rejections=bindparam("new_log"),
    )
)


def last_per_node(rows: Sequence[NodeRejectionsRow]) -> dict[UUID, NodeRejectionsRow]:
    last: dict[UUID, NodeRejectionsRow] = {}
    for row in rows:
        last[UUID(row.unit_node_uuid)] = row
    return dict(sorted(last.items(), key=lambda item: item[0].int))


class RejectionsWriter(SqlWriter):
    """Ignored rows: `unknown_node`."""

    tables = frozenset({TABLE})

    def write(self, rows: Sequence[IngestedRow]) -> WriteResult:
        """Stores the batch, retrying until it succeeds (BatchNotStoredError after `stop()`);
        `stored` counts the nodes updated."""
        last = last_per_node(rows_of(rows, NodeRejectionsRow))
        if not last:
            return WriteResult(0)
        parameters = [
            {"node_uuid": node, "new_count": row.rejected_count, "new_log": row.stored_log}
            for node, row in last.items()
        ]
        updated = metered_write(
            self._retrier, self._metrics, TABLE, len(last), lambda: self._update(parameters)
        )
        ignored = {"unknown_node": len(last) - updated}
        return count_result(self._metrics, TABLE, WriteResult(updated, ignored))

    def _update(self, parameters: list[dict[str, object]]) -> int:
        with self._session_factory() as session, session.begin():
            result = session.execute(_UPDATE, parameters)
            return int(result.rowcount)
