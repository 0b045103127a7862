"""Which clients a PepeunitClient has: calls that need a disabled one fail at once with a clear
error, a given client needs its flag, and the package exports exactly its public names."""

import pepeunit_sdk
import pytest
from pepeunit_sdk import ClientNotEnabledError, PepeunitClient

from tests.sdk.conftest import MakeClient, UnitFiles
from tests.sdk.socket_mqtt import SocketMqttClient

MQTT_CALLS = {
    "connect": lambda c: c.connect(),
    "disconnect": lambda c: c.disconnect(),
    "subscribe_topics": lambda c: c.subscribe_topics(["x"]),
    "subscribe_all_schema_topics": lambda c: c.subscribe_all_schema_topics(),
    "publish_to_topics": lambda c: c.publish_to_topics("value/pepeunit", "1"),
    "publish_state": lambda c: c.publish_state(),
    "publish_full_log": lambda c: c.publish_full_log(),
    "set_input_message_handler": lambda c: c.set_input_message_handler(None),
    "mqtt_client": lambda c: c.mqtt_client,
}
REST_CALLS = {
    "download_env": lambda c: c.download_env(),
    "download_schema": lambda c: c.download_schema(),
    "download_update": lambda c: c.download_update(),
    "get_target_version": lambda c: c.get_target_version(),
    "set_state_storage": lambda c: c.set_state_storage("x"),
    "get_state_storage": lambda c: c.get_state_storage(),
    "perform_update": lambda c: c.perform_update(),
    "rest_client": lambda c: c.rest_client,
}


@pytest.mark.parametrize("call", MQTT_CALLS.values(), ids=MQTT_CALLS.keys())
def test_mqtt_calls_without_mqtt_fail_at_once(make_client: MakeClient, call):
    client = make_client(enable_rest=True)
    with pytest.raises(ClientNotEnabledError, match="enable_mqtt=True"):
        call(client)


@pytest.mark.parametrize("call", REST_CALLS.values(), ids=REST_CALLS.keys())
def test_rest_calls_without_rest_fail_at_once(make_client: MakeClient, call, unit: UnitFiles):
    client = make_client(enable_mqtt=True)
    with pytest.raises(ClientNotEnabledError, match="enable_rest=True"):
        call(client)
    assert not list(unit.program_dir.glob(".pepeunit-*"))


def test_a_given_client_needs_its_flag(unit: UnitFiles):
    with pytest.raises(ValueError, match="mqtt=True"):
        PepeunitClient(
            unit.env_path, unit.schema_path, unit.log_path, mqtt_client=SocketMqttClient()
        )


def test_the_main_cycle_runs_without_mqtt(make_client: MakeClient):
    client = make_client(cycle_interval=0)
    calls = []

    def output(client: PepeunitClient) -> None:
        calls.append(1)
        if len(calls) == 3:
            client.stop_main_cycle()

    client.run_main_cycle(output)
    assert len(calls) == 3


def test_the_public_names_are_pinned():
    assert sorted(pepeunit_sdk.__all__) == [
        "AbstractMqttClient",
        "AbstractRestClient",
        "ArchiveFormat",
        "BaseInputTopic",
        "BaseOutputTopic",
        "ClientNotEnabledError",
        "ConnectHandler",
        "FileContentError",
        "InputHandler",
        "InvalidTokenError",
        "LogEntry",
        "LogLevel",
        "Logger",
        "MissingDependencyError",
        "MqttConnectionError",
        "MqttConnectionSettings",
        "MqttMessage",
        "MqttNotConnectedError",
        "OutputFunction",
        "PepeunitClient",
        "PepeunitError",
        "ProgramInstall",
        "RawMessageHandler",
        "RestError",
        "RestResponse",
        "RestartMode",
        "Schema",
        "Settings",
        "SystemState",
        "TargetVersion",
        "UnknownTopicError",
        "UnsafeArchiveError",
        "UnsupportedArchiveError",
        "unit_uuid_from_token",
    ]
    assert all(hasattr(pepeunit_sdk, name) for name in pepeunit_sdk.__all__)
