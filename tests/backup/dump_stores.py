"""Every stored row of an instance, as JSON, for comparing two instances row by row: the SQL
tables (all columns, in primary-key order) and the ClickHouse tables (what readers see, FINAL,
in sorting-key order). Runs in a process of its own when the instance is on chdb:

    python -m tests.backup.dump_stores DATA_DIR [SQL_URL]   -> prints the JSON
"""

import json
import sys
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client
from sqlalchemy import select

from pepeunit_core.clickhouse.client import make_clickhouse_client
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.models import Base
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.clickhouse_columns import COLUMNS_BY_TABLE


def dump_sql(url: str) -> dict[str, list[list[Any]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    [str(value) if value is not None else None for value in row]
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def dump_clickhouse(client: Client) -> dict[str, list[list[Any]]]:
    return {
        table: [
            [str(value) for value in row]
            for row in client.query(
                f"SELECT * FROM {table} FINAL ORDER BY {', '.join(columns)}"
            ).result_rows
        ]
        for table, columns in COLUMNS_BY_TABLE.items()
    }


if __name__ == "__main__":
    settings = Settings(data_dir=Path(sys.argv[1]))
    if len(sys.argv) > 2:
        settings = Settings(data_dir=Path(sys.argv[1]), sqlalchemy_database_url=sys.argv[2])
    client = make_clickhouse_client(settings.resolved_clickhouse_url)
    try:
        stores = {
            "sql": dump_sql(settings.resolved_sqlalchemy_url),
            "clickhouse": dump_clickhouse(client),
        }
    finally:
        client.close()
    print(json.dumps(stores))
