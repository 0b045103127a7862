"""A migrated SQLite database holding the matrix units, shared by a module's broker tests."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings
from tests.broker.matrix import DOMAIN, ENCRYPT_KEY, SECRET_KEY, Matrix, build_matrix


@dataclass(frozen=True)
class BrokerWorld:
    root: Path
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    matrix: Matrix


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerWorld]:
    root = tmp_path_factory.mktemp("broker")
    url = f"sqlite:///{root / 'pepeunit.sqlite'}"
    migrate_sql(url)
    settings = Settings(
        sqlalchemy_database_url=url,
        secret_key=SECRET_KEY,
        encrypt_key=ENCRYPT_KEY,
        domain=DOMAIN,
        data_dir=root,
    )
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    with session_factory() as session:
        matrix = build_matrix(session)
    try:
        yield BrokerWorld(root, settings, engine, session_factory, matrix)
    finally:
        engine.dispose()
