"""Output→Input routing by the dataflow (docs/compatibility.md#routing-by-the-dataflow), through a
real Mosquitto: a chain A→B→C delivers along the edges, and an edge added or removed changes
delivery within 2 s while the devices stay connected."""

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.flows.devices import link, seed_units, unlink
from tests.flows.support import (
    Publisher,
    flow_settings,
    running_flow,
    start_flow_process,
    wait_subscribed,
    wait_until,
)


@dataclass
class Device:
    """A subscriber standing in for a unit: connects once and records what it receives."""

    port: int
    topics: list[str]
    received: dict[str, list[tuple[float, bytes]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.connect("127.0.0.1", self.port)
        self._client.loop_start()
        self._client.subscribe([(topic, 1) for topic in self.topics])
        assert self._subscribed.wait(10)
        self.connects = 1
        self._client.on_connect = self._count_reconnect

    def _count_reconnect(self, *_: object) -> None:
        self.connects += 1

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.setdefault(message.topic, []).append(
                (time.monotonic(), bytes(message.payload))
            )

    def payloads(self, topic: str) -> list[bytes]:
        with self._lock:
            return [payload for _, payload in self.received.get(topic, [])]

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def publish_every(publisher: Publisher, topic: str, seconds: float) -> dict[bytes, float]:
    """Numbered messages every 50 ms for `seconds`; payload -> when it was sent."""
    sent: dict[bytes, float] = {}
    deadline = time.monotonic() + seconds
    number = 0
    while time.monotonic() < deadline:
        payload = f"{topic[-8:]}-{number}".encode()
        sent[payload] = time.monotonic()
        publisher.publish_raw(topic, payload)
        number += 1
        time.sleep(0.05)
    return sent


def test_chain_routes_and_edge_changes_apply_within_two_seconds(
    tmp_path, sql_url, clickhouse_database, mosquitto_server
):
    units = seed_units(
        sql_url,
        {
            "sensor-a": ([], ["temp/pepeunit"]),
            "relay-b": (["set/pepeunit"], ["level"]),
            "lamp-c": (["cmd"], []),
        },
    )
    a_out = units["sensor-a"].outputs["temp/pepeunit"]
    b_in, b_out = units["relay-b"].inputs["set/pepeunit"], units["relay-b"].outputs["level"]
    c_in = units["lamp-c"].inputs["cmd"]
    link(sql_url, a_out, b_in)
    settings = flow_settings(
        tmp_path / "data", sql_url, clickhouse_database.dsn, mosquitto_server.port,
        flow_config_poll_interval=0.5,
    )  # fmt: skip
    publisher = Publisher(mosquitto_server.port)
    device = Device(mosquitto_server.port, [b_in.topic, c_in.topic])
    try:
        with running_flow(settings):
            publisher.publish_raw(a_out.topic, b"21.5").wait_for_publish(5)
            wait_until(lambda: device.payloads(b_in.topic) == [b"21.5"], 10)
            publisher.publish_raw(b_out.topic, b"unrouted").wait_for_publish(5)

            linked_at = time.monotonic()
            link(sql_url, b_out, c_in)
            sent = publish_every(publisher, b_out.topic, 3)
            wait_until(lambda: bool(device.payloads(c_in.topic)), 5)
            first = device.payloads(c_in.topic)[0]
            assert first in sent, "C received a message sent before the edge existed"
            took = sent[first] - linked_at
            print(f"edge B→C took effect after {took:.2f} s")
            assert took <= 2.0

            unlinked_at = time.monotonic()
            unlink(sql_url, a_out, b_in)
            sent = publish_every(publisher, a_out.topic, 3)
            time.sleep(1)
            routed = [payload for payload in device.payloads(b_in.topic) if payload in sent]
            last_sent = max((sent[payload] for payload in routed), default=unlinked_at)
            print(f"edge A→B removal took effect after {last_sent - unlinked_at:.2f} s")
            assert last_sent - unlinked_at <= 2.0
            assert len(routed) < len(sent)
    finally:
        device.close()
        publisher.close()
    assert device.connects == 1, "the device had to reconnect"
    assert b"unrouted" not in device.payloads(c_in.topic)


def kill_with_children(process: subprocess.Popen) -> None:
    """SIGKILL for the flow and its intake processes at once (alone, the intake would notice
    its parent gone and stop cleanly)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


FAN_OUT = 3
OVERLOAD_MESSAGES = 6_000
KILL_AFTER_COPIES = 2_000
TIGHT_BOUND = 20
"""Routed copies the flow may leave unconfirmed: so small that routing waits all the time."""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("sql_url", ["sqlite"], indirect=True)
def test_overloaded_routing_killed_midway_loses_no_copy(tmp_path, sql_url, mosquitto_factory):
    broker = mosquitto_factory(
        ("max_queued_messages 0", "max_inflight_messages 1000", "set_tcp_nodelay true")
    )
    units = seed_units(
        sql_url,
        {"sensor": ([], ["temp/pepeunit"])}
        | {f"relay-{i}": (["set/pepeunit"], []) for i in range(FAN_OUT)},
    )
    source = units["sensor"].outputs["temp/pepeunit"]
    targets = [units[f"relay-{i}"].inputs["set/pepeunit"] for i in range(FAN_OUT)]
    for target in targets:
        link(sql_url, source, target)
    settings = flow_settings(tmp_path / "data", sql_url, f"chdb://{tmp_path / 'chdb'}", broker.port)
    environment = {"PU_FLOW_ROUTE_MAX_UNCONFIRMED": str(TIGHT_BOUND)}
    log_path = tmp_path / "flow.log"
    flow = start_flow_process(settings, log_path, extra_env=environment)
    device = Device(broker.port, [target.topic for target in targets])
    publisher = Publisher(broker.port)
    try:
        wait_subscribed(settings, lambda: flow.poll() is not None, 30)
        sent = [str(number).encode() for number in range(OVERLOAD_MESSAGES)]
        infos = [publisher.publish_raw(source.topic, payload) for payload in sent]
        for info in infos:
            info.wait_for_publish(30)
        received = lambda: sum(len(device.payloads(t.topic)) for t in targets)  # noqa: E731
        wait_until(lambda: received() >= KILL_AFTER_COPIES, 60)
        kill_with_children(flow)
        copies_before_kill = received()
        flow = start_flow_process(settings, log_path, extra_env=environment)

        def every_copy_arrived() -> bool:
            return all(set(device.payloads(t.topic)) >= set(sent) for t in targets)

        wait_until(every_copy_arrived, 90, interval_s=0.5)
    finally:
        publisher.close()
        device.close()
        flow.send_signal(signal.SIGTERM)
        flow.wait(timeout=60)
    assert copies_before_kill < FAN_OUT * OVERLOAD_MESSAGES, "killed after routing finished"
    duplicates = received() - FAN_OUT * OVERLOAD_MESSAGES
    print(f"{copies_before_kill} copies before the kill, {duplicates} routed twice after it")
    for target in targets:
        assert set(device.payloads(target.topic)) == set(sent)
