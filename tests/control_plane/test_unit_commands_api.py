"""Commands to units and values for input nodes, over HTTP on SQLite and PostgreSQL, published
to a real private Mosquitto and received by a subscriber standing in for the device
(docs/compatibility.md#commands): only topics the unit's schema lists, Update with the target commit
and the firmware status, LogSync after deleting the stored logs, and a broker that is down giving a
clear 4xx and an Error status instead of a 500."""

import json
import threading
import time
from uuid import UUID, uuid4

import paho.mqtt.client as mqtt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from control_plane.app import create_app
from control_plane.security import make_unit_token
from control_plane.services import registry
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.enums import FirmwareUpdateStatus
from pepeunit_core.db.models import Unit, UnitNode
from pepeunit_core.settings import Settings
from pepeunit_core.topics import CommandTopicName, command_topic, node_topic
from tests.control_plane_registry.git_sources import SourceRepository
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.mosquitto import MosquittoServer
from tests.services.ports import free_loopback_port

from .conftest import API, CHEAP_ARGON2, Actors, auth, checked_client, make_settings

UNITS = f"{API}/units"
COMMANDS = f"{UNITS}/send_command_to_input_base_topic"
DOMAIN = "pepeunit.test"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> SourceRepository:
    repository = SourceRepository(tmp_path_factory.mktemp("commands-source"), "commanded")
    schema = {
        "input_base_topic": ["update/pepeunit", "env_update/pepeunit", "log_sync/pepeunit"],
        "output_base_topic": ["state/pepeunit", "log/pepeunit"],
        "input_topic": ["set/pepeunit", "mode"],
        "output_topic": ["temp/pepeunit"],
    }
    commit = repository.commit(
        "Unit", {"schema_example.json": json.dumps(schema).encode(), "main.py": b"pass\n"}
    )
    repository.tag("v1.0.0", commit)
    repository.publish()
    return repository


@pytest.fixture
def settings(
    database_url: str, tmp_path, clickhouse_database: ClickHouseDatabase, mosquitto_server
) -> Settings:
    apply_clickhouse_migrations(clickhouse_database.client)
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
        clickhouse_database_url=clickhouse_database.dsn,
        mqtt_port=mosquitto_server.port,
    )


class Device:
    """Subscribes to the unit's topics like its program would."""

    def __init__(self, port: int, topics: list[str]) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._client.subscribe([(topic, 1) for topic in topics])
        assert subscribed.wait(10)

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def wait_for(self, topic: str, timeout_s: float = 10) -> bytes:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                for received_topic, payload in self.messages:
                    if received_topic == topic:
                        self.messages.remove((received_topic, payload))
                        return payload
            time.sleep(0.02)
        raise AssertionError(f"nothing on {topic} within {timeout_s} s")

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def make_unit(client: TestClient, actors: Actors, source: SourceRepository) -> dict:
    alice = actors.headers["alice"]
    body = {"platform": "Github", "repository_url": source.url, "is_public_repository": True}
    registry = client.post(f"{API}/repository_registry", json=body, headers=alice).json()
    repo = client.post(
        f"{API}/repos",
        json={
            "repository_registry_uuid": registry["uuid"],
            "default_branch": "main",
            "visibility_level": "Public",
            "name": "commanded",
        },
        headers=alice,
    ).json()
    response = client.post(
        UNITS,
        json={
            "repo_uuid": repo["uuid"],
            "visibility_level": "Public",
            "name": "commanded-1",
            "is_auto_update_from_repo_unit": True,
        },
        headers=alice,
    )
    assert response.status_code == 201, response.text
    return response.json()


def unit_row(app: FastAPI, uuid: str) -> Unit:
    with app.state.context.session_factory() as session:
        row = session.get_one(Unit, UUID(uuid))
        session.expunge(row)
        return row


def test_commands_reach_the_device(
    client: TestClient,
    actors: Actors,
    app: FastAPI,
    settings: Settings,
    source: SourceRepository,
    mosquitto_server: MosquittoServer,
    clickhouse_database: ClickHouseDatabase,
):
    unit = make_unit(client, actors, source)
    uuid = unit["uuid"]
    topic = {name: command_topic(DOMAIN, uuid, name) for name in CommandTopicName}
    device = Device(mosquitto_server.port, list(topic.values()))
    own = auth(make_unit_token(UUID(uuid), settings.resolved_secret_key))
    alice = actors.headers["alice"]
    try:
        response = client.post(f"{COMMANDS}/{uuid}?command=Update", headers=alice)
        assert response.status_code == 204, response.text
        target = client.get(f"{UNITS}/get_target_version/{uuid}", headers=alice).json()
        assert json.loads(device.wait_for(topic[CommandTopicName.UPDATE])) == {
            "COMMAND": "Update",
            "PU_COMMIT_VERSION": target["commit"],
        }
        row = unit_row(app, uuid)
        assert row.firmware_update_status is FirmwareUpdateStatus.REQUEST_SENT
        assert row.firmware_update_target_commit == target["commit"]
        assert row.last_firmware_update_datetime is not None

        response = client.post(f"{COMMANDS}/{uuid}?command=EnvUpdate", headers=own)
        assert response.status_code == 204, response.text
        assert json.loads(device.wait_for(topic[CommandTopicName.ENV_UPDATE])) == {
            "COMMAND": "EnvUpdate"
        }

        columns = ["uuid", "level", "unit_uuid", "text", "create_datetime", "expiration_datetime"]
        now = int(time.time())
        clickhouse_database.client.insert(
            "unit_logs",
            [[uuid4(), "Info", UUID(uuid), "old entry", now * 1000, now + 3600]],
            column_names=columns,
        )
        response = client.post(f"{COMMANDS}/{uuid}?command=LogSync", headers=alice)
        assert response.status_code == 204, response.text
        assert json.loads(device.wait_for(topic[CommandTopicName.LOG_SYNC])) == {
            "COMMAND": "LogSync"
        }
        count = f"SELECT count() FROM unit_logs WHERE unit_uuid = '{uuid}'"
        assert clickhouse_database.client.query(count).result_rows == [(0,)]

        response = client.post(f"{COMMANDS}/{uuid}?command=SchemaUpdate", headers=alice)
        assert response.status_code == 422
        assert "schema_update/pepeunit" in response.json()["detail"]
        for agent in ("anonymous", "bob", "admin"):
            response = client.post(
                f"{COMMANDS}/{uuid}?command=Update", headers=actors.headers[agent]
            )
            assert response.status_code == 403, (agent, response.text)
        assert client.post(f"{COMMANDS}/{uuid}?command=Reboot", headers=alice).status_code == 422
        assert client.post(f"{COMMANDS}/{uuid4()}?command=Update", headers=alice).status_code == 404
        time.sleep(0.3)
        assert device.messages == [], "a refused command reached the device"
    finally:
        device.close()


def test_an_update_reads_the_branch_history_once(
    client: TestClient, actors: Actors, source: SourceRepository, monkeypatch: pytest.MonkeyPatch
):
    """The schema that must list the topic and the commit sent come from one resolution of
    the unit's target (issue 13)."""
    unit = make_unit(client, actors, source)
    reads: list[str] = []
    real = registry.commits

    def counted(path, branch, *args, **kwargs):
        reads.append(branch)
        return real(path, branch, *args, **kwargs)

    monkeypatch.setattr(registry, "commits", counted)
    response = client.post(
        f"{COMMANDS}/{unit['uuid']}?command=Update", headers=actors.headers["alice"]
    )
    assert response.status_code == 204, response.text
    assert reads == ["main"]


def test_set_state_input_publishes_the_raw_value(
    client: TestClient,
    actors: Actors,
    app: FastAPI,
    source: SourceRepository,
    mosquitto_server: MosquittoServer,
):
    unit = make_unit(client, actors, source)
    with app.state.context.session_factory() as session:
        nodes = {
            node.topic_name: node
            for node in session.query(UnitNode).filter_by(unit_uuid=UUID(unit["uuid"]))
        }
    targets = {
        name: node_topic(DOMAIN, nodes[name].uuid, name) for name in ("set/pepeunit", "mode")
    }
    device = Device(mosquitto_server.port, list(targets.values()))
    try:
        for name, value in (("set/pepeunit", "21.5"), ("mode", '{"auto": true}')):
            url = f"{API}/unit_nodes/set_state_input/{nodes[name].uuid}"
            response = client.patch(url, json={"state": value}, headers=actors.headers["alice"])
            assert response.status_code == 200, response.text
            assert response.json()["state"] == value
            assert device.wait_for(targets[name]).decode() == value
    finally:
        device.close()


def test_a_broker_that_is_down_is_a_clear_error_and_an_error_status(
    database_url: str, actors: Actors, client: TestClient, source: SourceRepository, tmp_path
):
    unit = make_unit(client, actors, source)
    down = make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
        mqtt_port=free_loopback_port(),
    )
    app = create_app(down, password_hasher=CHEAP_ARGON2)
    with checked_client(app) as unreachable:
        alice = actors.headers["alice"]
        response = unreachable.post(f"{COMMANDS}/{unit['uuid']}?command=Update", headers=alice)
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith("422: 10: MQTT Error: ")
        row = unit_row(app, unit["uuid"])
        assert row.firmware_update_status is FirmwareUpdateStatus.ERROR
        assert "not connected" in (row.firmware_update_error or "")
        node = next(n for n in client.get(f"{API}/unit_nodes?unit_uuid={unit['uuid']}",
                                          headers=alice).json()["unit_nodes"]
                    if n["type"] == "Input")  # fmt: skip
        url = f"{API}/unit_nodes/set_state_input/{node['uuid']}"
        response = unreachable.patch(url, json={"state": "9"}, headers=alice)
        assert response.status_code == 422, response.text
        assert client.get(f"{API}/unit_nodes/{node['uuid']}", headers=alice).json()["state"] is None


def test_updates_on_unit_change_repo_request_and_bulk(
    client: TestClient,
    actors: Actors,
    app: FastAPI,
    source: SourceRepository,
    mosquitto_server: MosquittoServer,
):
    unit = make_unit(client, actors, source)
    update_topic = command_topic(DOMAIN, unit["uuid"], CommandTopicName.UPDATE)
    device = Device(mosquitto_server.port, [update_topic])
    alice, bob, admin = (actors.headers[name] for name in ("alice", "bob", "admin"))
    try:
        response = client.patch(f"{UNITS}/{unit['uuid']}", json={"name": "renamed"}, headers=alice)
        assert response.status_code == 200, response.text
        assert response.json()["firmware_update_status"] == "RequestSent"
        assert json.loads(device.wait_for(update_topic))["COMMAND"] == "Update"

        url = f"{API}/repos/update_units_firmware/{unit['repo_uuid']}"
        assert client.patch(url, headers=bob).status_code == 403
        assert client.patch(url, headers=alice).status_code == 204
        assert json.loads(device.wait_for(update_topic))["COMMAND"] == "Update"

        assert client.post(f"{API}/repos/bulk_update", headers=alice).status_code == 403
        assert client.post(f"{API}/repos/bulk_update", headers=admin).status_code == 204
        payload = json.loads(device.wait_for(update_topic))
        assert (
            payload["PU_COMMIT_VERSION"]
            == unit_row(app, unit["uuid"]).firmware_update_target_commit
        )
    finally:
        device.close()
