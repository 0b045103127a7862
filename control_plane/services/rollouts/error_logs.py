"""The error-log gate's input: a unit's Error and Critical logs in a time span, from ClickHouse
`unit_logs` (FINAL: a replayed batch counts once)."""

from datetime import datetime
from uuid import UUID

from control_plane.services.rollouts.driver import ErrorLogCounter
from control_plane.services.store import store_client
from pepeunit_core.clickhouse.pool import shared_clickhouse_pool
from pepeunit_core.db.enums import LogLevel
from pepeunit_core.settings import Settings
from pipelines.clock import to_epoch_ms

ERROR_LEVELS = [LogLevel.ERROR.value, LogLevel.CRITICAL.value]

_COUNT_QUERY = """
SELECT count()
FROM unit_logs FINAL
WHERE unit_uuid = {unit:UUID}
    AND has({levels:Array(String)}, toString(level))
    AND toUnixTimestamp64Milli(create_datetime) >= {since_ms:Int64}
    AND toUnixTimestamp64Milli(create_datetime) < {until_ms:Int64}
"""


def clickhouse_error_log_counter(settings: Settings) -> ErrorLogCounter:
    pool = shared_clickhouse_pool(settings.resolved_clickhouse_url, settings.clickhouse_pool_size)

    def count(unit: UUID, since: datetime, until: datetime) -> int:
        parameters = {
            "unit": str(unit),
            "levels": ERROR_LEVELS,
            "since_ms": to_epoch_ms(since),
            "until_ms": to_epoch_ms(until),
        }
        with store_client(pool) as client:
            return int(client.query(_COUNT_QUERY, parameters=parameters).result_rows[0][0])

    return count
