"""Writes accepted unit state reports to the `units` rows of the SQL database, batched, and
moves the firmware update status along (docs/compatibility.md#state-and-log-reports,
docs/compatibility.md#firmware-archives):

- RequestSent and the reported `pu_commit_version` is the commit the Update asked for →
  Success (the request time is cleared);
- RequestSent, another version, and more than twice `PU_STATE_SEND_INTERVAL` since the request →
  Error, with a message naming both versions.

Per unit only the newest report of a batch counts, and a report older than what the row
already holds (a replay) changes nothing. Reports of units that do not exist are counted and
skipped.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.storage.metrics import StorageMetrics, metered_write
from flows.storage.sql_writer import SqlWriter
from flows.storage.writer import WriteResult, count_result, rows_of
from pepeunit_core.db.enums import FirmwareUpdateStatus
from pepeunit_core.db.models import Unit
from pepeunit_core.retry import DEFAULT_RETRY, RetryPolicy
from pepeunit_core.stored_data.rows import IngestedRow, UnitStateRow

TABLE = UnitStateRow.table


def newest_per_unit(rows: Sequence[UnitStateRow]) -> dict[UUID, UnitStateRow]:
    newest: dict[UUID, UnitStateRow] = {}
    for row in rows:
        unit = UUID(row.unit_uuid)
        kept = newest.get(unit)
        if kept is None or row.received_datetime >= kept.received_datetime:
            newest[unit] = row
    return newest


def apply_state_report(unit: Unit, row: UnitStateRow, update_timeout: timedelta) -> None:
    unit.unit_state_dict = row.unit_state_dict
    unit.current_commit_version = row.commit_version
    unit.last_update_datetime = row.received_datetime
    unit.last_state_report_datetime = row.received_datetime
    if unit.firmware_update_status is not FirmwareUpdateStatus.REQUEST_SENT:
        return
    target = unit.firmware_update_target_commit
    if target is not None and row.commit_version == target:
        unit.firmware_update_status = FirmwareUpdateStatus.SUCCESS
        unit.firmware_update_error = None
        unit.last_firmware_update_datetime = None
        return
    requested = unit.last_firmware_update_datetime
    if requested is not None and row.received_datetime - requested > update_timeout:
        unit.firmware_update_status = FirmwareUpdateStatus.ERROR
        unit.firmware_update_error = (
            f"The unit reports version {row.commit_version or 'unknown'} "
            f"{int(update_timeout.total_seconds())} s after an update to {target or 'unknown'}"
        )


class UnitStateWriter(SqlWriter):
    """Ignored rows: `unknown_unit`; `stale`, reports older than what the unit's row holds."""

    tables = frozenset({TABLE})

    def __init__(
        self,
        session_factory: Callable[[], Session],
        state_send_interval_s: int,
        metrics: StorageMetrics | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        *,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__(session_factory, metrics, retry, sleep=sleep)
        self._update_timeout = timedelta(seconds=2 * state_send_interval_s)

    def write(self, rows: Sequence[IngestedRow]) -> WriteResult:
        """Stores the batch, retrying until it succeeds (BatchNotStoredError after `stop()`)."""
        newest = newest_per_unit(rows_of(rows, UnitStateRow))
        if not newest:
            return WriteResult(0)
        updated, unknown, stale = metered_write(
            self._retrier, self._metrics, TABLE, len(newest), lambda: self._update(newest)
        )
        ignored = {"unknown_unit": unknown, "stale": stale}
        return count_result(self._metrics, TABLE, WriteResult(updated, ignored))

    def _update(self, newest: dict[UUID, UnitStateRow]) -> tuple[int, int, int]:
        """(units updated, units unknown, reports stale), in one transaction."""
        with self._session_factory() as session, session.begin():
            units = session.scalars(
                select(Unit).where(Unit.uuid.in_(list(newest))).with_for_update()
            ).all()
            stale = 0
            for unit in units:
                row = newest[unit.uuid]
                if _already_newer(unit, row):
                    stale += 1
                    continue
                apply_state_report(unit, row, self._update_timeout)
            return len(units) - stale, len(newest) - len(units), stale


def _already_newer(unit: Unit, row: UnitStateRow) -> bool:
    """The unit's row holds a report received after this one (e.g. the batch is a replay)."""
    reported = unit.last_state_report_datetime
    return reported is not None and reported > row.received_datetime
