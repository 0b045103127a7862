"""Broker loss: a unit moved to another broker by an env update, that broker restarted under
it; the unit reconnects by itself, subscribes again and goes on sending its state."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdk.conftest import MakeClient, UnitFiles
from tests.sdk.live_platform import BrokerProbe, Platform
from tests.sdk.running_unit import Inbox, main_cycle
from tests.services.restartable_mosquitto import RestartableMosquitto


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[RestartableMosquitto]:
    broker = RestartableMosquitto(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_probe(own_broker: RestartableMosquitto) -> Iterator[list[BrokerProbe]]:
    """Probes on the private broker (a new one after each restart); all closed afterwards."""
    probes: list[BrokerProbe] = []
    yield probes
    for probe in probes:
        probe.close()


def test_a_unit_follows_its_broker_through_an_env_change_and_a_restart(
    platform: Platform,
    unit: UnitFiles,
    make_client: MakeClient,
    probe: BrokerProbe,
    own_broker: RestartableMosquitto,
    own_probe: list[BrokerProbe],
):
    client = make_client(enable_mqtt=True, enable_rest=True)
    inbox = Inbox()
    client.set_input_message_handler(inbox)
    client.connect()
    client.subscribe_all_schema_topics()
    state_topic = client.schema.output_base_topic["state/pepeunit"][0]
    command_topic = client.schema.input_topic["command/pepeunit"][0]

    platform.edit_env(unit.uuid, PU_MQTT_PORT=own_broker.port)
    probe.send_command(
        client.schema.as_dict(),
        "env_update/pepeunit",
        {"COMMAND": "EnvUpdate"},
        until=lambda: own_broker.port == client.settings.PU_MQTT_PORT,
    )

    def check_alive_on_own_broker(payload: str) -> None:
        """State arrives there, and so do messages for the unit's subscriptions."""
        watcher = BrokerProbe(own_broker.host, own_broker.port)
        own_probe.append(watcher)
        watcher.subscribe(state_topic)
        state = json.loads(watcher.wait_for(lambda m: m.topic == state_topic).payload)
        assert state["pu_commit_version"] == platform.versions.v1
        watcher.publish(
            command_topic, payload, until=lambda: payload in inbox.payloads(command_topic)
        )

    with main_cycle(client):
        check_alive_on_own_broker("on the new broker")
        own_broker.restart()
        check_alive_on_own_broker("after the restart")
    assert client.mqtt_client.is_connected
