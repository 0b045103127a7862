"""ClickHouse for tests: chdb's in-process engine behind clickhouse-connect's client API.

chdb allows one data path per process (a second path raises while the first is open), and
only one process may open a path. So the whole pytest session shares one path through the
session-scoped `clickhouse_client`, and tests get isolation from a database of their own.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client

from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations

TEST_DATABASE_PREFIX = "pytest_"


@dataclass(frozen=True)
class ClickHouseDatabase:
    client: Client
    """A client whose default database is `name`, so unqualified table names land there."""
    name: str
    dsn: str
    """For code under test that builds its own client: clickhouse_connect.get_client(dsn=dsn)."""


def chdb_dsn(path: Path, database: str | None = None) -> str:
    dsn = f"chdb://{path.resolve()}"
    return dsn if database is None else f"{dsn}?database={database}"


@pytest.fixture(scope="session")
def clickhouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one chdb data dir of this pytest process."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def clickhouse_client(clickhouse_path: Path) -> Iterator[Client]:
    """A session-wide client on the `default` database; prefer `clickhouse_database`."""
    client = clickhouse_connect.get_client(dsn=chdb_dsn(clickhouse_path))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def clickhouse_database(
    clickhouse_client: Client, clickhouse_path: Path
) -> Iterator[ClickHouseDatabase]:
    """A database of its own for one test, dropped afterwards."""
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    clickhouse_client.command(f"CREATE DATABASE {name}")
    dsn = chdb_dsn(clickhouse_path, name)
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        yield ClickHouseDatabase(client=client, name=name, dsn=dsn)
    finally:
        client.close()
        clickhouse_client.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@contextmanager
def migrated_chdb_database(
    clickhouse_client: Client, clickhouse_path: Path
) -> Iterator[tuple[Client, str]]:
    """A migrated chdb database of its own (for a module or an instance) and its DSN, dropped
    afterwards."""
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"
    clickhouse_client.command(f"CREATE DATABASE {name}")
    dsn = chdb_dsn(clickhouse_path, name)
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        apply_clickhouse_migrations(client)
        yield client, dsn
    finally:
        client.close()
        clickhouse_client.command(f"DROP DATABASE IF EXISTS {name} SYNC")
