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
