"""A unit's logs (docs/compatibility.md#state-and-log-reports), read from ClickHouse `unit_logs` by
the unit's creator or the unit itself. Rows past their expiration are hidden even before the table's
TTL removes them; FINAL returns a log entry written twice (a replayed batch) once."""

from datetime import datetime
from uuid import UUID

from clickhouse_connect.driver.client import Client
from sqlalchemy.orm import Session

from control_plane.models.common import OrderByDate
from control_plane.models.unit_log import UnitLogFilter, UnitLogRead, UnitLogsResult
from control_plane.security import Agent
from control_plane.services.paging import Page
from control_plane.services.units.access import device_unit
from pipelines.clock import from_epoch_ms, to_epoch_ms

_WHERE = """
FROM unit_logs FINAL
WHERE unit_uuid = {unit:UUID}
    AND has({levels:Array(String)}, toString(level))
    AND toUnixTimestamp(expiration_datetime) * 1000 > {now_ms:Int64}
"""

_COUNT_QUERY = f"SELECT count() {_WHERE}"

_PAGE_QUERY = """
SELECT uuid, toString(level), text, toUnixTimestamp64Milli(create_datetime),
    toUnixTimestamp(expiration_datetime)
{where}
ORDER BY create_datetime {direction}, uuid {direction}
LIMIT {{limit:UInt64}} OFFSET {{offset:UInt64}}
"""

_DIRECTIONS = {OrderByDate.ASC: "ASC", OrderByDate.DESC: "DESC"}


def list_unit_logs(
    session: Session,
    client: Client,
    agent: Agent,
    filters: UnitLogFilter,
    page: Page,
    now: datetime,
) -> UnitLogsResult:
    unit = device_unit(session, agent, filters.uuid)
    parameters = {
        "unit": str(unit.uuid),
        "levels": [str(level) for level in filters.level],
        "now_ms": to_epoch_ms(now),
    }
    count = client.query(_COUNT_QUERY, parameters=parameters).result_rows[0][0]
    query = _PAGE_QUERY.format(where=_WHERE, direction=_DIRECTIONS[filters.order_by_create_date])
    rows = client.query(
        query, parameters=parameters | {"limit": page.limit, "offset": page.offset}
    ).result_rows
    return UnitLogsResult(
        count=count,
        unit_logs=[
            UnitLogRead(
                uuid=UUID(str(uuid)),
                level=level,
                unit_uuid=unit.uuid,
                text=text,
                create_datetime=from_epoch_ms(created_ms),
                expiration_datetime=from_epoch_ms(expires_s * 1000),
            )
            for uuid, level, text, created_ms, expires_s in rows
        ],
    )
