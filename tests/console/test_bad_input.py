"""Bad input to any console route is answered with a message, never a 500: every route the app
serves (found by walking it, so a page added later is checked too), signed in, with each path
parameter set to a resource of every kind, a missing one and garbage, each form sent empty and
full of garbage, and each query full of garbage."""

from typing import get_type_hints
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from control_plane.console.auth import StreamAgent
from control_plane.console.routing import SAFE_METHODS
from control_plane.console.session import CSRF_HEADER
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import User
from pepeunit_core.settings import Settings
from tests.console.console_client import ConsoleClient, register
from tests.console.test_csrf import console_routes
from tests.control_plane.conftest import make_settings
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit
from tests.services.clickhouse import ClickHouseDatabase

GARBAGE = ["", "not-a-uuid", "-1", "1e309", "\x00", "ü" * 3, "x" * 10_000, "<script>", "null"]
FIELDS = [
    "login", "password", "password_again", "credentials", "q", "page", "name", "value",
    "repository_url", "platform", "visibility", "agent", "agent_type", "agent_uuid",
    "output_node_uuid", "input_node_uuid", "edge_uuid", "command", "state", "yaml", "config",
    "levels", "send",
]  # fmt: skip
MISSING = "7d1c0f3e-0000-4000-8000-000000000000"


def endpoint_types(route: APIRoute) -> list[object]:
    return list(get_type_hints(route.endpoint, include_extras=True).values())


def stream_paths(app: FastAPI) -> set[str]:
    """The event streams (routes taking a StreamAgent): they answer for minutes by design, so
    they are sent only uuids of nothing and garbage, which they refuse at once."""
    return {
        context.path
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and StreamAgent
        in get_type_hints(context.original_route.endpoint, include_extras=True).values()
    }


@pytest.fixture
def settings(database_url: str, clickhouse_database: ClickHouseDatabase) -> Settings:
    apply_clickhouse_migrations(clickhouse_database.client)
    return make_settings(
        database_url, secure=False, clickhouse_database_url=clickhouse_database.dsn
    )


def seeded_uuids(app: FastAPI, admin: UUID) -> list[str]:
    """A real registry, repo, unit and output and input node, and a uuid of nothing."""
    with app.state.context.session_factory() as session:
        user = session.get_one(User, admin)
        registry = add_registry(session, user)
        repo = add_repo(session, user, registry)
        unit = add_unit(session, user, repo, "bad-input")
        output = add_node(session, unit, UnitNodeType.OUTPUT, "temperature/pepeunit")
        node_input = add_node(session, unit, UnitNodeType.INPUT, "setpoint/pepeunit")
        session.commit()
        found = [registry.uuid, repo.uuid, unit.uuid, output.uuid, node_input.uuid]
    return [str(uuid) for uuid in found]


def concrete_paths(path: str, uuids: list[str]) -> list[str]:
    if "{uuid}" not in path:
        return [path]
    return [path.replace("{uuid}", value) for value in [*uuids, MISSING, "not-a-uuid", "%00"]]


def assert_answered(method: str, url: str, answer) -> None:
    assert answer.status_code < 500, (method, url[:200], answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        assert answer.text.strip(), (method, url[:200], "an empty refusal")


@pytest.mark.timeout(600)
def test_bad_input_to_any_route_is_a_message_not_a_500(console: ConsoleClient, app: FastAPI):
    admin = register(console, "admin")
    uuids = seeded_uuids(app, admin)
    console.sign_in("admin")
    routes = list(console_routes(app))
    streams = stream_paths(app)
    assert len(routes) >= 20 and len(streams) >= 3
    checked = 0
    for path, methods in routes:
        for url in concrete_paths(path, [] if path in streams else uuids):
            if url == path and path in streams:
                continue  # a stream of the user's own units: it answers for minutes
            for method in sorted(methods):
                if method in SAFE_METHODS:
                    for value in GARBAGE:
                        query = {"q": value, "page": value, "levels": value, "kind": value}
                        assert_answered(method, url, console.request(method, url, params=query))
                    checked += 1
                    continue
                if url.endswith("/sign-out"):
                    continue  # tested on its own; here it would end the session
                headers = {CSRF_HEADER: console.csrf(), "HX-Request": "true"}
                bodies = [{}] + [dict.fromkeys(FIELDS, value) for value in GARBAGE]
                for body in bodies:
                    answer = console.request(method, url, data=body, headers=headers)
                    assert_answered(method, url, answer)
                answer = console.request(
                    method,
                    url,
                    files={"file": ("x.csv", b"\xff\xfe garbage,\n" * 100, "text/csv")},
                    headers=headers,
                )
                assert_answered(method, url, answer)
                checked += 1
    assert checked >= 20
