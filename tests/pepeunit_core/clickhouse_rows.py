"""Storing rows in ClickHouse for tests of the reads."""

from collections.abc import Sequence

from clickhouse_connect.driver.client import Client

from pepeunit_core.stored_data.clickhouse_columns import columns_by_table
from pepeunit_core.stored_data.clickhouse_insert import insert_columns
from pepeunit_core.stored_data.rows import IngestedRow


def store(client: Client, rows: Sequence[IngestedRow]) -> None:
    """Inserts `rows` as the dataflow's writer does, without its retries and metrics."""
    for table, columns in columns_by_table(rows).items():
        insert_columns(client, table, columns)
