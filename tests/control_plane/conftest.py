"""The API over HTTP (TestClient) on migrated SQLite and PostgreSQL databases.

Each database is migrated once per session and emptied before each test. Every response any
test receives is checked for what all responses owe their clients: no 5xx, a Content-Length,
and errors shaped `{"detail": "<text>"}`.
"""

import base64
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from control_plane.app import create_app
from control_plane.security import make_unit_token
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.models import Base, DataflowConfigVersion, User
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings
from tests.pepeunit_core.builders import add_registry, add_repo, add_unit
from tests.services.postgres import PostgresServer, fresh_database

BACKENDS = ["sqlite", "postgresql"]
SECRET_KEY = base64.b64encode(b"s" * 32).decode()
ENCRYPT_KEY = base64.b64encode(b"e" * 32).decode()
PASSWORD = "pass-word.1"
# Real argon2id with the smallest cost it allows: registering dozens of users per test stays fast.
CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
API = "/pepeunit/api/v1"


@pytest.fixture(scope="session")
def migrated_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('control-plane') / 'pepeunit.sqlite'}"
    migrate_sql(url)
    return url


@pytest.fixture(scope="session")
def migrated_postgresql_url(postgres_server: PostgresServer) -> Iterator[str]:
    with fresh_database(postgres_server) as database:
        migrate_sql(database.url)
        yield database.url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database with no rows (but the dataflow config version, back at 0)."""
    url = request.getfixturevalue(f"migrated_{request.param}_url")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                if table is not DataflowConfigVersion.__table__:
                    connection.execute(delete(table))
            connection.execute(update(DataflowConfigVersion).values(version=0))
    finally:
        engine.dispose()
    return url


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "sqlalchemy_database_url": database_url,
        "secret_key": SECRET_KEY,
        "encrypt_key": ENCRYPT_KEY,
        "domain": "pepeunit.test",
        # Off unless a test turns them on: their start-up sync would race the tests for rows.
        "schedules_enabled": False,
        # The tests' file:// repositories live in pytest's temporary directories.
        "registry_file_roots": (Path(tempfile.gettempdir()),),
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings, password_hasher=CHEAP_ARGON2)


def check_response(response: httpx.Response) -> None:
    response.read()
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text}"
    assert response.status_code not in (301, 302, 303, 307, 308), where
    if response.status_code == 204:
        assert response.content == b"", where
        return
    assert response.headers.get("content-length") == str(len(response.content)), where
    assert "transfer-encoding" not in response.headers, where
    if response.status_code >= 400:
        body = response.json()
        assert list(body) == ["detail"], f"{where}: {body}"
        assert isinstance(body["detail"], str) and body["detail"], f"{where}: {body}"


def checked_client(app: FastAPI, **options: object) -> TestClient:
    client = TestClient(app, follow_redirects=False, **options)
    client.event_hooks = {"request": [], "response": [check_response]}
    return client


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with checked_client(app) as client:
        yield client


def auth(token: str | bytes) -> dict[str, str | bytes]:
    return {"x-auth-token": token}


def register(client: TestClient, login: str, password: str = PASSWORD) -> dict:
    response = client.post(f"{API}/users", json={"login": login, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


def login_token(client: TestClient, credentials: str, password: str = PASSWORD) -> str:
    response = client.post(
        f"{API}/users/auth", json={"credentials": credentials, "password": password}
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


ACTOR_LOGINS = {"admin": "admin", "alice": "alice", "bob": "bobby"}


@dataclass(frozen=True)
class Actors:
    """A fresh instance's first user (Admin), two plain users and a unit owned by alice."""

    admin_uuid: UUID
    alice_uuid: UUID
    bob_uuid: UUID
    unit_uuid: UUID
    headers: dict[str, dict[str, str | bytes]]
    """Request headers per actor: anonymous, admin, alice, bob, unit."""


@pytest.fixture
def actors(client: TestClient, app: FastAPI, settings: Settings) -> Actors:
    uuids = {name: UUID(register(client, login)["uuid"]) for name, login in ACTOR_LOGINS.items()}
    with app.state.context.session_factory() as session:
        alice = session.get(User, uuids["alice"])
        assert alice is not None
        unit = add_unit(session, alice, add_repo(session, alice, add_registry(session, alice)))
        session.commit()
    headers = {
        "anonymous": {},
        "unit": auth(make_unit_token(unit.uuid, settings.resolved_secret_key)),
    }
    headers |= {name: auth(login_token(client, login)) for name, login in ACTOR_LOGINS.items()}
    return Actors(uuids["admin"], uuids["alice"], uuids["bob"], unit.uuid, headers)
