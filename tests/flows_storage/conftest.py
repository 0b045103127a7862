"""ClickHouse tables from the real migrations, and SQL databases (SQLite and PostgreSQL) with
node rows to write LastValue rows to."""

from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client
from sqlalchemy.orm import Session, sessionmaker

from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_sql
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.postgres import fresh_database


@pytest.fixture
def clickhouse(clickhouse_database: ClickHouseDatabase) -> Client:
    """A client on a fresh database holding the pipeline tables."""
    apply_clickhouse_migrations(clickhouse_database.client)
    return clickhouse_database.client


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """A migrated SQL database shared by the tests of a module, which only add nodes of their
    own (migrating for each test would take most of their time)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'pepeunit.sqlite'}"
        migrate_sql(url)
        yield url
        return
    with fresh_database(request.getfixturevalue("postgres_server")) as database:
        migrate_sql(database.url)
        yield database.url


@pytest.fixture
def session_factory(sql_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sql_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
