"""The routing connection of the intake, on a real Mosquitto: copies beyond the 65 535 MQTT
packet ids all arrive while the unconfirmed ones stay within their bound, and copies sent while
the broker is away wait, unconfirmed, and arrive once it is back."""

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flows.mqtt_endpoint import MqttEndpoint
from flows.routing.publisher import RoutePublisher, RoutePublisherSettings
from tests.flows.support import wait_until
from tests.services.mosquitto import running_mosquitto
from tests.services.ports import free_loopback_port

COPIES = 70_000
"""More than one run through the packet ids (1..65 535) of the routing connection."""
BOUND = 500


class Collector:
    """A QoS 1 subscriber that records the payloads arriving on one topic, in order."""

    def __init__(self, port: int, topic: str, client_id: str) -> None:
        self.payloads: list[bytes] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
        )
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._client.subscribe(topic, qos=1)
        assert subscribed.wait(10)

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.payloads.append(bytes(message.payload))

    def count(self) -> int:
        with self._lock:
            return len(self.payloads)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def route_publisher(port: int, max_unconfirmed: int) -> RoutePublisher:
    return RoutePublisher(
        RoutePublisherSettings(
            MqttEndpoint("127.0.0.1", port, keepalive=30, username="", password=""),
            client_id=f"routes-{port}",
            max_unconfirmed=max_unconfirmed,
        )
    )


@pytest.mark.timeout(120)
def test_copies_beyond_the_packet_ids_all_arrive_within_the_bound(tmp_path):
    with running_mosquitto(tmp_path / "broker", ("max_queued_messages 0",)) as broker:
        collector = Collector(broker.port, "t/in", "collector")
        publisher = route_publisher(broker.port, BOUND)
        publisher.start()
        highest_unconfirmed = 0
        try:
            for number in range(COPIES):
                publisher.publish("t/in", str(number).encode())
                if number % 1_000 == 0:
                    highest_unconfirmed = max(highest_unconfirmed, publisher.unconfirmed)
            assert publisher.wait_confirmed(timeout_s=60)
            assert publisher.unconfirmed == 0
            wait_until(lambda: collector.count() >= COPIES, 60)
        finally:
            publisher.stop()
            collector.close()
    assert collector.payloads == [str(number).encode() for number in range(COPIES)]
    assert 0 < highest_unconfirmed <= BOUND


@pytest.mark.timeout(60)
def test_copies_sent_while_the_broker_is_away_arrive_once_it_is_back(tmp_path):
    port = free_loopback_port()
    persistent = ("persistence true", f"persistence_location {tmp_path}/")
    with running_mosquitto(tmp_path / "broker", persistent, port=port):
        # a persistent session, so the broker keeps for the collector what arrives meanwhile
        Collector(port, "t/in", "collector").close()
    publisher = route_publisher(port, BOUND)
    publisher.start()
    try:
        for number in range(3):
            publisher.publish("t/in", f"early-{number}".encode())
        assert not publisher.wait_confirmed(timeout_s=0.5)
        assert publisher.unconfirmed == 3
        with running_mosquitto(tmp_path / "broker", persistent, port=port):
            # paho retries the connection within its reconnect delay (1 s, then more)
            assert publisher.wait_confirmed(timeout_s=30)
            collector = Collector(port, "t/in", "collector")
            try:
                wait_until(lambda: collector.count() >= 3, 10)
            finally:
                collector.close()
    finally:
        publisher.stop()
    assert collector.payloads == [b"early-0", b"early-1", b"early-2"]
