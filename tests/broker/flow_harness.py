"""The dataflow's MQTT intake (as `pepeunit flow` composes it) against a test broker, a unit
that streams numbered messages, and intruders: paho clients with a chosen client id."""

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from control_plane.security import make_backend_token
from flows.intake.mqtt_intake import IntakeSettings, MqttIntake
from flows.intake.progress import IntakeProgress
from flows.intake.wal import WriteAheadLog
from flows.runner import ClusterPlacement, intake_settings
from pepeunit_core.settings import Settings

TIMEOUT_S = 15.0
PROBE = "probe"


def wait_until(condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


@dataclass
class FlowIntake:
    settings: IntakeSettings
    progress: IntakeProgress
    wal_path: Path

    def payloads(self) -> list[str]:
        """Every payload in the intake's log, probes left out, in log order."""
        with sqlite3.connect(self.wal_path) as connection:
            rows = connection.execute("SELECT payload FROM messages ORDER BY offset").fetchall()
        return [bytes(payload).decode() for (payload,) in rows if bytes(payload) != PROBE.encode()]

    def logged_count(self) -> int:
        with sqlite3.connect(self.wal_path) as connection:
            return connection.execute("SELECT count(*) FROM messages").fetchone()[0]


def flow_settings(settings: Settings, host: str, port: int) -> Settings:
    """The instance's settings with the broker's address and the Backend login."""
    backend = make_backend_token(settings.domain, settings.resolved_secret_key)
    return settings.model_copy(
        update={"mqtt_host": host, "mqtt_port": port, "mqtt_username": backend}
    )


@contextmanager
def running_intake(
    settings: Settings,
    work_dir: Path,
    partition: int,
    *,
    processes: int = 1,
    deaf_after_s: float = 5.0,
) -> Iterator[FlowIntake]:
    """Partition `partition`'s intake of process 0 in a cluster of `processes`."""
    addresses = tuple(f"127.0.0.1:{2100 + index}" for index in range(processes))
    placement = ClusterPlacement(0, addresses if processes > 1 else ())
    composed = dataclasses.replace(
        intake_settings(settings, placement, partition),
        heartbeat_interval_s=0.2,
        deaf_after_s=deaf_after_s,
    )
    wal_path = work_dir / f"intake-p{partition}.sqlite"
    wal = WriteAheadLog(wal_path)
    progress = IntakeProgress.create()
    intake = MqttIntake(composed, wal, f"p{partition}", progress)
    intake.start()
    try:
        yield FlowIntake(composed, progress, wal_path)
    finally:
        intake.stop()
        wal.close()


class Client:
    """A paho MQTT 3.1.1 client that reconnects by itself (as an intruder would) and records
    its CONNACKs and what it receives."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        client_id: str,
        *,
        clean_session: bool = False,
        subscribe: tuple[str, ...] = (),
    ) -> None:
        self.host, self.port = host, port
        self._subscribe = subscribe
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=mqtt.MQTTv311,
        )
        if username is not None:
            self._client.username_pw_set(username, "")
        self._client.reconnect_delay_set(min_delay=0.2, max_delay=0.5)
        self._client.max_inflight_messages_set(100)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self.connacks: list[ReasonCode] = []
        self.subacks: list[ReasonCode] = []
        self.received: list[str] = []
        self._lock = threading.Lock()

    def start(self) -> "Client":
        self._client.connect_async(self.host, self.port, keepalive=10)
        self._client.loop_start()
        wait_until(lambda: bool(self.connacks))
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def accepted(self) -> bool:
        return any(not reason.is_failure for reason in self.connacks)

    def publish_stream(self, topic: str, count: int, *, on_the_way: Callable[[int], None]) -> None:
        """Publishes `m0`..`m{count-1}` at QoS 1, calling `on_the_way(i)` before each, and
        waits for every PUBACK."""
        infos = []
        for index in range(count):
            on_the_way(index)
            infos.append(self._client.publish(topic, f"m{index}", qos=1))
            if index % 50 == 49:
                time.sleep(0.05)  # ~1 000 msg/s: a stream, not one burst
        for info in infos:
            info.wait_for_publish(TIMEOUT_S)
            assert info.is_published()

    def publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(TIMEOUT_S)

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        with self._lock:
            self.connacks.append(reason_code)
        if not reason_code.is_failure and self._subscribe:
            client.subscribe([(topic, 1) for topic in self._subscribe])

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties) -> None:
        with self._lock:
            self.subacks.extend(reason_codes)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append(message.payload.decode(errors="replace"))


@dataclass
class Intruders:
    """Clients started on the way through a stream and stopped at the end."""

    make: list[Callable[[], Client]]
    start_at: int
    started: list[Client] = field(default_factory=list)

    def __call__(self, index: int) -> None:
        if index == self.start_at:
            self.started = [make().start() for make in self.make]

    def stop(self) -> None:
        for intruder in self.started:
            intruder.stop()


def wait_flow_hears(flow: FlowIntake, unit: Client, topic: str) -> None:
    """Probes until the flow logs one: its subscriptions are in place."""
    deadline = time.monotonic() + TIMEOUT_S
    logged = flow.logged_count()
    while flow.logged_count() == logged:
        if time.monotonic() > deadline:
            raise TimeoutError("the flow never received a probe")
        unit.publish(topic, PROBE)
        time.sleep(0.1)
