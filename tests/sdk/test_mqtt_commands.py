"""A unit on our real API and Mosquitto: the platform's commands (published here as the
platform publishes them), the user's handler after them, state on its period, logs, outputs,
the main cycle going on through errors, and another MQTT implementation in paho's place."""

import itertools
import json
import time

import pytest
from pepeunit_sdk import (
    MqttMessage,
    PepeunitClient,
    UnknownTopicError,
)

from tests.sdk.conftest import MakeClient, UnitFiles
from tests.sdk.live_platform import STATE_SEND_INTERVAL_S, BrokerProbe, Platform, wait_until
from tests.sdk.running_unit import Inbox, logged, main_cycle
from tests.sdk.socket_mqtt import SocketMqttClient

STATE_KEYS = {"millis", "mem_free", "mem_alloc", "freq", "pu_commit_version"}


def test_env_update_then_the_user_handler_sees_the_new_settings(
    platform: Platform, unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(enable_mqtt=True, enable_rest=True)
    inbox = Inbox()
    client.set_input_message_handler(inbox)
    client.connect()
    client.subscribe_all_schema_topics()
    command_topic = client.schema.input_topic["command/pepeunit"][0]
    probe.publish(command_topic, "ping", until=lambda: inbox.payloads(command_topic))
    assert set(inbox.payloads(command_topic)) == {"ping"}

    platform.edit_env(unit.uuid, GREETING="bonjour")
    env_topic = client.schema.input_base_topic["env_update/pepeunit"][0]
    probe.send_command(
        client.schema.as_dict(),
        "env_update/pepeunit",
        {"COMMAND": "EnvUpdate"},
        until=lambda: inbox.payloads(env_topic),
    )
    assert {greeting for message, greeting in inbox.messages if message.topic == env_topic} == {
        "bonjour"
    }
    assert json.loads(unit.env_path.read_text())["GREETING"] == "bonjour"
    assert logged(client, "env.json updated")


def test_schema_update_resubscribes_to_the_new_schema(
    platform: Platform, unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(enable_mqtt=True, enable_rest=True)
    inbox = Inbox()
    client.set_input_message_handler(inbox)
    client.connect()
    client.subscribe_all_schema_topics()
    assert "mode/pepeunit" not in client.schema.input_topic
    platform.set_unit_commit(unit.uuid, platform.versions.v2)
    probe.send_command(
        client.schema.as_dict(),
        "schema_update/pepeunit",
        {"COMMAND": "SchemaUpdate"},
        until=lambda: logged(client, "schema.json updated"),
    )
    mode_topic = client.schema.input_topic["mode/pepeunit"][0]
    probe.publish(mode_topic, "eco", until=lambda: inbox.payloads(mode_topic))
    assert set(inbox.payloads(mode_topic)) == {"eco"}


def test_log_sync_publishes_the_whole_log_and_entries_go_out_as_they_come(
    unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(enable_mqtt=True, enable_rest=True)
    log_topic = client.schema.output_base_topic["log/pepeunit"][0]
    client.logger.info("before connecting")
    probe.subscribe(log_topic)
    client.connect()
    client.logger.warning("while connected")
    single = json.loads(probe.wait_for(lambda m: m.topic == log_topic).payload)
    assert (single["level"], single["text"]) == ("Warning", "while connected")

    full_log = client.logger.get_full_log()
    probe.send_command(
        client.schema.as_dict(),
        "log_sync/pepeunit",
        {"COMMAND": "LogSync"},
        until=lambda: logged(client, "Log sync completed"),
    )
    synced = probe.wait_for(lambda m: m.topic == log_topic and m.payload.startswith("["))
    assert json.loads(synced.payload) == full_log
    assert [entry["text"] for entry in full_log] == ["before connecting", "while connected"]


def test_state_is_sent_at_once_then_every_interval(
    unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe, platform: Platform
):
    client = make_client(enable_mqtt=True)
    assert client.settings.PU_STATE_SEND_INTERVAL == STATE_SEND_INTERVAL_S
    state_topic = client.schema.output_base_topic["state/pepeunit"][0]
    probe.subscribe(state_topic)
    client.connect()
    with main_cycle(client):
        states = [
            json.loads(probe.wait_for(lambda m: m.topic == state_topic).payload) for _ in range(3)
        ]
    for state in states:
        assert set(state) == STATE_KEYS
        assert state["pu_commit_version"] == platform.versions.v1
        assert state["mem_free"] > 0 and state["mem_alloc"] > 0
        assert abs(state["millis"] / 1000 - time.time()) < 60
    # Send times as the unit stamped them: arrival times would shift with the broker's load.
    gaps = [(b["millis"] - a["millis"]) / 1000 for a, b in itertools.pairwise(states)]
    assert all(STATE_SEND_INTERVAL_S * 0.95 <= gap < STATE_SEND_INTERVAL_S + 5 for gap in gaps)


def test_update_installs_the_new_program_version(
    platform: Platform, unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(enable_mqtt=True, enable_rest=True)
    state_topic = client.schema.output_base_topic["state/pepeunit"][0]
    probe.subscribe(state_topic)
    client.connect()
    (unit.program_dir / "data.txt").write_text("the unit's own file")
    versions = platform.versions
    probe.send_command(
        client.schema.as_dict(),
        "update/pepeunit",
        {"COMMAND": "Update", "PU_COMMIT_VERSION": versions.v1},
        until=lambda: logged(client, "No update needed"),
    )
    assert not (unit.program_dir / "main.py").exists()

    platform.set_unit_commit(unit.uuid, versions.v2)
    probe.send_command(
        client.schema.as_dict(),
        "update/pepeunit",
        {"COMMAND": "Update", "PU_COMMIT_VERSION": versions.v2},
    )
    wait_until(lambda: versions.v2 == client.settings.PU_COMMIT_VERSION, what="the update")
    assert 'VERSION = "v2"' in (unit.program_dir / "main.py").read_text()
    assert (unit.program_dir / "lib" / "helpers.py").read_text() == "ANSWER = 2\n"
    assert (unit.program_dir / "data.txt").read_text() == "the unit's own file"
    assert json.loads(unit.env_path.read_text())["PU_COMMIT_VERSION"] == versions.v2
    assert "mode/pepeunit" in client.schema.input_topic
    assert not list(unit.program_dir.glob(".pepeunit-*"))
    assert logged(client, f"Program updated to {versions.v2}")

    def answers(text: str) -> int:
        return sum(text in entry["text"] for entry in client.logger.get_full_log())

    # A late Update for v1: the platform's target is v2, which runs already.
    probe.send_command(
        client.schema.as_dict(),
        "update/pepeunit",
        {"COMMAND": "Update", "PU_COMMIT_VERSION": versions.v1},
        until=lambda: answers("No update needed") >= 2,
    )
    assert answers("Program updated") == 1
    with main_cycle(client):
        state = json.loads(probe.wait_for(lambda m: m.topic == state_topic).payload)
    assert state["pu_commit_version"] == versions.v2


def test_output_function_errors_are_logged_and_the_cycle_goes_on(
    unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(enable_mqtt=True, cycle_interval=0.01)
    output_topic = client.schema.output_topic["value/pepeunit"][0]
    probe.subscribe(output_topic)
    client.connect()
    calls = []

    def output(client: PepeunitClient) -> None:
        calls.append(len(calls))
        if len(calls) <= 5:
            raise RuntimeError(f"sensor failure {len(calls) % 2}")
        client.publish_to_topics("value/pepeunit", str(len(calls)))

    with main_cycle(client, output):
        probe.wait_for(lambda m: m.topic == output_topic)
    errors = [entry for entry in client.logger.get_full_log() if entry["level"] == "Error"]
    # Five failures alternating between two messages: each is a change, so each is logged.
    assert [entry["text"] for entry in errors] == [
        f"Error in the output function: RuntimeError('sensor failure {n % 2}')" for n in range(1, 6)
    ]


def test_a_repeated_error_is_logged_once_while_it_repeats(unit: UnitFiles, make_client: MakeClient):
    client = make_client(cycle_interval=0.001)
    calls = []

    def output(client: PepeunitClient) -> None:
        calls.append(1)
        if len(calls) >= 50:
            client.stop_main_cycle()
        raise ValueError("no sensor")

    client.run_main_cycle(output)
    assert len(calls) == 50
    assert [entry["text"] for entry in client.logger.get_full_log()] == [
        "Error in the output function: ValueError('no sensor')"
    ]


def test_handler_errors_are_logged_and_publishing_names_must_exist(
    unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(enable_mqtt=True)

    def failing(_client: PepeunitClient, message: MqttMessage) -> None:
        raise KeyError(message.payload)

    client.set_input_message_handler(failing)
    client.connect()
    client.subscribe_topics(client.schema.input_topic["command/pepeunit"])
    probe.publish(
        client.schema.input_topic["command/pepeunit"][0],
        "boom",
        until=lambda: logged(client, "Error in the input handler: KeyError('boom')"),
    )
    with pytest.raises(UnknownTopicError, match="value/pepeunit"):
        client.publish_to_topics("nope/pepeunit", "1")


def test_a_user_supplied_mqtt_client_replaces_paho(
    platform: Platform, unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    transport = SocketMqttClient()
    client = make_client(enable_mqtt=True, enable_rest=True, mqtt_client=transport)
    assert client.mqtt_client is transport
    inbox = Inbox()
    client.set_input_message_handler(inbox)
    output_topic = client.schema.output_topic["value/pepeunit"][0]
    probe.subscribe(output_topic)
    client.connect()
    client.subscribe_all_schema_topics()
    assert transport.connections[0].username == client.settings.PU_AUTH_TOKEN
    assert transport.connections[0].client_id == unit.uuid

    platform.edit_env(unit.uuid, GREETING="hej")
    probe.send_command(
        client.schema.as_dict(),
        "env_update/pepeunit",
        {"COMMAND": "EnvUpdate"},
        until=lambda: client.settings.GREETING == "hej",
    )
    with main_cycle(client, lambda c: c.publish_to_topics("value/pepeunit", "via sockets")):
        assert probe.wait_for(lambda m: m.topic == output_topic).payload == "via sockets"
