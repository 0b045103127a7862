"""Full-path benchmark: paho publisher → Mosquitto → `pepeunit flow` → chdb, on this machine.

For each QoS it first measures the broker's ceiling (a bare paho subscriber draining the same
load, and in drain mode also the C client `mosquitto_sub`), then the flow: sustained msg/s
(live: from the first publish until every message is processed; drain: from the
DRAIN_WINDOW_FROM-th processed message to the last, and from the first), loss,
publish→receive latency (exact,
from the flow's intake log), receive→stored latency (the flow's histogram), and the flow
process's peak RSS.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python bench/flow_bench.py [--messages N] [--nodes N] [--qos 0 1]
        [--modes drain live] [--rate MSG_S] [--profile DIR]
`--profile DIR` records the flow's dataflow and intake processes with py-spy during the drain
(py-spy on PATH or beside the interpreter) and prints where their time goes.
Prints a Markdown table; bench/RESULTS.md records the figures.
"""

import argparse
import json
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.processes import CpuWatch, intake_pid, pid_with_argument
from bench.profiling import start_profilers, summarize_profile, wait_profilers
from pepeunit_core.settings import Settings
from tests.flows.support import (
    DOMAIN,
    flow_settings,
    pipeline_config,
    seed_nodes,
    start_flow_process,
    wait_subscribed,
)
from tests.services.mosquitto import running_mosquitto
from tests.services.ports import free_loopback_port
from tests.services.processes import find_binary

BROKER_SETTINGS = ("max_queued_messages 0", "max_inflight_messages 1000", "set_tcp_nodelay true")

PUBLISHER = """
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, qos, count, domain = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
nodes, name, rate = sys.argv[5].split(","), sys.argv[6], float(sys.argv[7])
client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name)
# paho acknowledges in O(in-flight) per message: a small window is fastest (~15 k/s at QoS 1)
client.max_inflight_messages_set(100)
client.max_queued_messages_set(1000)
client.connect("127.0.0.1", port)
client.loop_start()
topics = [f"{domain}/{node}/pepeunit" for node in nodes]
began = time.time()
last = None
for i in range(count):
    if rate and i % 50 == 0:
        ahead = i / rate - (time.time() - began)
        if ahead > 0:
            time.sleep(ahead)
    payload = str(time.time_ns() // 1_000_000)
    while True:
        last = client.publish(topics[i % len(topics)], payload, qos=qos)
        if last.rc == mqtt.MQTT_ERR_SUCCESS:
            break
        time.sleep(0.0005)  # the client's queue is full: back-pressure
last.wait_for_publish(timeout=120)
print(time.time() - began)
client.loop_stop()
client.disconnect()
"""

SUBSCRIBER = """
import sys, time, threading
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, qos, count, domain, mode = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                  sys.argv[4], sys.argv[5])
state = {"n": 0, "first": None, "last": None}
done = threading.Event()
subscribed = threading.Event()
def on_message(client, userdata, message):
    now = time.time()
    state["first"] = state["first"] or now
    state["n"] += 1
    state["last"] = now
    if state["n"] >= count:
        done.set()
client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-sub",
                     clean_session=False)
client.on_message = on_message
client.on_subscribe = lambda *args: subscribed.set()
client.on_connect = lambda c, u, f, r, p: c.subscribe(f"{domain}/+/pepeunit", qos=qos)
client.connect("127.0.0.1", port)
client.loop_start()
subscribed.wait(timeout=10)
print("ready", flush=True)
if mode == "subscribe-only":
    client.disconnect()
    client.loop_stop()
    sys.exit(0)
done.wait(timeout=300)
client.loop_stop()
print(state["n"], state["first"], state["last"], flush=True)
"""


def _subscriber(port: int, qos: int, count: int, mode: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", SUBSCRIBER, str(port), str(qos), str(count), DOMAIN, mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def _drained_rate(subscriber: subprocess.Popen) -> tuple[float, int]:
    assert subscriber.stdout is not None
    received, first, last = subscriber.stdout.readline().split()
    subscriber.wait(timeout=30)
    rate = (int(received) - 1) / (float(last) - float(first)) if int(received) > 1 else 0.0
    return rate, int(received)


def bare_subscriber_rate(
    port: int, qos: int, count: int, nodes: list[str], drain: bool
) -> tuple[float, int]:
    """A plain paho subscriber: live (while publishing) or draining a queued backlog."""
    if drain:
        _subscriber(port, qos, count, "subscribe-only").wait(timeout=30)
        publish(port, qos, count, nodes)
        return _drained_rate(_subscriber(port, qos, count, "count"))
    subscriber = _subscriber(port, qos, count, "count")
    publish(port, qos, count, nodes)
    return _drained_rate(subscriber)


def c_client_drain_rate(port: int, qos: int, count: int, nodes: list[str]) -> tuple[float, int]:
    """The C client `mosquitto_sub` draining the same queued backlog from its persistent
    session (`-c -q QOS -i ID`), timing each message (`%U`) into a file: the ceiling of a
    subscriber on this broker and machine."""
    binary = find_binary("mosquitto_sub", [Path("/usr/bin/mosquitto_sub")], "mosquitto-clients")
    command = [str(binary), "-h", "127.0.0.1", "-p", str(port), "-c", "-q", str(qos)]
    command += ["-i", "bench-c-sub", "-t", f"{DOMAIN}/+/pepeunit"]
    subprocess.run([*command, "-E"], check=True, timeout=30)  # subscribe, then go offline
    publish(port, qos, count, nodes)
    with tempfile.TemporaryFile() as output:
        subprocess.run(
            [*command, "-C", str(count), "-F", "%U", "-W", "300"], stdout=output, timeout=330
        )
        output.seek(0)
        times = output.read().split()
    if len(times) < 2:
        return 0.0, len(times)
    return (len(times) - 1) / (float(times[-1]) - float(times[0])), len(times)


DRAIN_WINDOW_FROM = 1_000
"""A drain's rate counts from the moment this many were processed to the last: the flow's
start (the intake connecting, the subscription probe of the first start redelivered before
the backlog) is left out, as the C client's rate starts at its first message."""
PROFILE_SECONDS = 8
"""py-spy records this long from the flow's start in drain mode (200 000 messages take ~6 s
on a quiet machine)."""
PUBLISHER_PROCESSES = 3
PACED_RATE = {"rate": 0.0}
"""Messages per second over all publishers when pacing (0: as fast as they can)."""


def publish(port: int, qos: int, count: int, nodes: list[str]) -> float:
    """Publishes `count` messages from several publisher processes (one paho client each
    tops out near 15 k msg/s at QoS 1); returns the seconds the slowest one took."""
    share = count // PUBLISHER_PROCESSES
    shares = [share] * (PUBLISHER_PROCESSES - 1) + [count - share * (PUBLISHER_PROCESSES - 1)]
    publishers = []
    for index, part in enumerate(shares):
        command = [sys.executable, "-c", PUBLISHER, str(port), str(qos), str(part), DOMAIN]
        command += [",".join(nodes), f"bench-pub-{index}"]
        command += [str(PACED_RATE["rate"] / PUBLISHER_PROCESSES)]
        publishers.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
    durations = []
    for publisher in publishers:
        output, _ = publisher.communicate(timeout=600)
        assert publisher.returncode == 0
        durations.append(float(output.strip()))
    return max(durations)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def metric_sum(text: str, name: str) -> float:
    pattern = re.compile(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


def histogram_quantile(text: str, name: str, quantile: float) -> float:
    """Upper bound of the bucket holding the quantile, summed over labels (seconds)."""
    buckets: dict[float, float] = {}
    pattern = re.compile(rf'^{name}_bucket{{(?:.*,)?le="([^"]+)".*}} ([0-9.e+-]+)$', re.MULTILINE)
    for bound, count in pattern.findall(text):
        key = float("inf") if bound == "+Inf" else float(bound)
        buckets[key] = buckets.get(key, 0.0) + float(count)
    total = buckets.get(float("inf"), 0.0)
    for bound in sorted(buckets):
        if total and buckets[bound] >= quantile * total:
            return bound
    return float("nan")


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def intake_rate(data_dir: Path) -> float:
    """Messages per second the intake logged, from its first receive time of a bench message
    to its last (the subscription probes are left out)."""
    path = data_dir / "flow" / "intake-p0.sqlite"
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT received_ms, payload FROM messages").fetchall()
    times = [received for received, payload in rows if payload.isdigit()]
    span_s = (max(times) - min(times)) / 1000 if times else 0.0
    return (len(times) - 1) / span_s if span_s else 0.0


def publish_to_receive_ms(data_dir: Path) -> list[int]:
    path = data_dir / "flow" / "intake-p0.sqlite"
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT received_ms, payload FROM messages").fetchall()
    return [received - int(bytes(payload)) for received, payload in rows if payload.isdigit()]


def _processed(metrics_port: int) -> float:
    text = scrape(metrics_port)
    return sum(
        metric_sum(text, name)
        for name in (
            "pepeunit_flow_accepted_messages_total",
            "pepeunit_flow_rejected_messages_total",
            "pepeunit_flow_dropped_messages_total",
        )
    )


def _wait_processed(
    metrics_port: int,
    target: float,
    window_from: float = 1,
    on_window_start: Callable[[], None] = lambda: None,
) -> tuple[float, float, float, float, float]:
    """Polls until `target` messages were processed or progress stops for 10 s; returns
    (time and count when `window_from` were first seen processed, time of the last progress,
    processed, time of the first progress)."""
    first = start = last = 0.0
    start_count = 0.0
    done = -1.0
    while True:
        try:
            processed = _processed(metrics_port)
        except OSError:  # the metrics server is not up yet
            time.sleep(0.1)
            continue
        now = time.time()
        if processed > done:
            first = first or now
            if not start and processed >= window_from:
                on_window_start()
                start, start_count = now, processed
            last, done = now, processed
        if processed >= target or (last and now - last > 10):
            return start, start_count, last, done, first
        time.sleep(0.05)


@dataclass
class FlowRun:
    rate: float
    rate_from_first: float
    """Drain: from the first processed message (the flow's start included)."""
    processed: int
    publish_to_receive_ms: list[int]
    intake_rate: float
    metrics: str
    peak_rss_mib: float
    cpu_percent: dict[str, float]
    """Drain mode: % of one core used by the dataflow, intake and broker processes."""


def _watch_drain(
    flow_pid: int, broker_pid: int | None, profile: Path | None
) -> tuple[CpuWatch, list[subprocess.Popen]]:
    """A watch of the flow's two processes and the broker (started at the first processed
    message), and (with `profile`) py-spy recordings of the two from now on."""
    deadline = time.monotonic() + 10
    intake = intake_pid(flow_pid)
    while intake is None and time.monotonic() < deadline:
        time.sleep(0.01)
        intake = intake_pid(flow_pid)
    pids = {"dataflow": flow_pid, **({"intake": intake} if intake else {})}
    watch = CpuWatch({**pids, **({"broker": broker_pid} if broker_pid else {})})
    return watch, start_profilers(
        profile, {f"drain-{n}": p for n, p in pids.items()}, PROFILE_SECONDS
    )


def run_flow_scenario(
    work: Path,
    port: int,
    qos: int,
    count: int,
    configs: dict,
    drain: bool,
    broker_pid: int | None = None,
    profile: Path | None = None,
) -> FlowRun:
    """Live: publish while the flow runs, rate from the first publish to the last message
    processed. Drain: publish while the flow is stopped (the broker queues for its persistent
    session), then start it; rate from its first DRAIN_WINDOW_FROM processed messages to its
    last (and, for comparison, from its first)."""
    work.mkdir(parents=True)
    sql_url = f"sqlite:///{work / 'pepeunit.sqlite'}"
    nodes = seed_nodes(sql_url, configs)
    metrics_port = free_loopback_port()
    settings: Settings = flow_settings(
        work / "data", sql_url, f"chdb://{work / 'chdb'}", port,
        flow_flush_interval=1.0, flow_metrics_port=metrics_port,
    )  # fmt: skip
    log = work / "flow.log"
    flow = start_flow_process(settings, log)
    try:
        wait_subscribed(settings, lambda: flow.poll() is not None, 60)
        if drain:
            flow.send_signal(signal.SIGTERM)
            flow.wait(timeout=60)
            publish(port, qos, count, list(nodes.values()))
            flow = start_flow_process(settings, log)
            watch, profilers = _watch_drain(flow.pid, broker_pid, profile)
            began, counted_from, last, processed, first = _wait_processed(
                metrics_port, count, DRAIN_WINDOW_FROM, watch.start
            )
            watch.stop()
            wait_profilers(profilers)
        else:
            probes = _processed(metrics_port)
            began = time.time()
            publish(port, qos, count, list(nodes.values()))
            _, _, last, done, _ = _wait_processed(metrics_port, count + probes)
            processed = done - probes
            counted_from, first = 0, began
            watch = None
        time.sleep(2)  # the last batch reaches storage
        text = scrape(metrics_port)
        rss = peak_rss_mib(flow.pid)
    finally:
        flow.send_signal(signal.SIGTERM)
        flow.wait(timeout=120)
    return FlowRun(
        (processed - counted_from) / (last - began), processed / (last - first), int(processed),
        publish_to_receive_ms(settings.data_dir),
        intake_rate(settings.data_dir),
        text, rss, watch.used_percent if watch else {},
    )  # fmt: skip


@dataclass
class Measured:
    qos: int
    mode: str
    bare_rate: float
    bare_received: int
    c_client_rate: float | None
    """Drain mode only."""
    c_client_received: int | None
    flow_rate: float
    flow_rate_from_first: float
    intake_rate: float
    """What the flow's intake logged per second, first to last receive time."""
    flow_processed: int
    publish_to_receive_p50_ms: float
    publish_to_receive_p99_ms: float
    receive_to_stored_p50_ms: float
    receive_to_stored_p99_ms: float
    peak_rss_mib: float
    cpu_percent: dict[str, float]


def measure(
    qos: int, count: int, node_count: int, work: Path, drain: bool, profile: Path | None
) -> Measured:
    half = node_count // 2
    configs = {
        **{f"agg{i}": pipeline_config({"policy_type": "Aggregation", "time_window_size": 60,
                                       "aggregation_functions": "Avg"}) for i in range(half)},
        **{f"rec{i}": pipeline_config({"policy_type": "NRecords", "n_records_count": 100})
           for i in range(node_count - half)},
    }  # fmt: skip
    fake_nodes = [f"00000000-0000-4000-8000-{i:012d}" for i in range(node_count)]
    broker_settings = (*BROKER_SETTINGS, "queue_qos0_messages true")
    with running_mosquitto(work / "broker-bare", broker_settings) as broker:
        bare_rate, bare_received = bare_subscriber_rate(broker.port, qos, count, fake_nodes, drain)
    c_client_rate = c_client_received = None
    if drain:
        with running_mosquitto(work / "broker-c", broker_settings) as broker:
            c_client_rate, c_client_received = c_client_drain_rate(
                broker.port, qos, count, fake_nodes
            )
    with running_mosquitto(work / "broker-flow", broker_settings) as broker:
        broker_pid = pid_with_argument(str(broker.config_path))
        run = run_flow_scenario(
            work / "flow", broker.port, qos, count, configs, drain, broker_pid, profile
        )
    latencies = run.publish_to_receive_ms
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    stored = "pepeunit_flow_receive_to_stored_seconds"
    return Measured(
        qos=qos,
        mode="drain" if drain else "live",
        bare_rate=bare_rate,
        bare_received=bare_received,
        c_client_rate=c_client_rate,
        c_client_received=c_client_received,
        flow_rate=run.rate,
        flow_rate_from_first=run.rate_from_first,
        intake_rate=run.intake_rate,
        flow_processed=run.processed,
        publish_to_receive_p50_ms=quantiles[49],
        publish_to_receive_p99_ms=quantiles[98],
        receive_to_stored_p50_ms=histogram_quantile(run.metrics, stored, 0.5) * 1000,
        receive_to_stored_p99_ms=histogram_quantile(run.metrics, stored, 0.99) * 1000,
        peak_rss_mib=run.peak_rss_mib,
        cpu_percent=run.cpu_percent,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--qos", type=int, nargs="+", default=[1, 0])
    parser.add_argument("--modes", nargs="+", default=["drain", "live"])
    parser.add_argument(
        "--rate", type=float, default=0, help="pace the publishers (msg/s), for latency runs"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the flow's dataflow and intake processes with py-spy (drain mode) into DIR",
    )
    args = parser.parse_args()
    PACED_RATE["rate"] = args.rate
    results = []
    for qos in args.qos:
        for mode in args.modes:
            with tempfile.TemporaryDirectory(prefix="pepeunit-bench-") as work:
                results.append(
                    measure(
                        qos, args.messages, args.nodes, Path(work), mode == "drain", args.profile
                    )
                )
            print(json.dumps(results[-1].__dict__), file=sys.stderr, flush=True)
    if args.profile:
        for path in sorted(args.profile.glob("drain-*.txt")):
            print(f"\n### profile: {path.stem}\n", file=sys.stderr)
            print("\n".join(summarize_profile(path, top=25)), file=sys.stderr)
    pacing = f"paced at {args.rate:,.0f} msg/s" if args.rate else "as fast as they can"
    print(
        f"{args.messages} messages over {args.nodes} nodes (half Aggregation Avg 60 s, half "
        f"NRecords 100), one flow process, chdb, {PUBLISHER_PROCESSES} publisher processes "
        f"({pacing})"
    )
    print()
    print("| QoS | mode | C client msg/s | bare paho msg/s | flow msg/s | flow / C | flow / paho | "
          "processed | intake logged msg/s | publish→receive p50 / p99 ms | receive→stored "
          "p50 / p99 ms (bucket bound) | flow peak RSS MiB | drain CPU % of a core: "
          "dataflow / intake / broker |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        if r.c_client_rate is None:
            c_client, flow_to_c = "", ""
        else:
            c_client = f"{r.c_client_rate:,.0f} ({r.c_client_received:,} recv)"
            flow_to_c = f"{r.flow_rate / r.c_client_rate:.2f}" if r.c_client_rate else ""
        cpu = " / ".join(
            f"{r.cpu_percent[name]:.0f}" if name in r.cpu_percent else "-"
            for name in ("dataflow", "intake", "broker")
        )
        from_first = f" ({r.flow_rate_from_first:,.0f} from the first)" if r.mode == "drain" else ""
        latency = (
            f"{r.publish_to_receive_p50_ms:.0f} / {r.publish_to_receive_p99_ms:.0f}"
            if r.mode == "live"
            else "(queued)"
        )
        print(
            f"| {r.qos} | {r.mode} | {c_client} | {r.bare_rate:,.0f} ({r.bare_received:,} recv) | "
            f"{r.flow_rate:,.0f}{from_first} | {flow_to_c} | {r.flow_rate / r.bare_rate:.2f} | "
            f"{r.flow_processed:,} | {r.intake_rate:,.0f} | "
            f"{latency} | {r.receive_to_stored_p50_ms:.0f} / {r.receive_to_stored_p99_ms:.0f} | "
            f"{r.peak_rss_mib:.0f} | {cpu} |"
        )


if __name__ == "__main__":
    main()
