"""Intake candidates side by side: each drains the same backlog of queued QoS 1 messages from
its persistent session into the real write-ahead log (`flows.intake.wal`), one transaction per
batch, and acknowledges each message only after the commit of its batch.

Candidates (each in a process of its own, as the real intake is):
- `flow-intake`: the flow's intake as it is in the tree, `flows.intake.mqtt_intake.MqttIntake`
  (MQTT 3.1.1; paho until the intake moved onto the python loop below, see RESULTS.md);
- `gmqtt`: the asyncio client gmqtt (MQTT 5: it acknowledges after the message callback only
  in MQTT 5), an async callback per message awaiting its batch's commit;
- `mqtt5-loop`: the Rust codec `mqtt5` (MQTT 5) under a thin blocking socket loop of ours:
  read what the socket has, decode every whole packet, log the publishes in one transaction,
  write all their PUBACKs in one send;
- `python-loop`: the same loop with our MQTT 3.1.1 codec in plain Python
  (`flows.intake.mqtt_wire`);
- `c-client`: the C client `mosquitto_sub -c -q 1` counting messages, without a log: the
  ceiling of any subscriber on this broker and machine.

For each row: a fresh Mosquitto (flow_bench's settings), the session subscribed, then
`--messages` QoS 1 messages over `--nodes` node topics published while it is offline; the
candidate drains them; then its session is opened again to count what the broker still held
(anything not acknowledged). The rate runs from the start of the first log append to the end
of the last (acknowledgements sent).

gmqtt and mqtt5 were set aside (bench/RESULTS.md), so they are not dependencies; gmqtt's wheel
(0.8.0) even installs a top-level `tests` package, which shadows ours. To measure them:
`pip install --no-deps --target DIR gmqtt==0.8.0 mqtt5==0.8.0`, delete `DIR/tests` and
`DIR/examples`, and put DIR on PYTHONPATH after the repository.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/intake_bench.py [--messages N] [--profile DIR]
Prints a Markdown table (and, with --profile, py-spy summaries); bench/RESULTS.md records them.
"""

import argparse
import asyncio
import json
import select
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.flow_bench import BROKER_SETTINGS, c_client_drain_rate, publish
from bench.profiling import start_profilers, summarize_profile, wait_profilers
from flows.intake import mqtt_wire
from flows.intake.wal import ReceivedMessage, WriteAheadLog
from tests.flows.support import DOMAIN
from tests.services.mosquitto import running_mosquitto
from tests.services.processes import find_binary

CANDIDATES = ("flow-intake", "gmqtt", "mqtt5-loop", "python-loop", "c-client")
TOPIC_FILTER = f"{DOMAIN}/+/pepeunit"
CLIENT_ID = "bench-intake"
KEEPALIVE_S = 60
RECEIVE_MAXIMUM = 1_000
"""MQTT 5 candidates tell the broker this (Mosquitto's `max_inflight_messages` for 3.1.1)."""
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
"""MQTT 5's equivalent of 3.1.1's clean_session=False."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TimedLog(WriteAheadLog):
    """The real log, noting when the first append began and the last one ended, and the
    process's CPU time (all threads) between the two."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.logged = 0
        self.first_s = self.last_s = 0.0
        self.first_cpu_s = self.last_cpu_s = 0.0

    def append(self, messages: Sequence[ReceivedMessage]) -> int:
        began, began_cpu = time.monotonic(), time.process_time()
        offset = super().append(messages)
        if not self.first_s:
            self.first_s, self.first_cpu_s = began, began_cpu
        self.logged += len(messages)
        self.last_s, self.last_cpu_s = time.monotonic(), time.process_time()
        return offset


@dataclass
class Drained:
    logged: int
    first_s: float
    last_s: float
    cpu_s: float
    dup_seen: int = 0


def _finish(log: TimedLog, dup_seen: int = 0) -> Drained:
    return Drained(log.logged, log.first_s, log.last_s, log.last_cpu_s - log.first_cpu_s, dup_seen)


# ------------------------------------------------------------------ candidates (child process)


def drain_flow_intake(port: int, count: int, wal_path: Path) -> Drained:
    from flows.intake.mqtt_intake import IntakeSettings, MqttIntake
    from flows.intake.progress import IntakeProgress
    from flows.mqtt_endpoint import MqttEndpoint

    log = TimedLog(wal_path)
    endpoint = MqttEndpoint("127.0.0.1", port, KEEPALIVE_S, "", "")
    progress = IntakeProgress.create()
    intake = MqttIntake(IntakeSettings(endpoint, CLIENT_ID, (TOPIC_FILTER,)), log, "p0", progress)
    intake.start()
    while progress.received.value < count:
        time.sleep(0.01)
    intake.stop()
    return _finish(log, progress.redelivered_duplicates.value)


def drain_gmqtt(port: int, count: int, wal_path: Path) -> Drained:
    return asyncio.run(_drain_gmqtt(port, count, wal_path))


async def _drain_gmqtt(port: int, count: int, wal_path: Path) -> Drained:
    import gmqtt
    from gmqtt.mqtt.constants import MQTTv50

    log = TimedLog(wal_path)
    loop = asyncio.get_running_loop()
    pending: list[ReceivedMessage] = []
    committed = loop.create_future()
    dup_seen = 0

    async def on_message(
        _client: object, topic: str, payload: bytes, _qos: int, properties: dict
    ) -> int:
        nonlocal dup_seen
        dup_seen += properties["dup"]
        # gmqtt does not hand the packet id to the callback: no redelivery deduplication
        pending.append(ReceivedMessage(now_ms(), topic, payload, 0))
        await committed
        return 0  # PUBACK: success

    client = gmqtt.Client(
        CLIENT_ID,
        clean_session=False,
        optimistic_acknowledgement=False,
        session_expiry_interval=SESSION_NEVER_EXPIRES,
        receive_maximum=RECEIVE_MAXIMUM,
    )
    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(TOPIC_FILTER, qos=1)
    await client.connect("127.0.0.1", port, keepalive=KEEPALIVE_S, version=MQTTv50)
    while log.logged < count:
        await asyncio.sleep(0.005)
        if pending:
            batch, pending[:] = list(pending), []
            batch_committed, committed = committed, loop.create_future()
            await loop.run_in_executor(None, log.append, batch)
            batch_committed.set_result(None)
    await asyncio.sleep(0.2)  # the last PUBACKs leave
    await client.disconnect(session_expiry_interval=SESSION_NEVER_EXPIRES)
    return _finish(log, dup_seen)


Decoder = Callable[[bytearray], tuple[list[mqtt_wire.Incoming], int]]
"""Whole packets at the start of a buffer -> the packets and the bytes they took."""


def decode_with_mqtt5(buffer: bytearray) -> tuple[list[mqtt_wire.Incoming], int]:
    """The native codec's decoding, as mqtt_wire's packets (PUBLISH only: enough here)."""
    import mqtt5

    publishes: list[mqtt_wire.Incoming] = []
    view = memoryview(buffer)
    position = 0
    try:
        while True:
            packet, size = mqtt5.read(view[position:])
            position += size
            if isinstance(packet, mqtt5.PublishPacket):
                mid, dup = packet.packet_id or 0, packet.duplicate
                publishes.append(mqtt_wire.Publish(packet.topic, packet.payload, 1, mid, dup))
    except IndexError:  # not enough bytes for the next packet
        pass
    finally:
        view.release()
    return publishes, position


def _session_packets_v311() -> tuple[bytes, bytes]:
    connect = mqtt_wire.connect_packet(CLIENT_ID, KEEPALIVE_S, "", "", clean_session=False)
    return connect, mqtt_wire.subscribe_packet(1, [(TOPIC_FILTER, 1)])


def _session_packets_v5() -> tuple[bytes, bytes]:
    import mqtt5

    connect = mqtt5.ConnectPacket(
        CLIENT_ID,
        clean_start=False,
        keep_alive=KEEPALIVE_S,
        session_expiry_interval=SESSION_NEVER_EXPIRES,
        receive_max=RECEIVE_MAXIMUM,
    )
    subscribe = mqtt5.SubscribePacket(
        1, [mqtt5.TopicFilter(TOPIC_FILTER, max_qos=mqtt5.QoS.AT_LEAST_ONCE)]
    )
    return connect.write(), subscribe.write()


def drain_socket_loop(
    port: int, count: int, wal_path: Path, decode: Decoder, session: tuple[bytes, bytes]
) -> Drained:
    """Reads whatever the socket has, logs its publishes in one transaction, then sends their
    PUBACKs in one write. Nothing is read while logging, so the broker holds the rest (it
    sends no more than the in-flight limit unacknowledged anyway)."""
    log = TimedLog(wal_path)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(session[0] + session[1])
    last_sent = time.monotonic()
    buffer = bytearray()
    dup_seen = 0
    while log.logged < count:
        readable, _, _ = select.select([sock], [], [], KEEPALIVE_S / 2)
        if time.monotonic() - last_sent >= KEEPALIVE_S / 2:
            sock.sendall(mqtt_wire.PINGREQ)
            last_sent = time.monotonic()
        if not readable:
            continue
        data = sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the broker closed the connection")
        buffer += data
        packets, used = decode(buffer)
        del buffer[:used]
        publishes = [p for p in packets if isinstance(p, mqtt_wire.Publish)]
        if not publishes:
            continue
        received_ms = now_ms()
        log.append([ReceivedMessage(received_ms, p.topic, p.payload, p.mid) for p in publishes])
        # a PUBACK of 3.1.1 is also MQTT 5's with reason "success"
        sock.sendall(mqtt_wire.puback_packets([p.mid for p in publishes]))
        dup_seen += sum(p.dup for p in publishes)
        last_sent = time.monotonic()
    sock.sendall(mqtt_wire.DISCONNECT)
    sock.close()
    return _finish(log, dup_seen)


def drain(candidate: str, port: int, count: int, wal_path: Path) -> Drained:
    if candidate == "flow-intake":
        return drain_flow_intake(port, count, wal_path)
    if candidate == "gmqtt":
        return drain_gmqtt(port, count, wal_path)
    if candidate == "mqtt5-loop":
        return drain_socket_loop(port, count, wal_path, decode_with_mqtt5, _session_packets_v5())
    if candidate == "python-loop":
        session = _session_packets_v311()
        return drain_socket_loop(port, count, wal_path, mqtt_wire.decode, session)
    raise ValueError(f"unknown candidate {candidate!r}")


# ------------------------------------------------------------------ the bench (parent)


@dataclass
class Row:
    candidate: str
    protocol: str
    rate: float
    logged: int
    left_in_session: int
    cpu_us_per_message: float
    dup_seen: int


def _protocol(candidate: str) -> str:
    return "5" if candidate in ("gmqtt", "mqtt5-loop") else "3.1.1"


def _session_command(port: int, candidate: str) -> list[str]:
    binary = find_binary("mosquitto_sub", [Path("/usr/bin/mosquitto_sub")], "mosquitto-clients")
    version = "mqttv5" if _protocol(candidate) == "5" else "mqttv311"
    command = [str(binary), "-h", "127.0.0.1", "-p", str(port), "-c", "-q", "1", "-V", version]
    return [*command, "-i", CLIENT_ID, "-t", TOPIC_FILTER]


def left_in_session(port: int, candidate: str) -> int:
    """Opens the candidate's session again and counts what the broker still had for it."""
    command = [*_session_command(port, candidate), "-W", "3", "-F", "%t"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    return len(result.stdout.split())


def measure(candidate: str, count: int, nodes: list[str], work: Path, profile: Path | None) -> Row:
    with running_mosquitto(work / f"broker-{candidate}", BROKER_SETTINGS) as broker:
        if candidate == "c-client":
            rate, received = c_client_drain_rate(broker.port, 1, count, nodes)
            return Row(candidate, "3.1.1", rate, received, 0, float("nan"), 0)
        subscribe_only = [*_session_command(broker.port, candidate), "-E"]
        if _protocol(candidate) == "5":
            subscribe_only += ["-x", str(SESSION_NEVER_EXPIRES)]
        subprocess.run(subscribe_only, check=True, timeout=30)
        publish(broker.port, 1, count, nodes)
        wal_path = work / f"{candidate}.sqlite"
        command = [sys.executable, "-m", "bench.intake_bench", "--child", candidate]
        command += ["--port", str(broker.port), "--messages", str(count), "--wal", str(wal_path)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        profilers = start_profilers(profile, {f"intake-{candidate}": child.pid}, 60)
        output, _ = child.communicate(timeout=600)
        wait_profilers(profilers)
        assert child.returncode == 0, f"{candidate} failed"
        drained = Drained(**json.loads(output.strip().splitlines()[-1]))
        with sqlite3.connect(wal_path) as connection:
            (logged,) = connection.execute("SELECT COUNT(*) FROM messages").fetchone()
        left = left_in_session(broker.port, candidate)
    return Row(
        candidate=candidate,
        protocol=_protocol(candidate),
        rate=drained.logged / (drained.last_s - drained.first_s),
        logged=logged,
        left_in_session=left,
        cpu_us_per_message=drained.cpu_s / drained.logged * 1e6,
        dup_seen=drained.dup_seen,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--profile", type=Path, help="py-spy each candidate into this folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--wal", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("ready", flush=True)  # imports done: profile from here
        print(json.dumps(asdict(drain(args.child, args.port, args.messages, args.wal))))
        return
    nodes = [f"00000000-0000-4000-8000-{i:012d}" for i in range(args.nodes)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="pepeunit-intake-bench-") as work:
        for candidate in args.candidates:
            rows.append(measure(candidate, args.messages, nodes, Path(work), args.profile))
            print(json.dumps(asdict(rows[-1])), file=sys.stderr, flush=True)
    ceiling = next((row.rate for row in rows if row.candidate == "c-client"), 0.0)
    print(f"{args.messages} queued QoS 1 messages over {args.nodes} node topics, drained from a "
          "persistent session into the write-ahead log")  # fmt: skip
    print()
    print("| candidate | MQTT | msg/s | / C client | logged | left in session | "
          "CPU µs/msg | DUP seen |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        share = f"{row.rate / ceiling:.2f}" if ceiling else ""
        print(
            f"| {row.candidate} | {row.protocol} | {row.rate:,.0f} | {share} | {row.logged:,} | "
            f"{row.left_in_session:,} | {row.cpu_us_per_message:.1f} | {row.dup_seen} |"
        )
    if args.profile:
        for row in rows:
            path = args.profile / f"intake-{row.candidate}.txt"
            if path.exists():
                print(f"\n{row.candidate}:")
                print("\n".join(summarize_profile(path)))


if __name__ == "__main__":
    main()
