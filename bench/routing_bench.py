"""Routing and embedded-broker benchmark, on this machine.

1. Routing latency through a private Mosquitto: a paced publisher (a process of its own, at each
   `--qos`) publishes on Output node topics; `pepeunit flow` routes each message to the linked
   Input node topic (QoS 1); a subscriber (QoS 1) on the Input topics records when each arrives.
   The payload carries the publish time (`time.time_ns()`, same host clock), so publish →
   delivery latency is exact. Each rate is also measured without the flow (publisher →
   subscriber on the same topics, fresh broker), so the routing's own cost is visible. The
   subscriber stops when it has every message or after IDLE_END_S without one, so messages the
   flow loses show as "delivered < sent".
2. The embedded broker (amqtt, in-process authorisation): publishers log in as units and publish
   on their output topics, a Backend-token subscriber drains `{D}/+/pepeunit`; sustained msg/s at
   QoS 0 and 1 for a fixed message count, and latency at a paced moderate rate. The same load is
   run on Mosquitto for comparison.

The load generators (PUBLISHER, SUBSCRIBER) speak MQTT 3.1.1 over a plain socket with the
repository's own codec (flows/intake/mqtt_wire.py), not a client library: paho cost a core's
worth of CPU at 10 000 msg/s on this 2-core machine, fell short of the rate and took the CPU
from the flow under test. The publisher writes every message due at a tick (1 ms) in one write
and keeps at most 1 000 QoS 1 messages unacknowledged; the subscriber acknowledges what one read
brought in one write.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/routing_bench.py [--parts routing embedded]
        [--rates 1000 3000 10000] [--seconds 20] [--nodes 100] [--qos 1 0]
        [--messages 30000] [--paced-rate 2000] [--profile DIR]
`--profile DIR` records the intake and dataflow processes (routing, highest rate) and the
embedded broker (throughput runs) with py-spy, and prints where their time goes; the figures of
a profiled run are disturbed by the sampling. Prints Markdown tables; bench/RESULTS.md records
the figures.
"""

import argparse
import base64
import json
import math
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.processes import (
    CpuWatch,
    intake_pid,
    peak_rss_mib,
    pid_with_argument,
)
from bench.profiling import start_profilers, summarize_profile, wait_profilers
from control_plane.security import make_backend_token, make_unit_token
from pepeunit_core.db import models
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.engine import make_engine, make_session_factory
from tests.flows.devices import SeededUnit, seed_units
from tests.flows.support import DOMAIN, flow_settings, start_flow_process, wait_subscribed
from tests.services.mosquitto import MosquittoServer, running_mosquitto
from tests.services.ports import LOOPBACK, accepts_connections, free_loopback_port
from tests.services.processes import stop_process, wait_or_kill, with_parent_death_signal

ROOT = Path(__file__).resolve().parent.parent
PUBLISHER_PROCESSES = 1
"""Paced publisher processes; the routing runs have as many subscribers, each receiving what one
publisher sends. One suffices: paced at 10 000 msg/s QoS 1 against Mosquitto alone, it keeps
the rate for ~16 µs of CPU per message and the subscriber ~25 µs (a paho publisher: ~88 µs and
8 500 msg/s; its subscriber ~67 µs); one process also has no start-up skew to stretch the
measured publishing span."""
EMBEDDED_UNITS = 10
"""Units in the embedded broker's database; the first EMBEDDED_PUBLISHERS publish."""
EMBEDDED_PUBLISHERS = 3
"""Publisher processes, one unit each, for the embedded broker: several connections to
authorise and route between, as before the socket clients."""
OUTPUTS_PER_UNIT = 10
ROUTE_QOS = 1
"""The intake republishes at QoS 1; the routing subscriber subscribes at QoS 1 too."""
IDLE_END_S = 30.0
"""A subscriber stops this long after its last message (or when it has all of them)."""

PUBLISHER = """
import select, socket, sys, time
from flows.intake import mqtt_wire
port, qos, count, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
name, username, topics = sys.argv[5], sys.argv[6], sys.argv[7].split(",")
linger = sys.argv[8] == "1"
WINDOW, TICK_S, BATCH = 1000, 0.001, 1000  # QoS 1 in flight; pacing tick; packets per write
connection = socket.create_connection(("127.0.0.1", port), timeout=10)
connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
connection.sendall(mqtt_wire.connect_packet(name, 600, username, "", clean_session=True))
buffer = bytearray()
while True:
    data = connection.recv(65536)
    assert data, "the broker closed the connection before CONNACK"
    buffer += data
    packets, used = mqtt_wire.decode(buffer, pubacks=True)
    del buffer[:used]
    if packets:
        assert isinstance(packets[0], mqtt_wire.ConnAck) and packets[0].return_code == 0, packets
        break
connection.settimeout(None)
in_flight, next_mid, sent = set(), 1, 0
def take_mid():
    global next_mid
    while next_mid in in_flight:
        next_mid = next_mid % 65535 + 1
    mid, next_mid = next_mid, next_mid % 65535 + 1
    return mid
def read_pubacks(timeout):
    if not select.select([connection], [], [], timeout)[0]:
        return
    data = connection.recv(1 << 18)
    assert data, "the broker closed the connection"
    buffer.extend(data)
    packets, used = mqtt_wire.decode(buffer, pubacks=True)
    del buffer[:used]
    for packet in packets:
        if isinstance(packet, mqtt_wire.PubAck):
            in_flight.discard(packet.mid)
began = time.time()
start = time.monotonic()
while sent < count:
    if qos:
        read_pubacks(0)  # whatever acknowledgements have come, without waiting
    due = min(count, int((time.monotonic() - start) * rate) + 1) if rate else count
    due = min(due, sent + BATCH, sent + WINDOW - len(in_flight) if qos else count)
    if due > sent:
        stamp = time.time_ns()
        packets = []
        for i in range(sent, due):
            payload = f"{name}:{i}:{stamp}".encode()
            mid = take_mid() if qos else 0
            if mid:
                in_flight.add(mid)
            packets.append(mqtt_wire.publish_packet(topics[i % len(topics)], payload, mid=mid))
        connection.sendall(b"".join(packets))
        sent = due
    if sent >= count:
        break
    if qos and len(in_flight) >= WINDOW:
        read_pubacks(1.0)
    elif rate:  # until the next message is due, at least a tick: each write carries several
        time.sleep(max(TICK_S, start + sent / rate - time.monotonic()))
deadline = time.monotonic() + 120
while in_flight and time.monotonic() < deadline:
    read_pubacks(1.0)
assert not in_flight, f"{len(in_flight)} messages never acknowledged"
ended = time.time()
time.sleep(0.2 if qos == 0 else 0)  # QoS 0: written to the socket, let the broker read it
print(began, ended, flush=True)
if linger:  # stay connected until the benchmark closes our stdin
    sys.stdin.read()
connection.sendall(mqtt_wire.DISCONNECT)
connection.close()
"""

SUBSCRIBER = """
import json, socket, sys, time
from flows.intake import mqtt_wire
port, qos, expected = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
idle_s, deadline_s, username = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
topics, out, name = sys.argv[7].split(","), sys.argv[8], sys.argv[9]
connection = socket.create_connection(("127.0.0.1", port), timeout=10)
connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buffer = bytearray()
def read_packets():
    data = connection.recv(1 << 20)
    if not data:
        raise ConnectionError("the broker closed the connection")
    buffer.extend(data)
    packets, used = mqtt_wire.decode(buffer)
    del buffer[:used]
    return packets
def wait_for(kind):
    while True:
        for packet in read_packets():
            assert isinstance(packet, kind), packet
            return packet
connection.sendall(mqtt_wire.connect_packet(name, 600, username, "", clean_session=True))
assert wait_for(mqtt_wire.ConnAck).return_code == 0, "CONNECT refused"
connection.sendall(mqtt_wire.subscribe_packet(1, [(topic, qos) for topic in topics]))
assert 0x80 not in wait_for(mqtt_wire.SubAck).return_codes, "SUBSCRIBE refused"
print("ready", flush=True)
connection.settimeout(0.1)
received = []
end = time.monotonic() + deadline_s
quiet_since = time.monotonic()
while len(received) < expected and time.monotonic() < end:
    try:
        packets = read_packets()
    except TimeoutError:
        packets = []
    except ConnectionError:
        break
    now_ns = time.time_ns()
    mids = []
    for packet in packets:
        if isinstance(packet, mqtt_wire.Publish):
            received.append((now_ns, packet.payload))
            if packet.qos:
                mids.append(packet.mid)
    if mids:
        connection.sendall(mqtt_wire.puback_packets(mids))
    if packets:
        quiet_since = time.monotonic()
    elif received and time.monotonic() - quiet_since > idle_s:
        break
try:
    connection.sendall(mqtt_wire.DISCONNECT)
finally:
    connection.close()
latencies, unique = [], set()
for received_ns, payload in received:
    name, number, sent_ns = payload.decode().split(":")
    unique.add((name, number))
    latencies.append(received_ns - int(sent_ns))
first = received[0][0] if received else 0
last = received[-1][0] if received else 0
with open(out, "w") as file:
    json.dump({"received": len(received), "unique": len(unique), "first_ns": first,
               "last_ns": last, "latencies_ns": latencies}, file)
"""

EMBEDDED_BROKER = """
import sys
from control_plane.embedded_broker import start_embedded_broker
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.settings import Settings
url, domain, secret_key, encrypt_key, data_dir, port = sys.argv[1:7]
settings = Settings(sqlalchemy_database_url=url, domain=domain, secret_key=secret_key,
                    encrypt_key=encrypt_key, data_dir=data_dir)
broker = start_embedded_broker(settings, make_session_factory(make_engine(url)),
                               host="127.0.0.1", port=int(port))
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
broker.stop()
"""


# ---------------------------------------------------------------- processes and /proc


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def load_averages() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# ---------------------------------------------------------------- brokers


def mosquitto_settings(work: Path) -> tuple[str, ...]:
    """flow_bench's production settings, with persistence on (Mosquitto writes its database
    at autosave and shutdown only, so it costs nothing during a run)."""
    return (
        "persistence true",
        f"persistence_location {work}/",
        "max_queued_messages 0",
        "max_inflight_messages 1000",
        "queue_qos0_messages true",
        "set_tcp_nodelay true",
    )


@contextmanager
def fresh_mosquitto(work: Path) -> Iterator[tuple[MosquittoServer, int | None]]:
    """A private Mosquitto and its pid (for CPU and memory figures)."""
    work.mkdir(parents=True, exist_ok=True)
    with running_mosquitto(work, mosquitto_settings(work)) as server:
        yield server, pid_with_argument(str(server.config_path))


@dataclass(frozen=True)
class EmbeddedWorld:
    sql_url: str
    secret_key: str
    encrypt_key: str
    data_dir: Path
    unit_tokens: list[str]
    unit_topics: list[list[str]]
    backend_token: str


@contextmanager
def running_embedded_broker(world: EmbeddedWorld, log: Path) -> Iterator[tuple[int, int]]:
    """The embedded broker in a process of its own; yields (port, pid)."""
    port = free_loopback_port()
    command = [sys.executable, "-c", EMBEDDED_BROKER, world.sql_url, DOMAIN, world.secret_key]
    command += [world.encrypt_key, str(world.data_dir), str(port)]
    with log.open("ab") as output:
        process = subprocess.Popen(
            with_parent_death_signal(command, "TERM"),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=output, cwd=ROOT,
            env=child_env(),
        )  # fmt: skip
    try:
        assert process.stdout is not None and process.stdin is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"the embedded broker did not start; see {log}")
        deadline = time.monotonic() + 10
        while not accepts_connections(LOOPBACK, port) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield port, process.pid
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        stop_process(process)


# ---------------------------------------------------------------- publishers and subscriber


@dataclass(frozen=True)
class Load:
    qos: int
    count: int
    rate: float
    """Aggregate msg/s over all publishers (0: as fast as they can)."""
    publisher_topics: list[list[str]]
    """One topic list per publisher process."""
    publisher_usernames: list[str]
    subscriber_topics: list[list[str]]
    """One topic list (or filter) per subscriber process: one subscriber, or one per
    publisher receiving exactly what that publisher sends (directly or routed)."""
    subscriber_qos: int
    subscriber_username: str = ""
    linger: bool = True
    """Publishers stay connected until the subscriber is done (amqtt drops what a client
    published, and it acknowledged, but had not yet routed when that client disconnects)."""


@dataclass(frozen=True)
class Subscriber:
    process: subprocess.Popen
    out: Path
    """Where it writes what it received when it ends."""


@dataclass
class Delivery:
    sent: int
    received: int
    unique: int
    publish_began: float
    publish_ended: float
    first_received: float
    last_received: float
    latencies_ms: list[float]

    @property
    def publish_rate(self) -> float:
        return self.sent / max(self.publish_ended - self.publish_began, 1e-9)

    @property
    def delivery_rate(self) -> float:
        """Messages delivered per second, from the first publish to the last delivery."""
        return self.unique / max(self.last_received - self.publish_began, 1e-9)

    def quantile_ms(self, fraction: float) -> float:
        if not self.latencies_ms:
            return math.nan
        if fraction >= 1:
            return max(self.latencies_ms)
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=1000)[round(fraction * 1000) - 1]


def shares(count: int, parts: int) -> list[int]:
    share = count // parts
    return [share] * (parts - 1) + [count - share * (parts - 1)]


def subscriber_shares(load: Load) -> list[int]:
    """How many messages each subscriber process should receive."""
    if len(load.subscriber_topics) == 1:
        return [load.count]
    assert len(load.subscriber_topics) == len(load.publisher_topics)
    return shares(load.count, len(load.publisher_topics))


def start_subscribers(port: int, load: Load, work: Path, deadline_s: float) -> list[Subscriber]:
    subscribers: list[Subscriber] = []
    try:
        for index, expected in enumerate(subscriber_shares(load)):
            out = work / f"subscriber-{index}-{time.monotonic_ns()}.json"
            command = [sys.executable, "-c", SUBSCRIBER, str(port), str(load.subscriber_qos)]
            command += [str(expected), str(IDLE_END_S), str(deadline_s), load.subscriber_username]
            command += [",".join(load.subscriber_topics[index]), str(out), f"bench-sub-{index}"]
            process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=child_env())
            subscribers.append(Subscriber(process, out))
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("a subscriber could not subscribe")
    except BaseException:
        stop_subscribers(subscribers)
        raise
    return subscribers


def stop_subscribers(subscribers: list[Subscriber]) -> None:
    for subscriber in subscribers:
        stop_process(subscriber.process)


def start_publishers(port: int, load: Load) -> list[subprocess.Popen]:
    parts = len(load.publisher_topics)
    publishers = []
    for index, part in enumerate(shares(load.count, parts)):
        command = [sys.executable, "-c", PUBLISHER, str(port), str(load.qos), str(part)]
        command += [str(load.rate / parts), f"bench-pub-{index}", load.publisher_usernames[index]]
        command += [",".join(load.publisher_topics[index]), "1" if load.linger else "0"]
        publishers.append(
            subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=child_env(),
            )
        )
    return publishers


def wait_published(publishers: list[subprocess.Popen]) -> tuple[float, float]:
    """Waits until every publisher has had its last message acknowledged (QoS 1) or written
    (QoS 0); returns (first start, last end) in epoch seconds."""
    spans = []
    for publisher in publishers:
        assert publisher.stdout is not None
        line = publisher.stdout.readline().split()
        if len(line) != 2:
            raise RuntimeError(f"a publisher failed (exit code {publisher.wait(timeout=30)})")
        spans.append((float(line[0]), float(line[1])))
    return min(span[0] for span in spans), max(span[1] for span in spans)


def release_publishers(publishers: list[subprocess.Popen]) -> None:
    """Lets lingering publishers disconnect, and stops any that do not."""
    for publisher in publishers:
        if publisher.stdin is not None:
            publisher.stdin.close()
    for publisher in publishers:
        wait_or_kill(publisher, 30)


def deliver(port: int, load: Load, work: Path, watch: CpuWatch | None = None) -> Delivery:
    """Runs the subscriber and the publishers once; the subscriber ends by itself (all
    messages received, or IDLE_END_S without any)."""
    deadline_s = (load.count / load.rate if load.rate else 0) + 300
    subscribers = start_subscribers(port, load, work, deadline_s)
    publishers: list[subprocess.Popen] = []
    try:
        if watch is not None:
            watch.start()
        publishers = start_publishers(port, load)
        began, ended = wait_published(publishers)
        for subscriber in subscribers:
            subscriber.process.wait(timeout=deadline_s + 30)
        if watch is not None:
            watch.stop()
    finally:
        release_publishers(publishers)
        stop_subscribers(subscribers)
    results = [json.loads(subscriber.out.read_text()) for subscriber in subscribers]
    received = [result for result in results if result["received"]]
    return Delivery(
        sent=load.count, received=sum(result["received"] for result in results),
        unique=sum(result["unique"] for result in results),
        publish_began=began, publish_ended=ended,
        first_received=min((r["first_ns"] for r in received), default=0) / 1e9,
        last_received=max((r["last_ns"] for r in received), default=0) / 1e9,
        latencies_ms=[value / 1e6 for result in results for value in result["latencies_ns"]],
    )  # fmt: skip


# ---------------------------------------------------------------- 1. routing latency


@dataclass(frozen=True)
class RoutingWorld:
    sql_url: str
    output_topics: list[str]
    input_topics: list[str]


def link_pairs(sql_url: str, sources: SeededUnit, sinks: SeededUnit, count: int) -> None:
    """Edge out{i} → in{i}, all in one transaction."""
    sessions = make_session_factory(make_engine(sql_url))
    with sessions() as session:
        for index in range(count):
            output = sources.outputs[f"out{index}/pepeunit"]
            target = sinks.inputs[f"in{index}/pepeunit"]
            session.add(
                models.UnitNodeEdge(node_output_uuid=output.uuid, node_input_uuid=target.uuid)
            )
        bump_dataflow_config_version(session)
        session.commit()


def routing_world(work: Path, node_count: int) -> RoutingWorld:
    """One unit with `node_count` outputs, another with as many inputs, linked one to one."""
    work.mkdir(parents=True, exist_ok=True)
    sql_url = f"sqlite:///{work / 'pepeunit.sqlite'}"
    outputs = [f"out{index}/pepeunit" for index in range(node_count)]
    inputs = [f"in{index}/pepeunit" for index in range(node_count)]
    units = seed_units(sql_url, {"sources": ([], outputs), "sinks": (inputs, [])})
    link_pairs(sql_url, units["sources"], units["sinks"], node_count)
    return RoutingWorld(
        sql_url,
        [units["sources"].outputs[name].topic for name in outputs],
        [units["sinks"].inputs[name].topic for name in inputs],
    )


def split_topics(topics: list[str], parts: int) -> list[list[str]]:
    return [topics[index::parts] for index in range(parts)]


@dataclass
class RoutingRow:
    qos: int
    target_rate: float
    path: str
    sent: int
    delivered: int
    duplicates: int
    publish_rate: float
    delivery_rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    cpu_percent: dict[str, float]
    cpu_wait_percent: dict[str, float]
    cpu_us_per_message: dict[str, float] = field(default_factory=dict)
    """CPU time per delivered message: what a process costs whatever the machine's load."""
    flow_peak_rss_mib: float = 0.0
    intake_peak_rss_mib: float = 0.0
    routed_by_intake: int = 0
    load_average: str = ""


def routing_row(
    qos: int, rate: float, path: str, delivery: Delivery, watch: CpuWatch
) -> RoutingRow:
    return RoutingRow(
        qos=qos, target_rate=rate, path=path, sent=delivery.sent, delivered=delivery.unique,
        duplicates=delivery.received - delivery.unique, publish_rate=delivery.publish_rate,
        delivery_rate=delivery.delivery_rate, p50_ms=delivery.quantile_ms(0.5),
        p90_ms=delivery.quantile_ms(0.9), p99_ms=delivery.quantile_ms(0.99),
        max_ms=delivery.quantile_ms(1.0), cpu_percent=watch.used_percent,
        cpu_wait_percent=watch.waiting_percent,
        cpu_us_per_message={
            name: 1e6 * seconds / max(delivery.unique, 1)
            for name, seconds in watch.used_seconds.items()
        },
        load_average=load_averages(),
    )  # fmt: skip


def broker_only_latency(
    work: Path, world: RoutingWorld, qos: int, rate: float, count: int
) -> RoutingRow:
    """Publisher → subscriber on the same (output) topics, no flow."""
    with fresh_mosquitto(work / "broker") as (broker, mosquitto_pid):
        load = Load(
            qos, count, rate, split_topics(world.output_topics, PUBLISHER_PROCESSES),
            [""] * PUBLISHER_PROCESSES,
            split_topics(world.output_topics, PUBLISHER_PROCESSES), ROUTE_QOS,
        )  # fmt: skip
        watch = CpuWatch({"mosquitto": mosquitto_pid} if mosquitto_pid else {})
        delivery = deliver(broker.port, load, work, watch)
    return routing_row(qos, rate, "broker only", delivery, watch)


def scrape_counter(port: int, name: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return -1
    pattern = re.compile(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", re.MULTILINE)
    return int(sum(float(value) for value in pattern.findall(text)))


def routed_latency(
    work: Path, world: RoutingWorld, qos: int, rate: float, count: int, profile: Path | None
) -> RoutingRow:
    """Publisher → Output topic → flow intake → Input topic (QoS 1) → subscriber."""
    with fresh_mosquitto(work / "broker") as (broker, mosquitto_pid):
        metrics_port = free_loopback_port()
        settings = flow_settings(
            work / "data", world.sql_url, f"chdb://{work / 'chdb'}", broker.port,
            flow_flush_interval=1.0, flow_metrics_port=metrics_port,
        )  # fmt: skip
        flow = start_flow_process(settings, work / "flow.log")
        try:
            wait_subscribed(settings, lambda: flow.poll() is not None, 60)
            intake = intake_pid(flow.pid)
            pids = {"mosquitto": mosquitto_pid, "intake": intake, "dataflow": flow.pid}
            known = {name: pid for name, pid in pids.items() if pid is not None}
            watch = CpuWatch(known)
            load = Load(
                qos, count, rate, split_topics(world.output_topics, PUBLISHER_PROCESSES),
                [""] * PUBLISHER_PROCESSES,
                split_topics(world.input_topics, PUBLISHER_PROCESSES), ROUTE_QOS,
            )  # fmt: skip
            profilers = start_profilers(
                profile, {f"routing-{rate:.0f}-qos{qos}-{n}": p for n, p in known.items()
                          if n != "mosquitto"}, count / rate,
            )  # fmt: skip
            delivery = deliver(broker.port, load, work, watch)
            wait_profilers(profilers)
            row = routing_row(qos, rate, "through the flow", delivery, watch)
            row.routed_by_intake = scrape_counter(
                metrics_port, "pepeunit_flow_routed_messages_total"
            )
            row.flow_peak_rss_mib = peak_rss_mib(flow.pid)
            row.intake_peak_rss_mib = peak_rss_mib(intake) if intake else 0.0
        finally:
            stop_process(flow, timeout=120)
    return row


def measure_routing(
    work: Path, node_count: int, rates: Sequence[float], qos_levels: Sequence[int],
    seconds: float, profile: Path | None,
) -> list[RoutingRow]:  # fmt: skip
    world = routing_world(work / "world", node_count)
    rows = []
    for qos in qos_levels:
        for rate in rates:
            count = int(rate * seconds)
            for measure in ("bare", "routed"):
                run_dir = Path(tempfile.mkdtemp(prefix=f"{measure}-", dir=work))
                if measure == "bare":
                    rows.append(broker_only_latency(run_dir, world, qos, rate, count))
                else:
                    profiled = profile if rate == max(rates) else None
                    rows.append(routed_latency(run_dir, world, qos, rate, count, profiled))
                print(json.dumps(asdict(rows[-1])), file=sys.stderr, flush=True)
    return rows


# ---------------------------------------------------------------- 2. embedded broker


def embedded_world(work: Path) -> EmbeddedWorld:
    work.mkdir(parents=True, exist_ok=True)
    sql_url = f"sqlite:///{work / 'pepeunit.sqlite'}"
    outputs = [f"value{index}/pepeunit" for index in range(OUTPUTS_PER_UNIT)]
    units = seed_units(sql_url, {f"unit-{n}": ([], outputs) for n in range(EMBEDDED_UNITS)})
    secret_key = base64.b64encode(secrets.token_bytes(32)).decode()
    encrypt_key = base64.b64encode(secrets.token_bytes(32)).decode()
    publishing = list(units.values())[:EMBEDDED_PUBLISHERS]
    return EmbeddedWorld(
        sql_url=sql_url, secret_key=secret_key, encrypt_key=encrypt_key, data_dir=work,
        unit_tokens=[make_unit_token(unit.uuid, secret_key) for unit in publishing],
        unit_topics=[[unit.outputs[name].topic for name in outputs] for unit in publishing],
        backend_token=make_backend_token(DOMAIN, secret_key),
    )  # fmt: skip


@dataclass
class BrokerRow:
    broker: str
    qos: int
    mode: str
    sent: int
    delivered: int
    duplicates: int
    publish_rate: float
    delivery_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    broker_cpu_percent: float
    broker_cpu_wait_percent: float
    broker_peak_rss_mib: float
    load_average: str = ""


def unit_load(world: EmbeddedWorld, qos: int, count: int, rate: float, linger: bool = True) -> Load:
    return Load(
        qos, count, rate, world.unit_topics, world.unit_tokens,
        [[f"{DOMAIN}/+/pepeunit"]], qos, world.backend_token, linger,
    )  # fmt: skip


def broker_row(
    broker: str, mode: str, load: Load, delivery: Delivery, watch: CpuWatch, pid: int | None
) -> BrokerRow:
    return BrokerRow(
        broker=broker, qos=load.qos, mode=mode, sent=delivery.sent, delivered=delivery.unique,
        duplicates=delivery.received - delivery.unique, publish_rate=delivery.publish_rate,
        delivery_rate=delivery.delivery_rate, p50_ms=delivery.quantile_ms(0.5),
        p99_ms=delivery.quantile_ms(0.99), max_ms=delivery.quantile_ms(1.0),
        broker_cpu_percent=watch.used_percent.get("broker", math.nan),
        broker_cpu_wait_percent=watch.waiting_percent.get("broker", math.nan),
        broker_peak_rss_mib=peak_rss_mib(pid) if pid else math.nan,
        load_average=load_averages(),
    )  # fmt: skip


@dataclass(frozen=True)
class BrokerRunSpec:
    mode: str
    load: Load


def broker_runs(
    world: EmbeddedWorld, qos_levels: Sequence[int], messages: int, paced_rate: float,
    seconds: float,
) -> list[BrokerRunSpec]:  # fmt: skip
    runs = [BrokerRunSpec("throughput", unit_load(world, q, messages, 0)) for q in qos_levels]
    paced = int(paced_rate * seconds)
    label = f"paced {paced_rate:,.0f}/s"
    runs += [BrokerRunSpec(label, unit_load(world, q, paced, paced_rate)) for q in qos_levels]
    if 1 in qos_levels:  # what a broker does with acknowledged messages of a client that leaves
        leaving = unit_load(world, 1, messages, 0, linger=False)
        runs.append(BrokerRunSpec("throughput, publishers disconnect at once", leaving))
    return runs


def measure_on_embedded(
    work: Path, world: EmbeddedWorld, runs: list[BrokerRunSpec], profile: Path | None
) -> list[BrokerRow]:
    rows = []
    for run in runs:  # a fresh broker per run, as for Mosquitto
        run_dir = Path(tempfile.mkdtemp(prefix="embedded-", dir=work))
        with running_embedded_broker(world, run_dir / "broker.log") as (port, pid):
            watch = CpuWatch({"broker": pid})
            profiled = profile if run.mode == "throughput" else None
            seconds = 60.0 if run.load.rate == 0 else run.load.count / run.load.rate
            profilers = start_profilers(profiled, {f"embedded-qos{run.load.qos}": pid}, seconds)
            delivery = deliver(port, run.load, run_dir, watch)
            wait_profilers(profilers)
            rows.append(broker_row("embedded (amqtt)", run.mode, run.load, delivery, watch, pid))
        print(json.dumps(asdict(rows[-1])), file=sys.stderr, flush=True)
    return rows


def measure_on_mosquitto(work: Path, runs: list[BrokerRunSpec]) -> list[BrokerRow]:
    rows = []
    for run in runs:
        run_dir = Path(tempfile.mkdtemp(prefix="mosquitto-", dir=work))
        with fresh_mosquitto(run_dir / "broker") as (broker, pid):
            watch = CpuWatch({"broker": pid} if pid else {})
            delivery = deliver(broker.port, run.load, run_dir, watch)
            rows.append(broker_row("Mosquitto", run.mode, run.load, delivery, watch, pid))
        print(json.dumps(asdict(rows[-1])), file=sys.stderr, flush=True)
    return rows


def measure_embedded(
    work: Path, qos_levels: Sequence[int], messages: int, paced_rate: float, seconds: float,
    profile: Path | None,
) -> list[BrokerRow]:  # fmt: skip
    world = embedded_world(work / "world")
    runs = broker_runs(world, qos_levels, messages, paced_rate, seconds)
    return measure_on_embedded(work, world, runs, profile) + measure_on_mosquitto(work, runs)


# ---------------------------------------------------------------- report


def print_routing_table(rows: list[RoutingRow], node_count: int, seconds: float) -> None:
    print(
        f"Routing latency through Mosquitto: {node_count} Output nodes each linked to one Input "
        f"node, {PUBLISHER_PROCESSES} paced publisher processes, {seconds:g} s per row, route "
        f"republished at QoS 1, {PUBLISHER_PROCESSES} subscribers at QoS 1 on the Input topics "
        "(broker only: on the publishers' topics)"
    )
    print()
    print("| publisher QoS | target msg/s | path | delivered / sent (dup) | published msg/s | "
          "delivered msg/s | p50 / p90 / p99 / max ms | CPU % (waiting for a core %) mosquitto / "
          "intake / dataflow | CPU µs per message mosquitto / intake / dataflow | "
          "peak RSS MiB dataflow / intake |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cpu = " / ".join(
            f"{r.cpu_percent[name]:.0f} ({r.cpu_wait_percent[name]:.0f})"
            if name in r.cpu_percent
            else "-"
            for name in ("mosquitto", "intake", "dataflow")
        )
        per_message = " / ".join(
            f"{r.cpu_us_per_message[name]:.0f}" if name in r.cpu_us_per_message else "-"
            for name in ("mosquitto", "intake", "dataflow")
        )
        rss = (
            f"{r.flow_peak_rss_mib:.0f} / {r.intake_peak_rss_mib:.0f}"
            if r.flow_peak_rss_mib
            else "-"
        )
        print(
            f"| {r.qos} | {r.target_rate:,.0f} | {r.path} | {r.delivered:,} / {r.sent:,} "
            f"({r.duplicates:,}) | {r.publish_rate:,.0f} | {r.delivery_rate:,.0f} | "
            f"{r.p50_ms:.1f} / {r.p90_ms:.1f} / {r.p99_ms:.1f} / {r.max_ms:.0f} | {cpu} | "
            f"{per_message} | {rss} |"
        )


def print_broker_table(rows: list[BrokerRow]) -> None:
    print(
        f"Embedded broker vs Mosquitto: {EMBEDDED_PUBLISHERS} publisher processes logged in as "
        f"units ({OUTPUTS_PER_UNIT} output topics each, {EMBEDDED_UNITS} units in the database), "
        "one Backend-token subscriber on {D}/+/pepeunit at the publishers' QoS"
    )
    print()
    print("| broker | QoS | mode | delivered / sent (dup) | published msg/s | delivered msg/s | "
          "p50 / p99 / max ms | broker CPU % (waiting for a core %) | "
          "broker peak RSS MiB |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.broker} | {r.qos} | {r.mode} | {r.delivered:,} / {r.sent:,} ({r.duplicates:,}) "
            f"| {r.publish_rate:,.0f} | {r.delivery_rate:,.0f} | {r.p50_ms:.1f} / "
            f"{r.p99_ms:.1f} / {r.max_ms:.0f} | {r.broker_cpu_percent:.0f} "
            f"({r.broker_cpu_wait_percent:.0f}) | "
            f"{r.broker_peak_rss_mib:.0f} |"
        )


def print_profiles(directory: Path) -> None:
    for path in sorted(directory.glob("*.txt")):
        print(f"\n### profile: {path.stem}\n")
        print("\n".join(summarize_profile(path)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", nargs="+", default=["routing", "embedded"])
    parser.add_argument("--rates", type=float, nargs="+", default=[1_000, 3_000, 10_000])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--qos", type=int, nargs="+", default=[1, 0])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--paced-rate", type=float, default=2_000)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    os.chdir(ROOT)
    print(f"load averages at start: {load_averages()}", file=sys.stderr, flush=True)
    routing: list[RoutingRow] = []
    brokers: list[BrokerRow] = []
    with tempfile.TemporaryDirectory(prefix="pepeunit-routing-bench-") as directory:
        work = Path(directory)
        if "routing" in args.parts:
            routing = measure_routing(
                work / "routing", args.nodes, args.rates, args.qos, args.seconds, args.profile
            )
        if "embedded" in args.parts:
            brokers = measure_embedded(
                work / "embedded", args.qos, args.messages, args.paced_rate, args.seconds,
                args.profile,
            )  # fmt: skip
    print(f"load averages at end: {load_averages()}", file=sys.stderr, flush=True)
    if routing:
        print_routing_table(routing, args.nodes, args.seconds)
        print()
    if brokers:
        print_broker_table(brokers)
    if args.profile is not None and args.profile.exists():
        print_profiles(args.profile)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks run
    main()
