"""What is served besides the resources: instance info, docs, OpenAPI, and the error shape of
routing errors and unexpected exceptions."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.app import create_app

from .conftest import API, checked_client, make_settings

# Nothing here touches the database, so it needs no migrated one.


@pytest.fixture
def bare_app(tmp_path: Path) -> FastAPI:
    return create_app(make_settings(f"sqlite:///{tmp_path / 'unused.sqlite'}", secure=False))


@pytest.fixture
def bare_client(bare_app: FastAPI) -> Iterator[TestClient]:
    with checked_client(bare_app) as client:
        yield client


def test_instance_info(bare_client: TestClient):
    response = bare_client.get("/pepeunit")
    assert response.status_code == 200
    info = response.json()
    assert info["name"] == "Pepeunit"
    assert info["version"] and info["description"]
    assert info["swagger"] == "http://pepeunit.test/pepeunit/docs"
    assert info["graphql"] == "http://pepeunit.test/pepeunit/graphql"
    assert (info["grafana"], info["telegram_bot"]) == (None, None)
    assert info["feature_flags"] == {
        "pu_ff_telegram_bot_enable": False,
        "pu_ff_grafana_integration_enable": False,
        "pu_ff_datapipe_enable": True,
        "pu_ff_datapipe_default_last_value_enable": True,
        "pu_ff_prometheus_enable": False,
    }
    assert isinstance(info["authors"], list) and "license" in info


def test_instance_info_links_the_configured_grafana_and_bot(tmp_path: Path):
    settings = make_settings(
        f"sqlite:///{tmp_path / 'unused.sqlite'}",
        grafana_url="https://grafana.example",
        telegram_token="123:abc",
        telegram_bot_link="https://t.me/example_bot",
        ff_datapipe_default_last_value_enable=False,
    )
    with checked_client(create_app(settings)) as client:
        info = client.get("/pepeunit").json()
    assert info["swagger"] == "https://pepeunit.test/pepeunit/docs"
    assert info["grafana"] == "https://grafana.example"
    assert info["telegram_bot"] == "https://t.me/example_bot"
    flags = info["feature_flags"]
    assert flags["pu_ff_telegram_bot_enable"] and flags["pu_ff_grafana_integration_enable"]
    assert not flags["pu_ff_datapipe_default_last_value_enable"]


def test_docs_and_openapi(bare_client: TestClient):
    docs = bare_client.get("/pepeunit/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert f"{API}/openapi.json" in docs.text
    schema = bare_client.get(f"{API}/openapi.json").json()
    assert {f"{API}/users", f"{API}/users/auth", f"{API}/users/{{uuid}}"} <= set(schema["paths"])
    assert f"{API}/users/block/{{uuid}}" in schema["paths"]
    assert "/pepeunit" in schema["paths"]
    schemes = schema["components"]["securitySchemes"].values()
    assert {"type": "apiKey", "in": "header", "name": "x-auth-token"} in schemes
    assert "hashed_password" not in str(schema) and "cipher_dynamic_salt" not in str(schema)


def test_routing_errors_have_a_detail(bare_client: TestClient):
    missing = bare_client.get(f"{API}/nothing-here")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    wrong_method = bare_client.delete(f"{API}/users")
    assert wrong_method.status_code == 405 and wrong_method.json() == {
        "detail": "Method Not Allowed"
    }


def test_unexpected_errors_are_a_generic_500(bare_app: FastAPI, caplog: pytest.LogCaptureFixture):
    def explode() -> None:
        raise RuntimeError("secret internals")

    bare_app.add_api_route("/pepeunit/explode", explode)
    with TestClient(bare_app, raise_server_exceptions=False) as client:
        response = client.get("/pepeunit/explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "500: Internal Server Error"}
    assert response.headers["content-length"] == str(len(response.content))
    assert "RuntimeError on GET /pepeunit/explode" in caplog.text
