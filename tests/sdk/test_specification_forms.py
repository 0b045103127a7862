"""The client library specification's names and call forms, each next to the SDK's own (which
keep working), on our real API and Mosquitto: the `mqtt=` / `rest=` flags, no connect step, a
list of topics to publish to, one string as one topic to subscribe to, the state storage with a
uuid, and an Update command to a client without REST."""

import json
import uuid
from pathlib import Path

import pytest
from pepeunit_sdk import (
    ClientNotEnabledError,
    MqttConnectionError,
    MqttNotConnectedError,
    PepeunitClient,
    RestError,
)

from tests.sdk.conftest import MakeClient, UnitFiles
from tests.sdk.live_platform import BrokerProbe, Platform, wait_until
from tests.sdk.running_unit import Inbox, logged, main_cycle
from tests.services.ports import free_loopback_port


def test_the_flags_are_also_named_mqtt_and_rest(make_client: MakeClient):
    client = make_client(mqtt=True, rest=True)
    assert client.mqtt_client is not None and client.rest_client is not None
    assert make_client(enable_mqtt=True, rest=False).mqtt_client is not None
    with pytest.raises(ClientNotEnabledError, match=r"rest=True \(or enable_rest=True\)"):
        make_client(mqtt=True).get_state_storage()
    with pytest.raises(ValueError, match="mqtt=False contradicts enable_mqtt=True"):
        make_client(enable_mqtt=True, mqtt=False)


def test_the_main_flow_needs_no_connect_step(
    unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(mqtt=True, rest=True)
    inbox = Inbox()
    client.set_input_message_handler(inbox)
    assert not client.mqtt_client.is_connected
    client.subscribe_all_schema_topics()
    assert client.mqtt_client.is_connected
    command_topic = client.schema.input_topic["command/pepeunit"][0]
    probe.publish(command_topic, "ping", until=lambda: inbox.payloads(command_topic))
    # One connection at a time: the client id is the unit's uuid, a second one takes over.
    client.close()

    # The first publish connects as well, and so does the main cycle to send the state.
    publisher = make_client(mqtt=True)
    output_topic = publisher.schema.output_topic["value/pepeunit"][0]
    state_topic = publisher.schema.output_base_topic["state/pepeunit"][0]
    probe.subscribe(output_topic, state_topic)
    publisher.publish_to_topics("value/pepeunit", "first")
    assert probe.wait_for(lambda m: m.topic == output_topic).payload == "first"
    publisher.close()
    cycling = make_client(mqtt=True)
    with main_cycle(cycling):
        state = json.loads(probe.wait_for(lambda m: m.topic == state_topic).payload)
    assert state["pu_commit_version"] == cycling.settings.PU_COMMIT_VERSION
    # After disconnect() nothing connects by itself again.
    cycling.disconnect()
    with pytest.raises(MqttNotConnectedError):
        cycling.publish_to_topics("value/pepeunit", "late")


def test_a_broker_out_of_reach_on_first_need_raises_and_the_cycle_logs_it_once(
    unit: UnitFiles, tmp_path: Path
):
    env = json.loads(unit.env_path.read_text())
    closed_port = free_loopback_port()
    env_path = tmp_path / "env.json"
    env_path.write_text(
        json.dumps({**env, "PU_MQTT_HOST": "127.0.0.1", "PU_MQTT_PORT": closed_port})
    )
    client = PepeunitClient(env_path, unit.schema_path, tmp_path / "log.json", mqtt=True)
    with client:
        with pytest.raises(MqttConnectionError, match=str(closed_port)):
            client.subscribe_all_schema_topics()
        rounds = []

        def output(client: PepeunitClient) -> None:
            rounds.append(1)
            if len(rounds) == 20:
                client.stop_main_cycle()

        client.cycle_interval = 0.01
        client.run_main_cycle(output)
    errors = [entry["text"] for entry in client.logger.get_full_log()]
    assert len(errors) == 1 and errors[0].startswith("Error sending the state: MqttConnectionError")


def test_publish_to_topics_takes_a_list_of_topics(
    unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(mqtt=True)
    own = client.schema.output_topic["value/pepeunit"]
    other = f"{client.settings.PU_DOMAIN}/{uuid.uuid4()}/pepeunit"
    probe.subscribe(*own, other)
    client.publish_to_topics([*own, other], "21.5")
    received = {probe.wait_for(lambda m: m.payload == "21.5").topic for _ in range(2)}
    assert received == {*own, other}
    with pytest.raises(TypeError, match="non-empty string"):
        client.publish_to_topics([own[0], 5], "x")  # type: ignore[list-item]


def test_subscribe_topics_takes_one_string_as_one_topic(
    unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(mqtt=True)
    inbox = Inbox()
    client.set_input_message_handler(inbox)
    topic = client.schema.input_topic["command/pepeunit"][0]
    # Were the string taken as a list of characters, nothing would arrive on the topic.
    client.subscribe_topics(topic)
    probe.publish(topic, "one", until=lambda: inbox.payloads(topic))
    client.subscribe_topics([topic])
    assert set(inbox.payloads(topic)) == {"one"}


def test_state_storage_with_the_specification_uuid_argument(
    platform: Platform, unit: UnitFiles, make_client: MakeClient
):
    client = make_client(rest=True)
    client.set_state_storage(client.unit_uuid, "by uuid")
    assert client.get_state_storage(client.unit_uuid) == "by uuid"
    assert client.get_state_storage(uuid.UUID(client.unit_uuid)) == "by uuid"
    client.set_state_storage("own form")
    assert client.get_state_storage() == "own form"
    client.set_state_storage(uuid=client.unit_uuid, state="named")
    assert client.get_state_storage(uuid=client.unit_uuid) == "named"
    client.set_state_storage(state="")
    assert client.get_state_storage() == ""
    with pytest.raises(ValueError, match=r"not a unit uuid: '\.\./units'"):
        client.set_state_storage("../units", "x")
    client.set_state_storage(client.unit_uuid, state="positional uuid, named state")
    assert client.get_state_storage() == "positional uuid, named state"
    for call in (
        lambda: client.set_state_storage(),  # type: ignore[call-overload]
        lambda: client.set_state_storage(uuid=client.unit_uuid),  # type: ignore[call-overload]
        lambda: client.set_state_storage(client.unit_uuid, {"n": 1}),  # type: ignore[call-overload]
        lambda: client.set_state_storage("a", "b", "c"),  # type: ignore[call-overload]
    ):
        with pytest.raises(TypeError, match="set_state_storage"):
            call()
    assert client.get_state_storage() == "positional uuid, named state"
    another = platform.create_unit()
    with pytest.raises(RestError) as refused:
        client.get_state_storage(another)
    assert refused.value.status_code == 403


def test_an_update_without_rest_logs_that_it_needs_rest(
    platform: Platform, unit: UnitFiles, make_client: MakeClient, probe: BrokerProbe
):
    client = make_client(mqtt=True)
    client.subscribe_all_schema_topics()
    expected = (
        "The update/pepeunit command was ignored: it needs REST, "
        "build the PepeunitClient with rest=True"
    )
    probe.send_command(
        client.schema.as_dict(),
        "update/pepeunit",
        {"COMMAND": "Update", "PU_COMMIT_VERSION": platform.versions.v2},
        until=lambda: logged(client, expected),
    )
    wait_until(lambda: logged(client, expected))
    assert platform.versions.v1 == client.settings.PU_COMMIT_VERSION
