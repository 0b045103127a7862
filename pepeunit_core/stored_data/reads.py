"""What a reader gets back for one node, whatever the background clean-up has done so far:

- NRecords: the newest N rows, N being the `max_count` of the node's newest row;
- TimeWindow: only rows whose `expiration_datetime` is after `now`;
- Aggregation: every window row;
- LastValue: the node row's `state` and `last_update_datetime`.

ClickHouse reads use FINAL, so a row inserted twice (a retry or a replay) is returned once even
before the ReplacingMergeTree merges it away. Datetimes are selected as epoch integers and
returned as timezone-aware UTC datetimes, whatever the client or server zone.
"""

from datetime import datetime
from uuid import UUID

from clickhouse_connect.driver.client import Client
from sqlalchemy import select
from sqlalchemy.orm import Session

from pepeunit_core.db.models import UnitNode
from pipelines.clock import from_epoch_ms, to_epoch_ms
from pipelines.rows import AggregationRow, LastValueRow, NRecordsRow, TimeWindowRow

# One query, so N and the rows come from the same snapshot of the table.
_N_RECORDS_QUERY = """
SELECT state, state_type, toUnixTimestamp64Milli(create_datetime), max_count, size
FROM (
    SELECT *, row_number() OVER newest_first AS newest_rank,
        first_value(max_count) OVER newest_first AS cap
    FROM n_last_entry FINAL
    WHERE unit_node_uuid = {node:UUID}
    WINDOW newest_first AS (
        ORDER BY create_datetime DESC, ingest_id DESC
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )
)
WHERE newest_rank <= cap
ORDER BY create_datetime, ingest_id
"""

_TIME_WINDOW_QUERY = """
SELECT state, state_type, toUnixTimestamp64Milli(create_datetime),
    toUnixTimestamp(expiration_datetime), size
FROM window_entry FINAL
WHERE unit_node_uuid = {node:UUID} AND toUnixTimestamp(expiration_datetime) * 1000 > {now_ms:Int64}
ORDER BY create_datetime, ingest_id
"""

_AGGREGATION_QUERY = """
SELECT state, aggregation_type, time_window_size, toUnixTimestamp64Milli(create_datetime),
    toUnixTimestamp64Milli(start_window_datetime), toUnixTimestamp64Milli(end_window_datetime)
FROM aggregation_entry FINAL
WHERE unit_node_uuid = {node:UUID}
ORDER BY start_window_datetime, time_window_size, aggregation_type
"""


def _canonical(node_uuid: str) -> str:
    return str(UUID(node_uuid))


def read_n_records(client: Client, node_uuid: str) -> list[NRecordsRow]:
    """The node's newest N rows, oldest first (equal times by ingest id)."""
    node = _canonical(node_uuid)
    result = client.query(_N_RECORDS_QUERY, parameters={"node": node})
    return [
        NRecordsRow(node, state, state_type, from_epoch_ms(created_ms), max_count, size)
        for state, state_type, created_ms, max_count, size in result.result_rows
    ]


def read_time_window(client: Client, node_uuid: str, now: datetime) -> list[TimeWindowRow]:
    """The node's rows not yet expired at `now`, oldest first (equal times by ingest id)."""
    node = _canonical(node_uuid)
    result = client.query(_TIME_WINDOW_QUERY, parameters={"node": node, "now_ms": to_epoch_ms(now)})
    return [
        TimeWindowRow(
            node,
            state,
            state_type,
            from_epoch_ms(created_ms),
            from_epoch_ms(expiration_s * 1000),
            size,
        )
        for state, state_type, created_ms, expiration_s, size in result.result_rows
    ]


def read_aggregations(client: Client, node_uuid: str) -> list[AggregationRow]:
    """The node's aggregation windows by start (then window size and function)."""
    node = _canonical(node_uuid)
    result = client.query(_AGGREGATION_QUERY, parameters={"node": node})
    return [
        AggregationRow(
            node,
            state,
            function,
            window_size,
            from_epoch_ms(created_ms),
            from_epoch_ms(start_ms),
            from_epoch_ms(end_ms),
        )
        for state, function, window_size, created_ms, start_ms, end_ms in result.result_rows
    ]


def read_last_value(session: Session, node_uuid: str) -> LastValueRow | None:
    """The node's stored value, or None for an unknown node or one that has no value yet."""
    node = UUID(node_uuid)
    found = session.execute(
        select(UnitNode.state, UnitNode.last_update_datetime).where(UnitNode.uuid == node)
    ).one_or_none()
    if found is None or found.state is None:
        return None
    return LastValueRow(str(node), found.state, found.last_update_datetime)
