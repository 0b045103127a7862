"""The intake's MQTT connection against a real Mosquitto: session resume, redelivery with DUP
of what a lost connection left unacknowledged, keep-alive through a peer that stops answering,
and a refused login retried."""

import logging
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flows.intake.mqtt_connection import MqttConnection
from flows.intake.mqtt_wire import Publish
from flows.mqtt_endpoint import MqttEndpoint
from tests.control_plane_registry.tcp_stubs import PausableProxy
from tests.services.mosquitto import MosquittoServer, StartMosquitto
from tests.services.processes import find_binary

TOPIC = "connection.example/node/pepeunit"


def wait_until(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@dataclass
class Recorded:
    sessions_present: list[bool] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)
    received: list[tuple[Publish, int]] = field(default_factory=list)


@contextmanager
def connected(port: int, *, keepalive: int = 60, client_id: str = "") -> Iterator[
    tuple[MqttConnection, Recorded]
]:  # fmt: skip
    """A connection subscribed to TOPIC at QoS 1 on each connect, its keep-alive driven every
    50 ms as the intake's committer does."""
    recorded = Recorded()
    endpoint = MqttEndpoint("127.0.0.1", port, keepalive, "", "")

    def on_connect(session_present: bool) -> None:
        recorded.sessions_present.append(session_present)
        connection.subscribe([(TOPIC, 1)])

    connection = MqttConnection(
        endpoint,
        client_id or f"connection-test-{uuid.uuid4()}",
        on_connect=on_connect,
        on_disconnect=recorded.disconnects.append,
        on_publishes=lambda publishes, number: recorded.received.extend(
            (publish, number) for publish in publishes
        ),
    )
    stop = threading.Event()

    def drive_keep_alive() -> None:
        while not stop.wait(0.05):
            connection.keep_alive()

    driver = threading.Thread(target=drive_keep_alive, daemon=True)
    connection.start()
    driver.start()
    try:
        yield connection, recorded
    finally:
        stop.set()
        driver.join()
        connection.stop()


def publish_qos1(server: MosquittoServer, payload: str) -> None:
    binary = find_binary("mosquitto_pub", [Path("/usr/bin/mosquitto_pub")], "mosquitto-clients")
    command = [str(binary), "-h", server.host, "-p", str(server.port), "-q", "1", "-t", TOPIC]
    subprocess.run([*command, "-m", payload], check=True, timeout=10)


def test_unacknowledged_messages_come_again_with_dup_on_the_resumed_session(
    mosquitto_server: MosquittoServer,
) -> None:
    with connected(mosquitto_server.port) as (connection, recorded):
        wait_until(lambda: recorded.sessions_present == [False])
        time.sleep(0.2)  # the SUBACK
        publish_qos1(mosquitto_server, "first")
        wait_until(lambda: len(recorded.received) == 1)
        (publish, first_connection), *_ = recorded.received
        assert (publish.payload, publish.qos, publish.dup) == (b"first", 1, False)

        connection.drop()
        wait_until(lambda: recorded.sessions_present == [False, True])
        connection.acknowledge([publish.mid], first_connection)  # a connection gone: not sent
        wait_until(lambda: len(recorded.received) == 2)
        redelivered, second_connection = recorded.received[1]
        assert second_connection != first_connection
        assert (redelivered.payload, redelivered.mid, redelivered.dup) == (
            b"first", publish.mid, True
        )  # fmt: skip
        connection.acknowledge([redelivered.mid], second_connection)
        time.sleep(0.2)  # the PUBACK reaches the broker

        connection.drop()
        wait_until(lambda: recorded.sessions_present == [False, True, True])
        time.sleep(0.5)
        assert len(recorded.received) == 2  # acknowledged: not sent again


def test_a_broker_that_stops_answering_is_left_and_the_session_resumed(
    mosquitto_server: MosquittoServer,
) -> None:
    with (
        PausableProxy(mosquitto_server.port) as proxy,
        connected(proxy.port, keepalive=1) as (_connection, recorded),
    ):
        wait_until(lambda: recorded.sessions_present == [False])
        time.sleep(2)  # idle beyond the keep-alive interval: PINGREQs keep it open
        assert recorded.disconnects == []
        proxy.silence.set()
        wait_until(lambda: len(recorded.disconnects) == 1, timeout_s=5)
        proxy.silence.clear()
        wait_until(lambda: recorded.sessions_present == [False, True])
        publish_qos1(mosquitto_server, "after")
        wait_until(lambda: [p.payload for p, _ in recorded.received] == [b"after"])


def test_a_refused_login_is_logged_and_retried(
    mosquitto_factory: StartMosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    broker = mosquitto_factory(allow_anonymous=False)
    with (
        caplog.at_level(logging.WARNING, logger="pepeunit.flow.intake"),
        connected(broker.port) as (_connection, recorded),
    ):
        wait_until(lambda: "refused: not authorised (5)" in caplog.text)
        assert recorded.sessions_present == []
