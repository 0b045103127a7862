"""Cross-origin access for the origins in PU_CORS_ORIGINS (docs/graphql.md#cors): preflights of
REST and GraphQL answered for them and for no one else, and GraphQL WebSocket handshakes from
other origins refused."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from control_plane.app import create_app

from .conftest import API, make_settings

ALLOWED = "https://app.example"
STRANGER = "https://evil.example"
GRAPHQL = "/pepeunit/graphql"


def preflight(client: TestClient, path: str, origin: str) -> dict[str, str]:
    answer = client.options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-auth-token, content-type",
        },
    )
    return {"status": str(answer.status_code), **answer.headers}


@pytest.fixture
def cors_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(f"sqlite:///{tmp_path / 'unused.sqlite'}", cors_origins=(ALLOWED,))
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("path", [GRAPHQL, f"{API}/users/auth", "/pepeunit"])
def test_a_listed_origin_passes_the_preflight(cors_client: TestClient, path: str):
    answer = preflight(cors_client, path, ALLOWED)
    assert answer["status"] == "200"
    assert answer["access-control-allow-origin"] == ALLOWED
    allowed_headers = answer["access-control-allow-headers"].lower()
    assert "x-auth-token" in allowed_headers and "content-type" in allowed_headers
    assert "POST" in answer["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in answer  # tokens travel in headers

    reply = cors_client.get("/pepeunit", headers={"origin": ALLOWED})
    assert reply.headers["access-control-allow-origin"] == ALLOWED


def test_another_origin_gets_no_grant(cors_client: TestClient):
    answer = preflight(cors_client, GRAPHQL, STRANGER)
    assert answer["status"] == "400"
    assert "access-control-allow-origin" not in answer
    reply = cors_client.get("/pepeunit", headers={"origin": STRANGER})
    assert "access-control-allow-origin" not in reply.headers


def test_no_origin_is_listed_by_default(tmp_path: Path):
    settings = make_settings(f"sqlite:///{tmp_path / 'unused.sqlite'}")
    with TestClient(create_app(settings)) as client:
        answer = preflight(client, GRAPHQL, ALLOWED)
    assert answer["status"] == "405"
    assert "access-control-allow-origin" not in answer


def test_websocket_handshakes_from_other_origins_are_refused(cors_client: TestClient):
    protocols = ["graphql-transport-ws"]
    with cors_client.websocket_connect(
        GRAPHQL, subprotocols=protocols, headers={"origin": ALLOWED}
    ) as socket:
        socket.send_json({"type": "connection_init", "payload": {}})
        assert socket.receive_json() == {"type": "connection_ack"}
    with (
        pytest.raises(WebSocketDisconnect),
        cors_client.websocket_connect(
            GRAPHQL, subprotocols=protocols, headers={"origin": STRANGER}
        ),
    ):
        pass
