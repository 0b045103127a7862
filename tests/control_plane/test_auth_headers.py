"""`Authorization: Bearer <token>` works as `x-auth-token` does (issue 12.14): same caller, same
refusals; a malformed Authorization header is refused with a message, never ignored (the
request used to run anonymously)."""

import pytest
from fastapi.testclient import TestClient

from .conftest import API, Actors


def bearer(actors: Actors, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {actors.headers[name]['x-auth-token']}"}


def test_a_bearer_token_identifies_the_caller_as_x_auth_token_does(
    client: TestClient, actors: Actors
) -> None:
    url = f"{API}/users/{actors.alice_uuid}"
    by_header = client.get(url, headers=actors.headers["alice"])
    by_bearer = client.get(url, headers=bearer(actors, "alice"))
    assert by_bearer.status_code == by_header.status_code == 200
    assert by_bearer.json() == by_header.json()
    # What only a user may do works for the bearer of a user token, and only for them.
    assert client.get(f"{API}/users", headers=bearer(actors, "alice")).status_code == 200
    assert client.get(f"{API}/users").status_code == 403
    # A unit token as Bearer is the unit: it reads its own state storage.
    state = f"{API}/units/get_state_storage/{actors.unit_uuid}"
    assert client.get(state, headers=bearer(actors, "unit")).status_code == 200
    assert client.get(state, headers=bearer(actors, "bob")).status_code == 403
    # Both headers with the same token are fine.
    both = {**actors.headers["alice"], **bearer(actors, "alice")}
    assert client.get(f"{API}/users", headers=both).status_code == 200


def test_a_bad_bearer_token_is_refused_as_a_bad_x_auth_token_is(
    client: TestClient, actors: Actors
) -> None:
    for headers in ({"x-auth-token": "not.a.token"}, {"Authorization": "Bearer not.a.token"}):
        response = client.get(f"{API}/users", headers=headers)
        assert response.status_code == 401
        assert response.json()["detail"] == "401: 1: No Access: Token is invalid"


@pytest.mark.parametrize(
    "value",
    ["Basic YWxpY2U6cGFzcw==", "Bearer", "Bearer ", "Token abc", "abc", "Bearer a b"],
)
def test_a_malformed_authorization_header_is_refused_with_a_message(
    client: TestClient, value: str
) -> None:
    response = client.get(f"{API}/repos", headers={"Authorization": value})
    assert response.status_code == 401, value
    detail = response.json()["detail"]
    assert detail.startswith("401: 1: No Access: The Authorization header must be 'Bearer <token>'")


def test_two_different_tokens_are_refused(client: TestClient, actors: Actors) -> None:
    headers = {**actors.headers["alice"], **bearer(actors, "bob")}
    response = client.get(f"{API}/users", headers=headers)
    assert response.status_code == 401
    assert "x-auth-token and Authorization carry different tokens" in response.json()["detail"]


def test_the_document_offers_both_ways(client: TestClient) -> None:
    document = client.get(f"{API}/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
    }
    security = document["paths"][f"{API}/users"]["get"]["security"]
    assert {"APIKeyHeader": []} in security and {"HTTPBearer": []} in security
