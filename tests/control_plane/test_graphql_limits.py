"""What one GraphQL request may ask (docs/graphql.md#limits): abusive documents are refused
quickly, before any resolver runs (no SQL statement is executed), while a real client's
introspection query passes."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from graphql import get_introspection_query
from sqlalchemy import event
from starlette.types import Receive, Scope, Send

from control_plane.app import create_app
from control_plane.graphql.limits import (
    MAX_ALIASES,
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_QUERY_CHARACTERS,
    MAX_TOKENS,
)
from pepeunit_core.settings import Settings

from .conftest import CHEAP_ARGON2, checked_client, make_settings

GRAPHQL = "/pepeunit/graphql"
QUICK_S = 0.1


class ServerTime:
    """The app, timed from the request's arrival to the end of its response: the CPU time of
    the thread that serves it (the test client's event loop), which other processes on a busy
    machine do not stretch as they stretch wall time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.last_s = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.thread_time()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last_s = time.thread_time() - started


@pytest.fixture
def timed(app: FastAPI) -> ServerTime:
    return ServerTime(app)


@pytest.fixture
def timed_client(timed: ServerTime) -> Iterator[TestClient]:
    with checked_client(timed) as client:  # type: ignore[arg-type]
        client.post(GRAPHQL, json={"query": "{ getBaseMetrics { userCount } }"})  # warm
        yield client


@contextmanager
def counted_statements(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = app.state.context.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def refused_quickly(client: TestClient, timed: ServerTime, body: object) -> list[str]:
    """The error messages of a request that must run no resolver (no SQL statement), quickly:
    the best of three tries, as other work on a shared machine only ever adds time."""
    times = []
    for _ in range(3):
        with counted_statements(timed.app) as statements:
            answer = client.post(GRAPHQL, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] is None
        assert statements == []
        times.append(timed.last_s)
    assert min(times) < QUICK_S, times
    return [error["message"] for error in answer.json()["errors"]]


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{n}: getBaseMetrics {{ userCount }}" for n in range(count)) + " }"


def test_a_thousand_aliases_are_refused(timed_client: TestClient, timed: ServerTime):
    (message,) = refused_quickly(timed_client, timed, {"query": aliased(1000)})
    assert message.startswith(f"Syntax Error: Document contains more than {MAX_TOKENS} tokens")


def test_more_aliases_than_allowed_are_refused(timed_client: TestClient, timed: ServerTime):
    (message,) = refused_quickly(timed_client, timed, {"query": aliased(MAX_ALIASES + 1)})
    assert message == f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"
    answer = timed_client.post(GRAPHQL, json={"query": aliased(MAX_ALIASES)})
    assert len(answer.json()["data"]) == MAX_ALIASES


def test_deep_nesting_is_refused(timed_client: TestClient, timed: ServerTime):
    levels = MAX_DEPTH + 1
    query = "{ getBaseMetrics " + "{ userCount " * levels + "}" * levels + " }"
    messages = refused_quickly(timed_client, timed, {"query": query})
    assert messages == [f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}"]
    much_deeper = "{ getBaseMetrics " + "{ userCount " * 1000 + "}" * 1000 + " }"
    messages = refused_quickly(timed_client, timed, {"query": much_deeper})
    assert messages == ["Syntax Error: Document is nested too deeply. Parsing aborted."]


def test_deep_introspection_is_refused(timed_client: TestClient, timed: ServerTime):
    query = "{ __schema { types { fields { type { fields { type { fields { type { fields { name "
    query += "} } } } } } } } } }"
    (message,) = refused_quickly(timed_client, timed, {"query": query})
    assert message == "Maximum introspection depth exceeded"


def test_a_huge_query_is_refused(timed_client: TestClient, timed: ServerTime):
    longest = "{ getBaseMetrics { " + "userCount " * ((MAX_QUERY_CHARACTERS - 21) // 10) + "} }"
    assert len(longest) <= MAX_QUERY_CHARACTERS
    (message,) = refused_quickly(timed_client, timed, {"query": longest})
    assert message == (
        f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted."
    )
    huge = "{ getBaseMetrics { " + "userCount " * 300_000 + "} }"  # 3 MB
    (message,) = refused_quickly(timed_client, timed, {"query": huge})
    assert message == f"The query has {len(huge)} characters. Allowed: {MAX_QUERY_CHARACTERS}"


def test_a_long_list_is_refused(timed_client: TestClient, timed: ServerTime, settings: Settings):
    query = "query($uuids: [String!]) { getBaseMetrics { userCount } }"
    uuids = ["x"] * (settings.max_pagination_size + 1)
    body = {"query": query, "variables": {"uuids": uuids}}
    (message,) = refused_quickly(timed_client, timed, body)
    assert message == f"A list variable holds {len(uuids)} items. Allowed: 500"
    literal = "{ getBaseMetrics(uuids: [" + '"x" ' * 501 + "]) { userCount } }"
    messages = refused_quickly(timed_client, timed, {"query": literal})
    assert "A list holds 501 items. Allowed: 500" in messages


def test_a_body_over_the_bound_is_413_unread(client: TestClient):
    query = "{ getBaseMetrics { userCount } }" + " " * MAX_BODY_BYTES
    answer = client.post(GRAPHQL, json={"query": query})
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"The request body is larger than {MAX_BODY_BYTES} bytes"}


def test_batching_is_refused(client: TestClient):
    batch = [{"query": "{ getBaseMetrics { userCount } }"}] * 2
    answer = client.post(
        GRAPHQL, content=json.dumps(batch), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json() == {"detail": "Batching is not enabled"}


def test_a_clients_introspection_passes_the_limits(client: TestClient):
    answer = client.post(GRAPHQL, json={"query": get_introspection_query(descriptions=True)})
    assert answer.status_code == 200
    body = answer.json()
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_introspection_can_be_switched_off(backend: str, migrated_sqlite_url: str):
    settings = make_settings(migrated_sqlite_url, graphql_introspection=False)
    with checked_client(create_app(settings, password_hasher=CHEAP_ARGON2)) as client:
        answer = client.post(GRAPHQL, json={"query": "{ __schema { queryType { name } } }"})
        messages = [error["message"] for error in answer.json()["errors"]]
        assert (
            "GraphQL introspection has been disabled, but the requested query contained the "
            "field '__schema'."
        ) in messages
        plain = client.post(GRAPHQL, json={"query": "{ getBaseMetrics { userCount } }"})
        assert plain.json()["data"]["getBaseMetrics"]["userCount"] >= 0
