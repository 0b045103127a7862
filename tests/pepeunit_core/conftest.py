"""SQL databases on SQLite and PostgreSQL: fresh, or migrated once and emptied per test; a
ClickHouse database holding the pipeline tables."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from clickhouse_connect.driver.client import Client
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session, sessionmaker

from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.models import Base, DataflowConfigVersion
from pepeunit_core.migrate import migrate_sql
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.postgres import PostgresServer, fresh_database

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A new database with no tables; PostgreSQL starts only for the tests that run on it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
    return request.getfixturevalue("postgres_database").url


@pytest.fixture(scope="session")
def migrated_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'pepeunit.sqlite'}"
    migrate_sql(url)
    return url


@pytest.fixture(scope="session")
def migrated_postgresql_url(postgres_server: PostgresServer) -> Iterator[str]:
    with fresh_database(postgres_server) as database:
        migrate_sql(database.url)
        yield database.url


@contextmanager
def emptied_engine(url: str) -> Iterator[Engine]:
    """An engine on the migrated database at `url`, after deleting every row but the config
    version, which goes back to 0.

    Migrating once per session and emptying the tables per test is ~10x faster than a fresh
    migrated database per test, and the model tests do not care about the difference.
    """
    engine = make_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table is not DataflowConfigVersion.__table__:
                connection.execute(delete(table))
        connection.execute(update(DataflowConfigVersion).values(version=0))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with emptied_engine(request.getfixturevalue(f"migrated_{request.param}_url")) as engine:
        yield engine


@pytest.fixture
def postgres_engine(migrated_postgresql_url: str) -> Iterator[Engine]:
    with emptied_engine(migrated_postgresql_url) as engine:
        yield engine


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def clickhouse(clickhouse_database: ClickHouseDatabase) -> Client:
    """A client on a fresh database holding the pipeline tables."""
    apply_clickhouse_migrations(clickhouse_database.client)
    return clickhouse_database.client
