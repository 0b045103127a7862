"""Background removal of rows readers no longer see: NRecords rows beyond each node's N, and
TimeWindow rows past their expiration (the table's TTL only acts at merges, maybe much later).

Reads already hide these rows (reads.py); clean-up only reclaims space.

Both use a lightweight `DELETE FROM ... WHERE`, not an `ALTER TABLE ... DELETE` mutation. Both
work on chdb 4.4 (ClickHouse 26.9) with ReplacingMergeTree, but the lightweight DELETE only
rewrites the hidden `_row_exists` mask instead of every column of the affected parts, and it is
synchronous by default on servers too (`lightweight_deletes_sync`), whereas a mutation is
asynchronous there unless `mutations_sync` is set. It is passed explicitly anyway, so a call
returns once the rows are gone (while a table's merges are stopped, it waits for them).

Safe beside concurrent inserts: a DELETE only touches the parts that exist when it starts, and
its condition only matches rows that stay invisible to readers however many rows arrive later
(a row beyond the newest N stays beyond it as newer rows come; an expired row stays expired).
One exception: if a node's N grows (its pipeline changed), rows already removed do not come
back. On a replicated table the subquery needs `allow_nondeterministic_mutations`.
"""

from datetime import datetime

from clickhouse_connect.driver.client import Client

from pipelines.clock import to_epoch_ms

_WAIT_UNTIL_APPLIED = {"lightweight_deletes_sync": 2}

# Rows of each node beyond the newest N, N being the max_count of the node's newest row; FINAL
# so that a row inserted twice counts once.
_BEYOND_CAP = """
SELECT unit_node_uuid, create_datetime, ingest_id
FROM (
    SELECT unit_node_uuid, create_datetime, ingest_id,
        row_number() OVER newest_first AS newest_rank,
        first_value(max_count) OVER newest_first AS cap
    FROM n_last_entry FINAL
    WINDOW newest_first AS (
        PARTITION BY unit_node_uuid ORDER BY create_datetime DESC, ingest_id DESC
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )
)
WHERE newest_rank > cap
"""

_EXPIRED = "expiration_datetime <= toDateTime({cutoff_s:Int64}, 'UTC')"


def enforce_n_records_cap(client: Client) -> int:
    """Deletes NRecords rows beyond each node's N; returns how many were beyond it (each stored
    row once, however many copies of it replays left). Rows that fall beyond N while this runs
    may be deleted too, so the number is a lower bound."""
    beyond = int(client.command(f"SELECT count() FROM ({_BEYOND_CAP})"))
    if beyond:
        client.command(
            "DELETE FROM n_last_entry"
            f" WHERE (unit_node_uuid, create_datetime, ingest_id) IN ({_BEYOND_CAP})",
            settings=_WAIT_UNTIL_APPLIED,
        )
    return beyond


def delete_expired_window_rows(client: Client, now: datetime) -> int:
    """Deletes TimeWindow rows whose expiration is at or before `now`; returns how many there
    were (each stored row once)."""
    # expiration_datetime has whole seconds: expired at `now` means at or before its second.
    parameters = {"cutoff_s": to_epoch_ms(now) // 1000}
    expired = int(
        client.command(
            f"SELECT count() FROM window_entry FINAL WHERE {_EXPIRED}", parameters=parameters
        )
    )
    if expired:
        client.command(
            f"DELETE FROM window_entry WHERE {_EXPIRED}",
            parameters=parameters,
            settings=_WAIT_UNTIL_APPLIED,
        )
    return expired
