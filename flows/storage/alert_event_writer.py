"""Writes alert events to the notifier's outbox (`alert_events` in the SQL database), batched.

An event's uuid derives from what raised it, so a retried or replayed batch inserts nothing
twice (`ON CONFLICT DO NOTHING`). Events of nodes deleted meanwhile are counted and skipped.
"""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from flows.storage.ingested import IngestedRow
from flows.storage.metrics import metered_write
from flows.storage.sql_writer import SqlWriter
from pepeunit_core.db.models import AlertEvent, UnitNode
from pipelines.alerting import AlertEventRow

TABLE = AlertEventRow.table
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class AlertEventWriter(SqlWriter):
    def write(self, rows: Sequence[IngestedRow]) -> int:
        """Stores the batch (retrying until it succeeds); returns the events inserted."""
        if not rows:
            return 0
        metrics = self._metrics
        inserted, unknown = metered_write(
            self._retrier, metrics, TABLE, len(rows), lambda: self._insert(rows)
        )
        metrics.rows_stored.labels(TABLE).inc(inserted)
        metrics.rows_ignored.labels(TABLE, "unknown_node").inc(unknown)
        return inserted

    def _insert(self, ingested: Sequence[IngestedRow]) -> tuple[int, int]:
        rows = [(item.ingest_id, item.row) for item in ingested]
        with self._session_factory() as session, session.begin():
            nodes = {UUID(row.unit_node_uuid) for _, row in rows if isinstance(row, AlertEventRow)}
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
                if isinstance(row, AlertEventRow) and UUID(row.unit_node_uuid) in existing
            ]
            if not values:
                return 0, len(rows)
            insert = _INSERTS[session.get_bind().dialect.name](AlertEvent)
            # Counted from RETURNING: the rowcount of this ORM insert is -1 on PostgreSQL.
            inserted = session.scalars(
                insert.values(values).on_conflict_do_nothing().returning(AlertEvent.uuid)
            ).all()
            return len(inserted), len(rows) - len(values)
