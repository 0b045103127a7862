"""Broker authorisation (docs/compatibility.md#least-privilege-broker-access) on SQLite and
PostgreSQL: the decision function and the HTTP hook `POST /units/auth` answer the whole matrix of
tests/broker/matrix.py; a body the hook cannot read is a deny with 200; a unit's allowed topics
follow its nodes at once when the units API changes them, and so does the Mosquitto ACL file.
"""

import json
from pathlib import Path
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from control_plane.security import make_unit_token
from control_plane.services.broker.access import (
    BrokerAccess,
    BrokerAction,
    Decision,
    note_broker_access_changed,
)
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import Unit, UnitNode
from pepeunit_core.settings import Settings
from tests.broker.matrix import (
    ACTIONS,
    AGENTS,
    DOMAIN,
    PUBLISH,
    SECRET_KEY,
    SUBSCRIBE,
    Matrix,
    build_matrix,
    expected_allowed,
    subscription_filters,
)
from tests.control_plane_registry.git_sources import SourceRepository
from tests.pepeunit_core.builders import add_node

from .conftest import API, login_token, make_settings, register

AUTH = f"{API}/units/auth"
OUTPUT = UnitNodeType.OUTPUT


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        secret_key=SECRET_KEY,
        domain=DOMAIN,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
        mosquitto_acl_file=tmp_path / "mosquitto" / "pepeunit.acl",
    )


@pytest.fixture
def matrix(app: FastAPI) -> Matrix:
    with app.state.context.session_factory() as session:
        return build_matrix(session)


def matrix_cases(matrix: Matrix) -> list[tuple[str, str, str]]:
    return [
        (agent, topic, action)
        for agent in AGENTS
        for topic in [*subscription_filters(matrix), "$SYS/broker/uptime"]
        for action in ACTIONS
    ]


def wrong_answers(matrix: Matrix, answer) -> list[tuple[str, str, str, bool]]:
    """The cases whose answer differs from docs/compatibility.md#least-privilege-broker-access."""
    return [
        (agent, topic, action, allowed)
        for agent, topic, action in matrix_cases(matrix)
        if (allowed := answer(matrix.usernames[agent], topic, action))
        != expected_allowed(matrix, agent, topic, action)
    ]


def test_the_decision_function_answers_the_matrix(app: FastAPI, settings: Settings, matrix):
    access = BrokerAccess(settings, app.state.context.session_factory)

    def answer(token: str | None, topic: str, action: str) -> bool:
        return access.authorize_token(token, topic, BrokerAction(action)) is Decision.ALLOW

    assert len(matrix_cases(matrix)) > 900
    assert wrong_answers(matrix, answer) == []


def test_the_http_hook_answers_the_matrix(client: TestClient, settings: Settings, matrix):
    if settings.resolved_sqlalchemy_url.startswith("postgresql"):
        pytest.skip("the hook reads the database only through the decision tested above")

    def answer(token: str | None, topic: str, action: str) -> bool:
        response = client.post(AUTH, json={"token": token, "topic": topic, "action": action})
        assert response.status_code == 200, response.text
        result = response.json()
        assert result in ({"result": "allow"}, {"result": "deny"}), result
        return result == {"result": "allow"}

    assert wrong_answers(matrix, answer) == []


def test_the_hook_accepts_emqx_action_names(client: TestClient, matrix: Matrix):
    own_output, own_input = matrix.a.own_output_topic, matrix.a.own_input_topic

    def result(topic: str, action: object) -> str:
        body = {"token": matrix.a.token, "topic": topic, "action": action, "clientid": "x"}
        return client.post(AUTH, json=body).json()["result"]

    for action in ("publish", "PUBLISH", " Publish ", "pub", 2, "2"):
        assert (result(own_output, action), result(own_input, action)) == ("allow", "deny")
    for action in ("subscribe", "Subscribe", "sub", 1, "1"):
        assert (result(own_output, action), result(own_input, action)) == ("deny", "allow")


def valid_question(matrix: Matrix) -> dict:
    return {"token": matrix.a.token, "topic": matrix.a.own_output_topic, "action": PUBLISH}


BAD_BODIES = [
    b"",
    b"not json",
    b"[]",
    b"null",
    b'"text"',
    b"\xff\xfe{}",
    b'{"token": "\\ud800", "topic": "t", "action": "publish"}',
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=repr)
def test_an_unreadable_body_is_a_deny_with_200(client: TestClient, body: bytes):
    response = client.post(AUTH, content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (200, {"result": "deny"})


@pytest.mark.parametrize(
    "change",
    [
        {"token": None},
        {"token": ""},
        {"token": 5},
        {"token": ["a"]},
        {"topic": None},
        {"topic": 5},
        {"topic": ""},
        {"action": None},
        {"action": True},
        {"action": "all"},
        {"action": "receive"},
        {"action": 3},
        {"action": ["publish"]},
    ],
    ids=repr,
)
def test_a_bad_field_is_a_deny_with_200(client: TestClient, matrix: Matrix, change: dict):
    response = client.post(AUTH, json={**valid_question(matrix), **change})
    assert (response.status_code, response.json()) == (200, {"result": "deny"})


@pytest.mark.parametrize("missing", ["token", "topic", "action"])
def test_a_missing_field_is_a_deny_with_200(client: TestClient, matrix: Matrix, missing: str):
    question = valid_question(matrix)
    del question[missing]
    response = client.post(AUTH, json=question)
    assert (response.status_code, response.json()) == (200, {"result": "deny"})


def test_the_hook_ignores_the_auth_header_and_the_content_type(client: TestClient, matrix):
    body = json.dumps(valid_question(matrix)).encode()
    for headers in (
        {"x-auth-token": "garbage"},
        {"x-auth-token": matrix.usernames["user token"] or ""},
        {"content-type": "text/plain"},
    ):
        response = client.post(AUTH, content=body, headers=headers)
        assert (response.status_code, response.json()) == (200, {"result": "allow"})


def test_an_oversized_body_or_token_is_a_deny(client: TestClient, matrix: Matrix):
    huge_topic = {**valid_question(matrix), "topic": "x" * 300_000}
    assert client.post(AUTH, json=huge_topic).json() == {"result": "deny"}
    long_token = {**valid_question(matrix), "token": matrix.a.token + " " * 2000}
    assert client.post(AUTH, json=long_token).json() == {"result": "deny"}


def test_kept_topics_expire_and_changes_of_this_process_apply_at_once(
    app: FastAPI, settings: Settings, matrix: Matrix
):
    session_factory = app.state.context.session_factory
    now = [1000.0]
    access = BrokerAccess(settings, session_factory, cache_seconds=5, clock=lambda: now[0])
    a = access.agent(matrix.a.token)

    def may_publish(topic: str) -> bool:
        return access.authorize(a, topic, BrokerAction.PUBLISH) is Decision.ALLOW

    def add_output(template: str) -> str:
        """A node written by another process: no hook in this one."""
        with session_factory() as session:
            node = add_node(session, session.get_one(Unit, matrix.a.uuid), OUTPUT, template)
            session.commit()
        return f"{DOMAIN}/{node.uuid}/pepeunit"

    assert may_publish(matrix.a.own_output_topic) and access.is_known(a)
    later = add_output("later/pepeunit")
    assert not may_publish(later)
    now[0] += 4.9
    assert not may_publish(later)
    now[0] += 0.2
    assert may_publish(later)

    at_once = add_output("at_once/pepeunit")
    assert not may_publish(at_once)
    note_broker_access_changed()
    assert may_publish(at_once)

    with session_factory() as session:
        session.execute(delete(Unit).where(Unit.uuid == matrix.a.uuid))
        session.commit()
    note_broker_access_changed()
    assert not may_publish(matrix.a.own_output_topic) and not access.is_known(a)


def test_without_reuse_every_question_reads_the_database(
    app: FastAPI, settings: Settings, matrix: Matrix
):
    session_factory = app.state.context.session_factory
    access = BrokerAccess(settings, session_factory, cache_seconds=0)
    a = access.agent(matrix.a.token)
    with session_factory() as session:
        session.execute(delete(UnitNode).where(UnitNode.uuid == matrix.a.output_pepeunit))
        session.commit()
    assert access.authorize(a, matrix.a.own_output_topic, BrokerAction.PUBLISH) is Decision.DENY


def test_an_unreadable_database_denies_units_and_still_lets_the_backend_in(
    settings: Settings, matrix: Matrix, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    engine = make_engine(f"sqlite:///{tmp_path / 'no such directory' / 'pepeunit.sqlite'}")
    access = BrokerAccess(settings, make_session_factory(engine))
    unit, backend = access.agent(matrix.a.token), access.agent(matrix.usernames["backend"])
    publish = BrokerAction.PUBLISH
    assert access.authorize(unit, matrix.a.own_output_topic, publish) is Decision.DENY
    assert not access.is_known(unit)
    assert access.authorize(backend, matrix.a.own_output_topic, publish) is Decision.ALLOW
    assert "its broker access is denied meanwhile" in caplog.text
    engine.dispose()


def schema_example(inputs: list[str], outputs: list[str]) -> bytes:
    sections = {
        "input_base_topic": ["update/pepeunit"],
        "output_base_topic": ["state/pepeunit"],
        "input_topic": inputs,
        "output_topic": outputs,
    }
    return json.dumps(sections).encode()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """A repo whose second commit drops outputs temp/pepeunit and raw for pressure/pepeunit."""
    repository = SourceRepository(tmp_path_factory.mktemp("broker-auth-source"), "unit")
    first = repository.commit(
        "Nodes",
        {
            "schema_example.json": schema_example(["set/pepeunit"], ["temp/pepeunit", "raw"]),
            "env_example.json": b"{}\n",
        },
    )
    second = repository.commit(
        "Other nodes",
        {"schema_example.json": schema_example(["set/pepeunit"], ["pressure/pepeunit"])},
    )
    repository.publish()
    return repository.url, first, second


def node_topics(app: FastAPI, unit_uuid: UUID) -> dict[str, str]:
    with app.state.context.session_factory() as session:
        nodes = session.scalars(select(UnitNode).where(UnitNode.unit_uuid == unit_uuid)).all()
        return {
            node.topic_name: f"{DOMAIN}/{node.uuid}"
            + ("/pepeunit" if node.topic_name.endswith("/pepeunit") else "")
            for node in nodes
        }


def test_units_api_changes_apply_to_the_hook_and_the_acl_file_at_once(
    client: TestClient, app: FastAPI, settings: Settings, source: tuple[str, str, str]
):
    url, first, second = source
    register(client, "alice")
    headers = {"x-auth-token": login_token(client, "alice")}
    registry = client.post(
        f"{API}/repository_registry",
        json={"platform": "Github", "repository_url": url, "is_public_repository": True},
        headers=headers,
    ).json()["uuid"]
    repo = client.post(
        f"{API}/repos",
        json={
            "repository_registry_uuid": registry,
            "default_branch": "main",
            "visibility_level": "Public",
            "name": "repo-broker",
        },
        headers=headers,
    ).json()["uuid"]
    unit_body = {
        "repo_uuid": repo,
        "visibility_level": "Public",
        "name": "broker-unit",
        "is_auto_update_from_repo_unit": False,
        "repo_branch": "main",
        "repo_commit": first,
    }
    response = client.post(f"{API}/units", json=unit_body, headers=headers)
    assert response.status_code == 201, response.text
    unit_uuid = UUID(response.json()["uuid"])
    token = make_unit_token(unit_uuid, SECRET_KEY)
    acl_file = settings.mosquitto_acl_file
    assert acl_file is not None

    def hook(topic: str, action: str) -> str:
        body = {"token": token, "topic": topic, "action": action}
        return client.post(AUTH, json=body).json()["result"]

    def unit_acl_lines() -> list[str]:
        lines = acl_file.read_text().splitlines()
        if f"user {token}" not in lines:
            return []
        start = lines.index(f"user {token}") + 1
        block = lines[start : lines.index("", start) if "" in lines[start:] else None]
        return sorted(block)

    created = node_topics(app, unit_uuid)
    state = f"{DOMAIN}/output_base_topic/{unit_uuid}/state/pepeunit"
    log = f"{DOMAIN}/output_base_topic/{unit_uuid}/log/pepeunit"
    commands = [
        f"{DOMAIN}/input_base_topic/{unit_uuid}/{name}/pepeunit"
        for name in ("env_update", "log_sync", "schema_update", "update")
    ]
    assert unit_acl_lines() == sorted(
        [
            f"topic write {created['temp/pepeunit']}",
            f"topic write {created['raw']}",
            f"topic write {state}",
            f"topic write {log}",
            f"topic read {created['set/pepeunit']}",
            *(f"topic read {topic}" for topic in commands),
        ]
    )
    assert hook(created["temp/pepeunit"], PUBLISH) == "allow"
    assert hook(created["raw"], PUBLISH) == "allow"
    assert hook(created["set/pepeunit"], SUBSCRIBE) == "allow"

    response = client.patch(
        f"{API}/units/{unit_uuid}", json={"repo_commit": second}, headers=headers
    )
    assert response.status_code == 200, response.text
    synced = node_topics(app, unit_uuid)
    assert set(synced) == {"set/pepeunit", "pressure/pepeunit"}
    assert hook(created["temp/pepeunit"], PUBLISH) == "deny"
    assert hook(created["raw"], PUBLISH) == "deny"
    assert hook(synced["pressure/pepeunit"], PUBLISH) == "allow"
    assert hook(synced["set/pepeunit"], SUBSCRIBE) == "allow"
    assert f"topic write {synced['pressure/pepeunit']}" in unit_acl_lines()
    assert f"topic write {created['temp/pepeunit']}" not in unit_acl_lines()

    response = client.delete(f"{API}/units/{unit_uuid}", headers=headers)
    assert response.status_code == 204, response.text
    assert hook(synced["pressure/pepeunit"], PUBLISH) == "deny"
    assert hook(state, PUBLISH) == "deny"
    assert unit_acl_lines() == []
    assert token not in acl_file.read_text()


def test_the_hook_as_authenticator_keeps_platform_client_ids_for_the_backend(
    client: TestClient, settings: Settings, matrix: Matrix
):
    """Issue 11, finding 1 on EMQX: a unit token must not open (take over) a session with the
    dataflow's client id, nor publish or subscribe holding one."""
    flow_id = f"{settings.resolved_flow_client_id}-p0"
    unit, backend = matrix.usernames["A"], matrix.usernames["backend"]

    def connect(token: str | None, client_id: str | None) -> str:
        body = {"token": token, "clientid": client_id, "action": "connect"}
        return client.post(AUTH, json=body).json()["result"]

    assert connect(backend, flow_id) == "allow"
    assert connect(backend, "pepeunit-flow-p0") == "allow"
    assert connect(unit, str(matrix.a.uuid)) == "allow"
    for client_id in (flow_id, "pepeunit-flow-p0", "pepeunit-api-1"):
        assert connect(unit, client_id) == "deny", client_id
    assert connect(None, "anything") == "deny"
    assert connect(matrix.usernames["user token"], "anything") == "deny"

    def publish(token: str | None, client_id: str) -> str:
        body = {"token": token, "clientid": client_id, "topic": matrix.a.own_output_topic,
                "action": "publish"}  # fmt: skip
        return client.post(AUTH, json=body).json()["result"]

    assert (publish(unit, str(matrix.a.uuid)), publish(unit, flow_id)) == ("allow", "deny")
    assert publish(backend, flow_id) == "allow"
