"""The console's app on migrated SQLite and PostgreSQL databases (emptied before each test),
as in tests/control_plane, and a client that keeps its cookies."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from control_plane.app import create_app
from pepeunit_core.settings import Settings
from tests.console.console_client import ConsoleClient
from tests.control_plane.conftest import (  # noqa: F401 - fixtures
    CHEAP_ARGON2,
    database_url,
    make_settings,
    migrated_postgresql_url,
    migrated_sqlite_url,
)


@pytest.fixture
def settings(database_url: str) -> Settings:  # noqa: F811 - the fixture above
    return make_settings(database_url, secure=False)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings, password_hasher=CHEAP_ARGON2)


@pytest.fixture
def console(app: FastAPI) -> Iterator[ConsoleClient]:
    with ConsoleClient(app) as client:
        yield client
