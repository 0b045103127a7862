"""Error messages say what is wrong (issue 12.12), in the reference's shape
`"<status>: <code>: <Kind>: <message>"`: a 404 names the object, a malformed JSON body says
where and what, a too-long value names the field and the limit."""

import re
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from .conftest import API, Actors

SHAPE = re.compile(r"\d{3}: \d+: [A-Za-z ]+: .+")


@pytest.mark.parametrize(
    ("method", "path", "what"),
    [
        ("get", "/units/{uuid}", "Unit"),
        ("get", "/units/env/{uuid}", "Unit"),
        ("get", "/repos/{uuid}", "Repo"),
        ("get", "/unit_nodes/{uuid}", "Unit node"),
        ("get", "/users/{uuid}", "User"),
        ("get", "/grafana/get_dashboard/{uuid}", "Dashboard"),
        ("get", "/repository_registry/{uuid}", "Repository registry"),
    ],
)
def test_a_404_names_the_object(
    client: TestClient, actors: Actors, method: str, path: str, what: str
) -> None:
    missing = uuid4()
    response = client.request(
        method, f"{API}{path.format(uuid=missing)}", headers=actors.headers["alice"]
    )
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == f"404: 2: Validation Error: {what} {missing}: not found"


def test_a_404_for_a_uuid_in_the_body_names_it(client: TestClient, actors: Actors) -> None:
    missing = uuid4()
    response = client.post(
        f"{API}/units",
        json={"repo_uuid": str(missing), "visibility_level": "Public", "name": "unit-x"},
        headers=actors.headers["alice"],
    )
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == f"404: 2: Validation Error: Repo {missing}: not found"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"login": "alice",\n "password" "x"}', "Expecting ':' delimiter at line 2, column 13"),
        ('{"login": ', "Expecting value at line 1, column 11"),
        ("nul", "Expecting value at line 1, column 1"),
        ('{"login": "a"}}', "Extra data at line 1, column 15"),
    ],
)
def test_a_malformed_json_body_is_located(client: TestClient, body: str, where: str) -> None:
    response = client.post(
        f"{API}/users", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert SHAPE.fullmatch(detail), detail
    assert detail.startswith(f"422: 9: JSON Decode Error: body: {where} "), detail


def test_a_too_long_value_names_the_field_and_the_limit(client: TestClient, actors: Actors) -> None:
    # A string constrained after a custom check: pydantic alone says "Value should have at
    # most 65536 items", naming neither the field nor characters.
    response = client.patch(
        f"{API}/unit_nodes/set_state_input/{uuid4()}",
        json={"state": "x" * 70_000},
        headers=actors.headers["alice"],
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "422: 2: Validation Error: body.state: at most 65536 characters (got 70000)"
    )
    response = client.post(f"{API}/users", json={"login": "x" * 30, "password": "p" * 7})
    assert response.json()["detail"] == (
        "422: 2: Validation Error: body.login: at most 20 characters (got 30); "
        "body.password: at least 8 characters (got 7)"
    )
    response = client.get(
        f"{API}/units",
        params={"uuids": [str(uuid4()) for _ in range(501)]},
        headers=actors.headers["alice"],
    )
    assert response.status_code == 422
    assert "query.uuids: at most 500 items (got 501)" in response.json()["detail"]


def test_an_unparsable_upload_says_why(client: TestClient) -> None:
    response = client.post(
        f"{API}/unit_nodes/check_data_pipe_config",
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--x--\r\n",
        headers={"content-type": "multipart/form-data"},
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail == "400: 2: Validation Error: Missing boundary in multipart."
