"""The ClickHouse tables (pipeline storage and unit logs) and the migrations that create them.

Columns start with the reference's, in the reference's order, so positional readers and
existing dashboards keep working. Every engine is a ReplacingMergeTree whose sorting key is
the row's identity: a replayed write replaces the row instead of duplicating it, and readers
that must not see duplicates query with FINAL.

Migrations are applied in order, each once; a bookkeeping table records what ran. Every
statement is idempotent on its own (IF NOT EXISTS), so a migration interrupted before it was
recorded, or run by two processes at once, is simply run again.
"""

import logging
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

logger = logging.getLogger(__name__)

MIGRATIONS_TABLE = "pepeunit_schema_migrations"


@dataclass(frozen=True)
class ClickHouseMigration:
    version: str
    statements: tuple[str, ...]


CREATE_N_LAST_ENTRY = """
CREATE TABLE IF NOT EXISTS n_last_entry
(
    unit_node_uuid UUID,
    state String,
    state_type Enum8('Number' = 1, 'Text' = 2),
    create_datetime DateTime64(3, 'UTC'),
    max_count UInt32,
    size UInt32,
    ingest_id UInt64
)
ENGINE = ReplacingMergeTree
ORDER BY (unit_node_uuid, create_datetime, ingest_id)
SETTINGS index_granularity = 128
"""

CREATE_WINDOW_ENTRY = """
CREATE TABLE IF NOT EXISTS window_entry
(
    unit_node_uuid UUID,
    state String,
    state_type Enum8('Number' = 1, 'Text' = 2),
    create_datetime DateTime64(3, 'UTC'),
    expiration_datetime DateTime('UTC'),
    size UInt32,
    ingest_id UInt64
)
ENGINE = ReplacingMergeTree
ORDER BY (unit_node_uuid, create_datetime, ingest_id)
TTL expiration_datetime
SETTINGS index_granularity = 128, merge_with_ttl_timeout = 600
"""

CREATE_AGGREGATION_ENTRY = """
CREATE TABLE IF NOT EXISTS aggregation_entry
(
    unit_node_uuid UUID,
    state Float64,
    aggregation_type Enum8('Avg' = 1, 'Min' = 2, 'Max' = 3, 'Sum' = 4),
    time_window_size UInt32,
    create_datetime DateTime64(3, 'UTC'),
    start_window_datetime DateTime64(3, 'UTC'),
    end_window_datetime DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (unit_node_uuid, start_window_datetime, time_window_size, aggregation_type)
SETTINGS index_granularity = 128
"""

CREATE_UNIT_LOGS = """
CREATE TABLE IF NOT EXISTS unit_logs
(
    uuid UUID,
    level Enum8('Debug' = 1, 'Info' = 2, 'Warning' = 3, 'Error' = 4, 'Critical' = 5),
    unit_uuid UUID,
    text String,
    create_datetime DateTime64(3, 'UTC'),
    expiration_datetime DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (unit_uuid, create_datetime, uuid)
TTL expiration_datetime
SETTINGS merge_with_ttl_timeout = 600
"""

CLICKHOUSE_MIGRATIONS: tuple[ClickHouseMigration, ...] = (
    ClickHouseMigration(
        version="0001_initial",
        statements=(
            CREATE_N_LAST_ENTRY,
            CREATE_WINDOW_ENTRY,
            CREATE_AGGREGATION_ENTRY,
            CREATE_UNIT_LOGS,
        ),
    ),
)

CREATE_MIGRATIONS_TABLE = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE}
(
    version String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY version
"""


def applied_clickhouse_migrations(client: Client) -> set[str]:
    client.command(CREATE_MIGRATIONS_TABLE)
    rows = client.query(f"SELECT DISTINCT version FROM {MIGRATIONS_TABLE}").result_rows
    return {version for (version,) in rows}


def apply_clickhouse_migrations(client: Client) -> list[str]:
    """Apply the migrations not yet recorded, in order; return the versions applied."""
    already_applied = applied_clickhouse_migrations(client)
    applied: list[str] = []
    for migration in CLICKHOUSE_MIGRATIONS:
        if migration.version in already_applied:
            continue
        logger.info("applying ClickHouse migration %s", migration.version)
        for statement in migration.statements:
            client.command(statement)
        client.insert(MIGRATIONS_TABLE, [[migration.version]], column_names=["version"])
        applied.append(migration.version)
    return applied
