"""The OpenAPI document and the documentation pages (issue 11.9, issue 12.6).

The document declares the error body the API really sends (`{"detail": "<status>: <code>:
<Kind>: <message>"}`) under every error status an operation answers, and nothing of FastAPI's
`HTTPValidationError`. The documentation pages load their scripts and styles from the instance
itself (no CDN), and the document also answers at `{prefix}/openapi.json`.
"""

import re
from html.parser import HTMLParser

import jsonschema
from fastapi.testclient import TestClient

from .conftest import API

PREFIX = "/pepeunit"


def document(client: TestClient) -> dict:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.json()


def operation(doc: dict, method: str, path: str) -> dict:
    return doc["paths"][f"{API}{path}"][method]


def error_schema_of(doc: dict, method: str, path: str, status: int) -> dict:
    """The schema of the `status` response, with the document's components to resolve refs."""
    declared = operation(doc, method, path)["responses"][str(status)]
    schema = declared["content"]["application/json"]["schema"]
    return {**schema, "components": doc["components"]}


def test_no_operation_declares_fastapi_validation_errors(client: TestClient) -> None:
    doc = document(client)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)


def test_a_422_body_matches_its_declared_schema(client: TestClient) -> None:
    response = client.post(f"{API}/users", json={"login": "x" * 50, "password": "pass-word.1"})
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["detail"], str)
    jsonschema.validate(body, error_schema_of(document(client), "post", "/users", 422))


def test_every_error_status_an_operation_answers_is_declared(client: TestClient) -> None:
    doc = document(client)

    def declared(method: str, path: str) -> set[str]:
        return set(operation(doc, method, path)["responses"])

    # A uuid in the path, a token: unknown (404), bad token (401), not allowed (403), invalid.
    assert {"401", "403", "404", "422"} <= declared("get", "/units/{uuid}")
    # An upload: a body Starlette cannot parse is a 400.
    assert "400" in declared("post", "/unit_nodes/set_data_pipe_config")
    # A feature turned off; asked too soon.
    assert "405" in declared("get", "/users/generate_verification_link/")
    assert "405" in declared("post", "/bot")
    assert "429" in declared("patch", "/repository_registry/update_local_repository/{uuid}")
    # The broker hook never fails: a body it cannot read is a deny.
    assert declared("post", "/units/auth") == {"200"}


def test_the_declared_error_statuses_are_the_ones_answered(client: TestClient) -> None:
    doc = document(client)
    for headers, status in (({"x-auth-token": "not-a-token"}, 401), ({}, 403)):
        response = client.get(f"{API}/users", headers=headers)
        assert response.status_code == status
        jsonschema.validate(response.json(), error_schema_of(doc, "get", "/users", status))


class _AssetLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.links.append(value)


def test_the_documentation_pages_load_only_local_assets(client: TestClient) -> None:
    for page in ("docs", "redoc"):
        response = client.get(f"{PREFIX}/{page}")
        assert response.status_code == 200, page
        assert response.headers["content-type"].startswith("text/html")
        assert not re.search(r"https?://", response.text), f"{page} names a remote URL"
        parser = _AssetLinks()
        parser.feed(response.text)
        assert parser.links, page
        for link in parser.links:
            assert link.startswith(f"{PREFIX}/docs-assets/"), link
            asset = client.get(link)
            assert asset.status_code == 200, link
            assert len(asset.content) > 1000, link


def test_the_document_answers_at_the_app_prefix_too(client: TestClient) -> None:
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.json() == document(client)
