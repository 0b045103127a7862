"""The ClickHouse tables on chdb: created once, reference columns first, idempotent writes."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from pepeunit_core.clickhouse.schema import (
    CLICKHOUSE_MIGRATIONS,
    MIGRATIONS_TABLE,
    apply_clickhouse_migrations,
)

STATE_TYPE = "Enum8('Number' = 1, 'Text' = 2)"
EXPECTED_COLUMNS = {
    "n_last_entry": [
        ("unit_node_uuid", "UUID"),
        ("state", "String"),
        ("state_type", STATE_TYPE),
        ("create_datetime", "DateTime64(3, 'UTC')"),
        ("max_count", "UInt32"),
        ("size", "UInt32"),
        ("ingest_id", "UInt64"),
    ],
    "window_entry": [
        ("unit_node_uuid", "UUID"),
        ("state", "String"),
        ("state_type", STATE_TYPE),
        ("create_datetime", "DateTime64(3, 'UTC')"),
        ("expiration_datetime", "DateTime('UTC')"),
        ("size", "UInt32"),
        ("ingest_id", "UInt64"),
    ],
    "aggregation_entry": [
        ("unit_node_uuid", "UUID"),
        ("state", "Float64"),
        ("aggregation_type", "Enum8('Avg' = 1, 'Min' = 2, 'Max' = 3, 'Sum' = 4)"),
        ("time_window_size", "UInt32"),
        ("create_datetime", "DateTime64(3, 'UTC')"),
        ("start_window_datetime", "DateTime64(3, 'UTC')"),
        ("end_window_datetime", "DateTime64(3, 'UTC')"),
    ],
    "unit_logs": [
        ("uuid", "UUID"),
        (
            "level",
            "Enum8('Debug' = 1, 'Info' = 2, 'Warning' = 3, 'Error' = 4, 'Critical' = 5)",
        ),
        ("unit_uuid", "UUID"),
        ("text", "String"),
        ("create_datetime", "DateTime64(3, 'UTC')"),
        ("expiration_datetime", "DateTime('UTC')"),
    ],
}
EXPECTED_SORTING_KEYS = {
    "n_last_entry": "unit_node_uuid, create_datetime, ingest_id",
    "window_entry": "unit_node_uuid, create_datetime, ingest_id",
    "aggregation_entry": (
        "unit_node_uuid, start_window_datetime, time_window_size, aggregation_type"
    ),
    "unit_logs": "unit_uuid, create_datetime, uuid",
}
N_LAST_ENTRY_COLUMNS = [name for name, _ in EXPECTED_COLUMNS["n_last_entry"]]
WINDOW_ENTRY_COLUMNS = [name for name, _ in EXPECTED_COLUMNS["window_entry"]]
AGGREGATION_ENTRY_COLUMNS = [name for name, _ in EXPECTED_COLUMNS["aggregation_entry"]]
UNIT_LOGS_COLUMNS = [name for name, _ in EXPECTED_COLUMNS["unit_logs"]]
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(clickhouse_database):
    apply_clickhouse_migrations(clickhouse_database.client)
    return clickhouse_database.client


def n_last_entry_row(node: UUID, state: str, at: datetime, ingest_id: int) -> list:
    return [node, state, "Text", at, 3, len(state), ingest_id]


def states(client, table: str, node: UUID) -> list[str]:
    return [
        state
        for (state,) in client.query(
            f"SELECT state FROM {table} FINAL WHERE unit_node_uuid = %(node)s"
            " ORDER BY create_datetime, ingest_id",
            parameters={"node": node},
        ).result_rows
    ]


def test_migrations_apply_once_and_then_do_nothing(clickhouse_database):
    client = clickhouse_database.client
    versions = [migration.version for migration in CLICKHOUSE_MIGRATIONS]

    assert apply_clickhouse_migrations(client) == versions
    assert apply_clickhouse_migrations(client) == []
    recorded = client.query(f"SELECT version FROM {MIGRATIONS_TABLE} FINAL").result_rows
    assert [version for (version,) in recorded] == versions


def test_a_migration_interrupted_before_it_was_recorded_runs_again(clickhouse_database):
    client = clickhouse_database.client
    apply_clickhouse_migrations(client)
    client.command(f"TRUNCATE TABLE {MIGRATIONS_TABLE}")

    assert apply_clickhouse_migrations(client) == [CLICKHOUSE_MIGRATIONS[0].version]


def test_tables_have_the_reference_columns_in_order_then_ours(client, clickhouse_database):
    columns = client.query(
        "SELECT table, name, type FROM system.columns WHERE database = %(database)s"
        " ORDER BY table, position",
        parameters={"database": clickhouse_database.name},
    ).result_rows
    tables = client.query(
        "SELECT name, engine, sorting_key FROM system.tables WHERE database = %(database)s",
        parameters={"database": clickhouse_database.name},
    ).result_rows

    for table, expected in EXPECTED_COLUMNS.items():
        assert [(name, kind) for owner, name, kind in columns if owner == table] == expected
    assert {name: (engine, key) for name, engine, key in tables if name in EXPECTED_COLUMNS} == {
        name: ("ReplacingMergeTree", key) for name, key in EXPECTED_SORTING_KEYS.items()
    }


def test_n_last_entry_rows_written_twice_are_read_once_with_final(client):
    node = uuid4()
    rows = [n_last_entry_row(node, f"v{i}", T0 + timedelta(seconds=i), i) for i in range(3)]

    client.insert("n_last_entry", rows, column_names=N_LAST_ENTRY_COLUMNS)
    client.insert("n_last_entry", rows, column_names=N_LAST_ENTRY_COLUMNS)

    assert client.query("SELECT count() FROM n_last_entry").result_rows == [(6,)]
    assert states(client, "n_last_entry", node) == ["v0", "v1", "v2"]


def test_distinct_messages_at_the_same_millisecond_are_both_kept(client):
    node = uuid4()
    client.insert(
        "n_last_entry",
        [n_last_entry_row(node, "first", T0, 1), n_last_entry_row(node, "second", T0, 2)],
        column_names=N_LAST_ENTRY_COLUMNS,
    )

    assert states(client, "n_last_entry", node) == ["first", "second"]


def test_lightweight_delete_keeps_the_newest_n_rows_per_node(client):
    node, other = uuid4(), uuid4()
    rows = [n_last_entry_row(node, f"v{i}", T0 + timedelta(seconds=i), i) for i in range(6)]
    rows.append(n_last_entry_row(other, "only", T0, 100))
    client.insert("n_last_entry", rows, column_names=N_LAST_ENTRY_COLUMNS)
    client.insert("n_last_entry", rows, column_names=N_LAST_ENTRY_COLUMNS)  # unmerged copies

    client.command(
        """
        DELETE FROM n_last_entry
        WHERE (unit_node_uuid, create_datetime, ingest_id) IN (
            SELECT unit_node_uuid, create_datetime, ingest_id
            FROM (
                SELECT unit_node_uuid, create_datetime, ingest_id, max_count,
                    row_number() OVER (
                        PARTITION BY unit_node_uuid
                        ORDER BY create_datetime DESC, ingest_id DESC
                    ) AS newest_first
                FROM n_last_entry FINAL
            )
            WHERE newest_first > max_count
        )
        """
    )

    assert states(client, "n_last_entry", node) == ["v3", "v4", "v5"]
    assert states(client, "n_last_entry", other) == ["only"]
    # The copies went too: the rows are gone, not just hidden by FINAL.
    assert client.query("SELECT count() FROM n_last_entry").result_rows == [(8,)]


def test_window_rows_are_deduplicated_and_expired_rows_vanish_only_at_merge(client):
    node = uuid4()
    now = datetime.now(UTC)
    rows = [
        [node, "expired", "Number", now - timedelta(seconds=2), now - timedelta(seconds=1), 7, 1],
        [node, "live", "Number", now - timedelta(seconds=1), now + timedelta(hours=1), 4, 2],
    ]
    client.insert("window_entry", rows, column_names=WINDOW_ENTRY_COLUMNS)
    client.insert("window_entry", rows, column_names=WINDOW_ENTRY_COLUMNS)

    assert states(client, "window_entry", node) == ["expired", "live"]
    client.command("OPTIMIZE TABLE window_entry FINAL")
    assert states(client, "window_entry", node) == ["live"]


def test_a_rewritten_aggregation_window_replaces_the_earlier_row(client):
    node = uuid4()
    end = T0 + timedelta(minutes=1)

    def row(function: str, value: float, created: datetime) -> list:
        return [node, value, function, 60, created, T0, end]

    client.insert(
        "aggregation_entry",
        [row("Avg", 1.0, end), row("Max", 5.0, end)],
        column_names=AGGREGATION_ENTRY_COLUMNS,
    )
    client.insert(
        "aggregation_entry",
        [row("Avg", 2.0, end + timedelta(seconds=3))],
        column_names=AGGREGATION_ENTRY_COLUMNS,
    )

    result = client.query(
        "SELECT aggregation_type, state FROM aggregation_entry FINAL ORDER BY aggregation_type"
    ).result_rows
    assert result == [("Avg", 2.0), ("Max", 5.0)]


def test_unit_logs_written_twice_are_read_once(client):
    unit, log_uuid = uuid4(), uuid4()
    row = [log_uuid, "Warning", unit, "low battery", T0, T0 + timedelta(days=3650)]
    client.insert("unit_logs", [row], column_names=UNIT_LOGS_COLUMNS)
    client.insert("unit_logs", [row], column_names=UNIT_LOGS_COLUMNS)

    result = client.query("SELECT uuid, level, text FROM unit_logs FINAL").result_rows
    assert result == [(log_uuid, "Warning", "low battery")]
