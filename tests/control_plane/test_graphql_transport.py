"""`/pepeunit/graphql`: the transport and the error shape (docs/graphql.md)."""

from fastapi.testclient import TestClient

from tests.control_plane.conftest import auth, login_token, register

GRAPHQL = "/pepeunit/graphql"
METRICS = "{ getBaseMetrics { userCount unitCount } }"


def test_an_anonymous_caller_reads_the_metrics_and_a_bad_token_fails_the_field(
    client: TestClient,
):
    register(client, "alice")
    answer = client.post(GRAPHQL, json={"query": METRICS})
    assert answer.status_code == 200
    assert answer.json() == {"data": {"getBaseMetrics": {"userCount": 1, "unitCount": 0}}}

    refused = client.post(GRAPHQL, json={"query": METRICS}, headers=auth("not-a-token"))
    assert refused.status_code == 200
    (error,) = refused.json()["errors"]
    assert error["message"].startswith("401: 1: No Access: ")
    assert error["extensions"] == {"code": 1, "status": 401}
    assert error["path"] == ["getBaseMetrics"]


def test_a_user_token_is_read_from_the_reference_header(client: TestClient):
    register(client, "alice")
    token = login_token(client, "alice")
    answer = client.post(GRAPHQL, json={"query": METRICS}, headers=auth(token))
    assert answer.json()["data"]["getBaseMetrics"]["userCount"] == 1


def test_an_empty_token_header_is_the_anonymous_caller_as_1x_frontend_sends_it(
    client: TestClient,
):
    register(client, "alice")
    answer = client.post(GRAPHQL, json={"query": METRICS}, headers={"x-auth-token": ""})
    assert answer.json() == {"data": {"getBaseMetrics": {"userCount": 1, "unitCount": 0}}}
    refused = client.post(
        GRAPHQL, json={"query": "{ getUsers(filters: {}) { count } }"}, headers={"x-auth-token": ""}
    )
    (error,) = refused.json()["errors"]
    assert error["extensions"]["status"] == 403  # anonymous, not an invalid token (401)
