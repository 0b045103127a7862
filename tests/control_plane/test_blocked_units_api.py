"""Blocking a user cuts off their units on the API (issue 11.6): the broker hook `/units/auth`
denies their tokens and unit-token routes (the env read) refuse them, until they are unblocked;
other agents are unaffected. On SQLite and PostgreSQL."""

from fastapi.testclient import TestClient

from control_plane.security import make_backend_token
from pepeunit_core.settings import Settings

from . import test_units_api
from .conftest import API
from .test_units_api import UNITS, World, created, unit_headers

settings = test_units_api.settings
source = test_units_api.source
world = test_units_api.world

AUTH = f"{API}/units/auth"


def hook_answer(client: TestClient, token: str, topic: str) -> str:
    question = {"token": token, "topic": topic, "action": "publish"}
    response = client.post(AUTH, json=question)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_a_blocked_users_units_are_refused_until_unblocked(
    client: TestClient, world: World, settings: Settings
):
    unit = created(client, world, "blocked-owner-unit")
    headers = unit_headers(settings, unit)
    token = str(headers["x-auth-token"])
    state_topic = f"{settings.domain}/output_base_topic/{unit['uuid']}/state/pepeunit"
    backend = make_backend_token(settings.domain, settings.resolved_secret_key)
    env_url = f"{UNITS}/env/{unit['uuid']}"
    admin, alice = world.headers("admin"), world.headers("alice")

    def env_status() -> int:
        return client.get(env_url, headers=headers).status_code

    assert (env_status(), hook_answer(client, token, state_topic)) == (200, "allow")

    blocked = client.patch(f"{API}/users/block/{world.actors.alice_uuid}", headers=admin)
    assert blocked.status_code == 204, blocked.text
    refused = client.get(env_url, headers=headers)
    assert refused.status_code == 403, refused.text
    assert "blocked" in refused.json()["detail"]
    assert hook_answer(client, token, state_topic) == "deny"
    assert hook_answer(client, backend, state_topic) == "allow"

    unblocked = client.patch(f"{API}/users/unblock/{world.actors.alice_uuid}", headers=admin)
    assert unblocked.status_code == 204, unblocked.text
    assert (env_status(), hook_answer(client, token, state_topic)) == (200, "allow")
    assert client.get(env_url, headers=alice).status_code == 200
