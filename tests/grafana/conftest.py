"""ClickHouse tables from the real migrations for the dashboard SQL tests."""

import pytest
from clickhouse_connect.driver.client import Client

from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from tests.services.clickhouse import ClickHouseDatabase


@pytest.fixture
def clickhouse(clickhouse_database: ClickHouseDatabase) -> Client:
    apply_clickhouse_migrations(clickhouse_database.client)
    return clickhouse_database.client
