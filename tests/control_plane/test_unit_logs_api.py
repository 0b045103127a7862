"""`GET /units/log_list/` over HTTP, on SQLite and PostgreSQL with real chdb
(docs/compatibility.md#state-and-log-reports): the unit's own unexpired entries, filtered by level,
ordered and paginated, for its creator or the unit itself; an entry stored twice is listed once."""

import uuid as uuid_module
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from control_plane.security import make_unit_token
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.settings import Settings
from tests.services.clickhouse import ClickHouseDatabase

from .conftest import API, Actors, auth, make_settings

LOGS = f"{API}/units/log_list/"
NOW = datetime.now(UTC).replace(microsecond=0)
COLUMNS = ["uuid", "level", "unit_uuid", "text", "create_datetime", "expiration_datetime"]


@pytest.fixture
def settings(database_url: str, clickhouse_database: ClickHouseDatabase) -> Settings:
    apply_clickhouse_migrations(clickhouse_database.client)
    return make_settings(database_url, clickhouse_database_url=clickhouse_database.dsn)


def log_row(unit: UUID, level: str, text: str, age_s: int, lifetime_s: int = 3600) -> list:
    created = NOW - timedelta(seconds=age_s)
    return [uuid4(), level, unit, text, created, created + timedelta(seconds=lifetime_s)]


def listed(client: TestClient, headers: dict, unit: UUID, query: str = "") -> dict:
    response = client.get(f"{LOGS}?uuid={unit}{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_lists_the_units_live_entries(
    client: TestClient, actors: Actors, clickhouse_database: ClickHouseDatabase
):
    unit = actors.unit_uuid
    rows = [
        log_row(unit, "Info", "booted", age_s=50),
        log_row(unit, "Debug", "wifi rssi -61", age_s=40),
        log_row(unit, "Error", "sensor timeout", age_s=30),
        log_row(unit, "Critical", "brown-out", age_s=20),
        log_row(unit, "Warning", "expired already", age_s=4000, lifetime_s=100),
        log_row(uuid4(), "Error", "another unit's", age_s=10),
    ]
    clickhouse_database.client.insert("unit_logs", rows, column_names=COLUMNS)
    # The same entry again, as a replayed batch would write it.
    clickhouse_database.client.insert("unit_logs", rows[:1], column_names=COLUMNS)
    owner = actors.headers["alice"]
    body = listed(client, owner, unit)
    assert body["count"] == 4
    assert [entry["text"] for entry in body["unit_logs"]] == [
        "brown-out",
        "sensor timeout",
        "wifi rssi -61",
        "booted",
    ]
    first = body["unit_logs"][-1]
    assert first == {
        "uuid": str(rows[0][0]),
        "level": "Info",
        "unit_uuid": str(unit),
        "text": "booted",
        "create_datetime": first["create_datetime"],
        "expiration_datetime": first["expiration_datetime"],
    }
    assert datetime.fromisoformat(first["create_datetime"]) == rows[0][4]
    assert datetime.fromisoformat(first["expiration_datetime"]) == rows[0][5]
    own = listed(client, actors.headers["unit"], unit)
    assert own == body
    oldest_first = listed(client, owner, unit, "&order_by_create_date=asc&offset=1&limit=2")
    assert oldest_first["count"] == 4
    assert [entry["text"] for entry in oldest_first["unit_logs"]] == [
        "wifi rssi -61",
        "sensor timeout",
    ]
    severe = listed(client, owner, unit, "&level=Error&level=Critical")
    assert (severe["count"], {entry["level"] for entry in severe["unit_logs"]}) == (
        2,
        {"Error", "Critical"},
    )


def test_only_the_creator_or_the_unit_reads_logs(
    client: TestClient, actors: Actors, settings: Settings
):
    unit = actors.unit_uuid
    other_unit = auth(make_unit_token(uuid_module.uuid4(), settings.resolved_secret_key))
    for agent in ("anonymous", "bob", "admin"):
        response = client.get(f"{LOGS}?uuid={unit}", headers=actors.headers[agent])
        assert response.status_code == 403, (agent, response.text)
    # A token of a unit that does not exist names nobody.
    assert client.get(f"{LOGS}?uuid={unit}", headers=other_unit).status_code == 401
    owner = actors.headers["alice"]
    assert client.get(f"{LOGS}?uuid={uuid4()}", headers=owner).status_code == 404
    for query in (
        "",
        "?uuid=nope",
        f"?uuid={unit}&level=Loud",
        f"?uuid={unit}&limit=501",
        f"?uuid={unit}&offset=-1",
        f"?uuid={unit}&order_by_create_date=up",
    ):
        assert client.get(f"{LOGS}{query}", headers=owner).status_code == 422, query
