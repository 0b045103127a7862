"""One INSERT of a table's rows made into columns (`clickhouse_columns.columns_by_table`).

The tables are ReplacingMergeTrees keyed by the row's identity (node, time and ingest id; for
aggregations node, window and function), so inserting the same rows again, after a failure that
may or may not have stored them, or on a replay after a crash, replaces rows instead of
duplicating them.
"""

from functools import partial

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DataError

from pepeunit_core.retry import Retrier
from pepeunit_core.stored_data.clickhouse_columns import COLUMNS_BY_TABLE, Columns


def clickhouse_may_heal(error: Exception) -> bool:
    """Errors worth retrying: ClickHouse or the connection failed, not the encoding of a value
    (DataError is raised by the driver before anything is sent) and not our own code."""
    return isinstance(error, ClickHouseError | OSError) and not isinstance(error, DataError)


def insert_columns(client: Client, table: str, columns: Columns) -> int:
    """Inserts `table`'s columns in one INSERT; returns the number of rows."""
    client.insert(table, columns, column_names=COLUMNS_BY_TABLE[table], column_oriented=True)
    return len(columns[0])


def insert_tables(client: Client, tables: dict[str, Columns], retrier: Retrier) -> int:
    """Inserts each table's columns, one INSERT per table, each retried by `retrier` while it
    fails in a way ClickHouse may heal; returns the number of rows."""
    return sum(
        retrier.run(
            partial(insert_columns, client, table, columns), table=table, rows=len(columns[0])
        )
        for table, columns in tables.items()
    )
