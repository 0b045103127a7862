"""GraphQL subscriptions over WebSocket (docs/graphql.md#subscriptions), fed by the live
dataflow through a real Mosquitto: a unit publishes a value, a state report and log entries as
a device does, and its creator's subscriptions receive each within a second; a user without
access to the unit receives nothing but the error of the matching query."""

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Unit, UnitNode, User
from pepeunit_core.settings import Settings
from pepeunit_core.topics import ReportTopicName, report_topic
from tests.flows.support import (
    DOMAIN,
    Publisher,
    flow_settings,
    pipeline_config,
    running_flow,
    wait_until,
)
from tests.pepeunit_core.builders import grant
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.mosquitto import MosquittoServer

from .conftest import Actors, make_settings

GRAPHQL = "/pepeunit/graphql"
DELIVERY_S = 1.0
NODE_VALUES = "subscription($uuid: UUID!) { unitNodeValues(uuid: $uuid) { unitNodeUuid state "
NODE_VALUES += "createDatetime missed } }"
UNIT_STATE = "subscription($uuid: UUID!) { unitState(uuid: $uuid) { unitUuid online "
UNIT_STATE += (
    "lastStateReportDatetime currentCommitVersion unitState { millis puCommitVersion } } }"
)
UNIT_LOGS = (
    "subscription($uuid: UUID!, $level: [LogLevel!]) { unitLogs(uuid: $uuid, level: $level) "
)
UNIT_LOGS += "{ level text unitUuid } }"


@pytest.fixture
def domain() -> str:
    return DOMAIN  # the flow fixture's probes use it


@pytest.fixture
def settings(
    database_url: str,
    domain: str,
    mosquitto_server: MosquittoServer,
    clickhouse_database: ClickHouseDatabase,
) -> Settings:
    return make_settings(
        database_url,
        domain=domain,
        mqtt_port=mosquitto_server.port,
        clickhouse_database_url=clickhouse_database.dsn,
        state_send_interval=2,
    )


@dataclass(frozen=True)
class LiveUnit:
    unit: str
    node: str
    node_topic: str


@pytest.fixture
def live_unit(app: FastAPI, actors: Actors, domain: str) -> LiveUnit:
    """Alice's unit, private (she holds permissions on it, as its creator does when the API
    creates it), with an output node under a LastValue pipeline."""
    config = pipeline_config({"policy_type": "LastValue"}, type_input_value="Text")
    with app.state.context.session_factory() as session:
        unit = session.get_one(Unit, actors.unit_uuid)
        unit.visibility_level = VisibilityLevel.PRIVATE
        node = UnitNode(
            type=UnitNodeType.OUTPUT,
            topic_name="temperature/pepeunit",
            unit_uuid=unit.uuid,
            creator_uuid=unit.creator_uuid,
            visibility_level=VisibilityLevel.PRIVATE,
            is_data_pipe_active=True,
            data_pipe_yml=json.dumps(config.model_dump(mode="json")),
        )
        session.add(node)
        session.flush()
        alice = session.get_one(User, actors.alice_uuid)
        grant(session, alice, unit)
        grant(session, alice, node)
        bump_dataflow_config_version(session)
        session.commit()
        return LiveUnit(str(unit.uuid), str(node.uuid), f"{domain}/{node.uuid}/pepeunit")


@pytest.fixture
def flow(tmp_path: Path, settings: Settings, mosquitto_server: MosquittoServer) -> Iterator[None]:
    flowing = flow_settings(
        tmp_path / "flow",
        settings.resolved_sqlalchemy_url,
        settings.resolved_clickhouse_url,
        mosquitto_server.port,
        domain=settings.domain,
        state_send_interval=settings.state_send_interval,
        flow_flush_interval=0.1,
    )
    with running_flow(flowing):
        yield


def start(
    socket: WebSocketTestSession, query: str, variables: dict[str, Any], token: str | None
) -> None:
    payload = {} if token is None else {"x-auth-token": token}
    socket.send_json({"type": "connection_init", "payload": payload})
    assert socket.receive_json() == {"type": "connection_ack"}
    socket.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
    )


def next_data(socket: WebSocketTestSession) -> dict[str, Any]:
    message = socket.receive_json()
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]


def wait_listening(app: FastAPI, count: int) -> None:
    """Until the process's event reader is subscribed at the broker and `count` subscriptions
    are registered (events published before would not reach them)."""
    hub = app.state.context.live_events
    wait_until(lambda: hub.subscribed.is_set() and hub.subscription_count >= count, 10)


def token_of(actors: Actors, name: str) -> str:
    return str(actors.headers[name]["x-auth-token"])


def test_a_units_creator_receives_values_states_and_logs_within_a_second(
    app: FastAPI, client: TestClient, actors: Actors, live_unit: LiveUnit, flow: None,
    settings: Settings,
):  # fmt: skip
    alice = token_of(actors, "alice")
    unit = {"uuid": live_unit.unit}
    device = Publisher(settings.mqtt_port, client_id=f"device-{uuid.uuid4().hex[:6]}")
    try:
        with (
            client.websocket_connect(GRAPHQL, subprotocols=["graphql-transport-ws"]) as values,
            client.websocket_connect(GRAPHQL, subprotocols=["graphql-transport-ws"]) as states,
            client.websocket_connect(GRAPHQL, subprotocols=["graphql-transport-ws"]) as logs,
        ):
            start(values, NODE_VALUES, {"uuid": live_unit.node}, alice)
            start(states, UNIT_STATE, unit, alice)
            start(logs, UNIT_LOGS, unit | {"level": ["ERROR", "CRITICAL"]}, alice)
            initial = next_data(states)["unitState"]
            assert initial == {
                "unitUuid": live_unit.unit, "online": False, "lastStateReportDatetime": None,
                "currentCommitVersion": None, "unitState": None,
            }  # fmt: skip
            wait_listening(app, 3)

            sent = time.monotonic()
            device.publish_raw(live_unit.node_topic, b"21.5").wait_for_publish(5)
            value = next_data(values)["unitNodeValues"]
            assert time.monotonic() - sent < DELIVERY_S
            assert (value["unitNodeUuid"], value["state"], value["missed"]) == (
                live_unit.node, "21.5", 0,
            )  # fmt: skip

            sent = time.monotonic()
            state_topic = report_topic(settings.domain, live_unit.unit, ReportTopicName.STATE)
            report = {"millis": 1234, "pu_commit_version": "c0ffee"}
            device.publish_raw(state_topic, json.dumps(report).encode()).wait_for_publish(5)
            status = next_data(states)["unitState"]
            assert time.monotonic() - sent < DELIVERY_S
            assert status["online"] is True and status["currentCommitVersion"] == "c0ffee"
            assert status["unitState"] == {"millis": 1234.0, "puCommitVersion": "c0ffee"}

            sent = time.monotonic()
            log_topic = report_topic(settings.domain, live_unit.unit, ReportTopicName.LOG)
            entries = [{"level": "Info", "text": "booted"}, {"level": "Error", "text": "hot"}]
            device.publish_raw(log_topic, json.dumps(entries).encode()).wait_for_publish(5)
            entry = next_data(logs)["unitLogs"]
            assert time.monotonic() - sent < DELIVERY_S
            assert entry == {"level": "ERROR", "text": "hot", "unitUuid": live_unit.unit}

            # No report within twice PU_STATE_SEND_INTERVAL: the unit goes offline.
            offline = next_data(states)["unitState"]
            assert offline["online"] is False
            assert offline["lastStateReportDatetime"] == status["lastStateReportDatetime"]
    finally:
        device.close()


@pytest.mark.parametrize(
    ("query", "target", "message"),
    [
        (NODE_VALUES, "node", "403: 1: No Access: The unit node is not visible to this agent"),
        (UNIT_STATE, "unit", "403: 1: No Access: No access to this unit"),
        (UNIT_LOGS, "unit", "403: 1: No Access: Only the unit or its creator can read this"),
    ],
)
def test_a_user_without_access_receives_nothing_but_the_error(
    client: TestClient, actors: Actors, live_unit: LiveUnit, query: str, target: str,
    message: str,
):  # fmt: skip
    target_uuid = live_unit.node if target == "node" else live_unit.unit
    with client.websocket_connect(GRAPHQL, subprotocols=["graphql-transport-ws"]) as socket:
        start(socket, query, {"uuid": target_uuid}, token_of(actors, "bob"))
        answer = socket.receive_json()
        errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
        assert [error["message"] for error in errors] == [message]
        if answer["type"] == "next":
            assert socket.receive_json() == {"id": "1", "type": "complete"}


def test_the_token_may_come_in_a_header_and_a_wrong_one_is_refused(
    client: TestClient, actors: Actors, live_unit: LiveUnit
):
    headers = {"x-auth-token": token_of(actors, "alice")}
    with client.websocket_connect(
        GRAPHQL, subprotocols=["graphql-transport-ws"], headers=headers
    ) as socket:
        start(socket, UNIT_STATE, {"uuid": live_unit.unit}, None)
        assert next_data(socket)["unitState"]["unitUuid"] == live_unit.unit
    with client.websocket_connect(
        GRAPHQL, subprotocols=["graphql-transport-ws"], headers=headers
    ) as socket:
        start(socket, UNIT_STATE, {"uuid": live_unit.unit}, token_of(actors, "bob"))
        answer = socket.receive_json()
        errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
        assert errors[0]["message"].startswith("401: 1: No Access: x-auth-token in the headers")
