"""Writes alert events to the notifier's outbox (`alert_events` in the SQL database), batched.

An event's uuid derives from what raised it, so a retried or replayed batch inserts nothing
twice (`ON CONFLICT DO NOTHING`). Events of nodes deleted meanwhile are counted and skipped.
"""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from flows.storage.metrics import metered_write
from flows.storage.sql_writer import SqlWriter
from flows.storage.writer import WriteResult, count_result, rows_of
from pepeunit_core.db.models import AlertEvent, UnitNode
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.alerting import AlertEventRow

TABLE = AlertEventRow.table
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class AlertEventWriter(SqlWriter):
    """Ignored rows: `unknown_node`. An event stored before (a replay) is neither stored nor
    ignored."""

    tables = frozenset({TABLE})

    def write(self, rows: Sequence[IngestedRow]) -> WriteResult:
        """Stores the batch (retrying until it succeeds); `stored` counts the events inserted."""
        ingest_ids = [item.ingest_id for item in rows]
        events = list(zip(ingest_ids, rows_of(rows, AlertEventRow), strict=True))
        if not events:
            return WriteResult(0)
        inserted, unknown = metered_write(
            self._retrier, self._metrics, TABLE, len(events), lambda: self._insert(events)
        )
        return count_result(self._metrics, TABLE, WriteResult(inserted, {"unknown_node": unknown}))

    def _insert(self, rows: Sequence[tuple[int, AlertEventRow]]) -> tuple[int, int]:
        """(events inserted, events of unknown nodes), in one transaction; `rows` pairs each
        event with its ingest id, kept as its sequence in the outbox."""
        with self._session_factory() as session, session.begin():
            nodes = {UUID(row.unit_node_uuid) for _, row in rows}
            existing = set(session.scalars(select(UnitNode.uuid).where(UnitNode.uuid.in_(nodes))))
            values = [
                {
                    "uuid": UUID(row.uuid),
                    "unit_node_uuid": UUID(row.unit_node_uuid),
                    "rule_name": row.rule_name,
                    "kind": row.kind,
                    "value": row.value,
                    "message": row.message,
                    "event_datetime": row.event_datetime,
                    "sequence": sequence,
                }
                for sequence, row in rows
                if UUID(row.unit_node_uuid) in existing
            ]
            if not values:
                return 0, len(rows)
            insert = _INSERTS[session.get_bind().dialect.name](AlertEvent)
            # Counted from RETURNING: the rowcount of this ORM insert is -1 on PostgreSQL.
            inserted = session.scalars(
                insert.values(values).on_conflict_do_nothing().returning(AlertEvent.uuid)
            ).all()
            return len(inserted), len(rows) - len(values)
