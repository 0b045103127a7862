"""Source repositories, a private HTTP git server, settings and a migrated SQLite database."""

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from control_plane.services.registry import GitCredentials
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_http_server import GitHttpServer
from tests.control_plane_registry.git_sources import UnitRepository

HTTP_USERNAME = "robot"
HTTP_PASSWORD = "glpat-Secret-Token-7f3a9c"


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "sources"
    path.mkdir()
    return path


@pytest.fixture
def clones(tmp_path: Path) -> Path:
    """Where the tests clone to; it must hold nothing but finished clones afterwards."""
    path = tmp_path / "clones"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def unit_repository_template(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("unit-repository"))


@pytest.fixture
def unit_repository(sources: Path, unit_repository_template: UnitRepository) -> UnitRepository:
    """The standard source, as the test's own copy: tests may commit to it."""
    return unit_repository_template.copy_to(sources)


@pytest.fixture
def git_http_server(sources: Path) -> Iterator[GitHttpServer]:
    server = GitHttpServer(sources, HTTP_USERNAME, HTTP_PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def right_credentials() -> GitCredentials:
    return GitCredentials(HTTP_USERNAME, HTTP_PASSWORD)


@pytest.fixture
def wrong_credentials() -> GitCredentials:
    return GitCredentials(HTTP_USERNAME, "glpat-Wrong-Token-0000")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        encrypt_key=base64.b64encode(os.urandom(32)).decode(),
        min_interval_sync_repository=0,
        max_external_repo_size=1,
        registry_file_roots=(tmp_path,),
        # The private git server listens on 127.0.0.1.
        registry_allow_private_addresses=True,
    )


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("registry-database") / "template.sqlite"
    migrate_sql(f"sqlite:///{path}")
    return path


@pytest.fixture
def session(migrated_database: Path, tmp_path: Path) -> Iterator[Session]:
    """A session on a fresh copy of a migrated SQLite database."""
    path = tmp_path / "pepeunit.sqlite"
    shutil.copy(migrated_database, path)
    engine = make_engine(f"sqlite:///{path}")
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()
