"""`PATCH` and `DELETE /units/env/{uuid}` over HTTP, on SQLite and PostgreSQL, with a registry
cloned from a real git repository (docs/compatibility.md#env-file): the creator edits variables the
unit's env.json has, the edit is stored encrypted and survives reads; a reset forgets it.
Nobody else may do either, and a refused edit changes nothing."""

import json
from uuid import UUID

from fastapi import FastAPI
from fastapi.testclient import TestClient

from pepeunit_core.db.models import Unit
from pepeunit_core.settings import Settings

from . import test_units_api
from .test_unit_device_api import check_callers
from .test_units_api import UNITS, Source, World, created, unit_headers

settings = test_units_api.settings
source = test_units_api.source
world = test_units_api.world

ENV = f"{UNITS}/env"


def read_env(client: TestClient, world: World, unit: dict) -> dict:
    response = client.get(f"{ENV}/{unit['uuid']}", headers=world.headers("alice"))
    assert response.status_code == 200, response.text
    return response.json()


def edit(client: TestClient, world: World, unit: dict, values: object, agent: str = "alice"):
    body = {"env_json_string": json.dumps(values)}
    return client.patch(f"{ENV}/{unit['uuid']}", json=body, headers=world.headers(agent))


def stored_env(app: FastAPI, unit: dict) -> dict | None:
    with app.state.context.session_factory() as session:
        cipher_env = session.get_one(Unit, UUID(unit["uuid"])).cipher_env_dict
    return None if cipher_env is None else json.loads(app.state.context.cipher.decrypt(cipher_env))


def test_creator_edits_variables_and_keeps_the_secrets(
    client: TestClient, world: World, settings: Settings, source: Source, app: FastAPI
):
    unit = created(client, world, "env-edit")
    before = read_env(client, world, unit)
    response = edit(client, world, unit, {"WIFI_SSID": "greenhouse", "PU_MQTT_PORT": 8883})
    assert response.status_code == 204, response.text
    after = read_env(client, world, unit)
    assert after == before | {"WIFI_SSID": "greenhouse", "PU_MQTT_PORT": 8883}
    own = client.get(f"{ENV}/{unit['uuid']}", headers=unit_headers(settings, unit))
    assert own.json() == after
    stored = stored_env(app, unit)
    assert stored is not None and stored["WIFI_SSID"] == "greenhouse"
    assert "PU_COMMIT_VERSION" not in stored
    assert after["PU_COMMIT_VERSION"] == source.repository.features
    # A second edit keeps the first one's other values.
    assert edit(client, world, unit, {"PU_MIN_LOG_LEVEL": "Error"}).status_code == 204
    assert read_env(client, world, unit) == after | {"PU_MIN_LOG_LEVEL": "Error"}


def test_the_env_read_is_accepted_back_with_its_commit_version(
    client: TestClient, world: World, source: Source, app: FastAPI
):
    """A 1.x client edits the env it read and sends all of it back, PU_COMMIT_VERSION included:
    the edit is applied and the platform keeps its own commit, whatever the client sent."""
    unit = created(client, world, "env-roundtrip")
    read = read_env(client, world, unit)
    sent = read | {"WIFI_SSID": "round-trip", "PU_COMMIT_VERSION": "0" * 40}
    assert edit(client, world, unit, sent).status_code == 204
    after = read_env(client, world, unit)
    assert after == read | {"WIFI_SSID": "round-trip"}
    assert after["PU_COMMIT_VERSION"] == source.repository.features
    stored = stored_env(app, unit)
    assert stored is not None and "PU_COMMIT_VERSION" not in stored


def test_bad_edits_are_refused_and_change_nothing(
    client: TestClient, world: World, settings: Settings, app: FastAPI
):
    unit = created(client, world, "env-refuse")
    assert edit(client, world, unit, {"WIFI_SSID": "kept"}).status_code == 204
    before = stored_env(app, unit)
    refused = (
        ({"NOT_IN_EXAMPLE": "x"}, "NOT_IN_EXAMPLE"),
        ({"PU_MQTT_PORT": "1883"}, "PU_MQTT_PORT must be an integer"),
        ({"PU_MQTT_PORT": True}, "PU_MQTT_PORT must be an integer"),
        ({"PU_DOMAIN": 5}, "PU_DOMAIN must be a string"),
        ({"PU_MIN_LOG_LEVEL": "Loud"}, "PU_MIN_LOG_LEVEL must be one of"),
        (["WIFI_SSID"], "must be a JSON object"),
    )
    for values, message in refused:
        response = edit(client, world, unit, values)
        assert response.status_code == 422, (values, response.text)
        assert message in response.json()["detail"], (values, response.text)
    for body in ({"env_json_string": "{not json"}, {"env_json_string": 5}, {}, []):
        response = client.patch(f"{ENV}/{unit['uuid']}", json=body, headers=world.headers("alice"))
        assert response.status_code == 422, (body, response.text)
    too_long = {"WIFI_SSID": "a" * settings.max_cipher_length}
    assert edit(client, world, unit, too_long).status_code == 422
    assert stored_env(app, unit) == before
    body = {"env_json_string": json.dumps({"WIFI_SSID": "intruder"})}
    check_callers(client, world, settings, unit, "PATCH", ENV, json=body)
    assert stored_env(app, unit) == before


def test_reset_forgets_edits_and_secrets(
    client: TestClient, world: World, settings: Settings, app: FastAPI
):
    unit = created(client, world, "env-reset")
    first = read_env(client, world, unit)
    assert edit(client, world, unit, {"WIFI_SSID": "edited"}).status_code == 204
    check_callers(client, world, settings, unit, "DELETE", ENV)
    assert read_env(client, world, unit)["WIFI_SSID"] == "edited"
    response = client.delete(f"{ENV}/{unit['uuid']}", headers=world.headers("alice"))
    assert response.status_code == 204, response.text
    assert stored_env(app, unit) is None
    fresh = read_env(client, world, unit)
    assert fresh["WIFI_SSID"] == ""
    assert fresh["PU_SECRET_KEY"] != first["PU_SECRET_KEY"]
    assert read_env(client, world, unit) == fresh
    assert (
        client.delete(f"{ENV}/{unit['uuid']}", headers=unit_headers(settings, unit)).status_code
        == 403
    )
