"""`/pepeunit/graphql`: the transport and the error shape (docs/graphql.md)."""

import html
import re

from fastapi.testclient import TestClient

from control_plane.graphql.explorer import EXAMPLE
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


def test_a_browser_gets_a_self_contained_page_whose_example_runs(client: TestClient):
    page = client.get(GRAPHQL, headers={"accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", page.text) == []
    assert "fetch(location.pathname" in page.text
    shown = re.search(r'<textarea id="query"[^>]*>(.*?)</textarea>', page.text, re.DOTALL)
    example = html.unescape(shown.group(1))
    assert example == EXAMPLE
    answer = client.post(GRAPHQL, json={"query": example}).json()
    assert answer["data"]["getBaseMetrics"]["unitNodeCount"] == 0
