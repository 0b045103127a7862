"""`GET /metrics/` over HTTP, on SQLite and PostgreSQL (docs/operations.md#metrics): entity counts
for any caller, recounted once the cache has aged."""

from dataclasses import replace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.services.metrics import CachedMetrics

from .conftest import API, CHEAP_ARGON2, Actors, checked_client, make_settings

METRICS = f"{API}/metrics/"


def test_counts_for_every_caller(client: TestClient, actors: Actors):
    expected = {
        "user_count": 3,
        "repository_registry_count": 1,
        "repo_count": 1,
        "unit_count": 1,
        "unit_node_count": 0,
        "unit_node_edge_count": 0,
    }
    for agent in ("anonymous", "alice", "bob", "admin", "unit"):
        response = client.get(METRICS, headers=actors.headers[agent])
        assert response.status_code == 200, (agent, response.text)
        assert response.json() == expected


def test_counts_are_reused_until_they_age(database_url: str):
    now = [0.0]
    app: FastAPI = create_app(
        make_settings(database_url, metrics_cache_seconds=60), password_hasher=CHEAP_ARGON2
    )
    app.state.context = replace(app.state.context, metrics=CachedMetrics(60, clock=lambda: now[0]))
    with checked_client(app) as client:
        client.post(f"{API}/users", json={"login": "first", "password": "pass-word.1"})
        assert client.get(METRICS).json()["user_count"] == 1
        client.post(f"{API}/users", json={"login": "second", "password": "pass-word.1"})
        now[0] = 59.0
        assert client.get(METRICS).json()["user_count"] == 1
        now[0] = 60.0
        assert client.get(METRICS).json()["user_count"] == 2
