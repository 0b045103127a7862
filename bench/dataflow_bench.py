"""Processing-side benchmark: `pepeunit flow` draining a pre-filled intake log, no MQTT traffic.

The log of partition 0 is filled before the flow starts (as if its intake had received the
messages at 20 000 msg/s, ending now), so what is measured is the dataflow process alone:
reading the log, the pipelines, batching and the chdb INSERTs. The flow still starts its intake
against a private, silent Mosquitto. Reported: the flow process's CPU time per message (its
own, not the intake child's) and the wall rate, both from the first processed message until
every NRecords row is stored; with `--profile DIR` also a py-spy profile of that process.

Run from the repository root (any checkout: it needs only `tests.flows.support`):
    PYTHONPATH=. .venv/bin/python bench/dataflow_bench.py [--messages N] [--nodes N] [--runs N]
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.processes import cpu_seconds
from bench.profiling import py_spy
from flows.intake.wal import ReceivedMessage, WriteAheadLog
from tests.flows.support import (
    DOMAIN,
    flow_settings,
    pipeline_config,
    seed_nodes,
    start_flow_process,
)
from tests.services.mosquitto import running_mosquitto
from tests.services.ports import free_loopback_port

RECEIVE_RATE = 20_000
"""Messages per second the pre-filled log pretends its intake received."""
APPEND_BATCH = 10_000
PY_SPY_EXTRA = os.environ.get("PY_SPY_EXTRA", "").split()


def bench_configs(node_count: int) -> dict:
    """Half Aggregation (Avg, 60 s windows), half NRecords (N = 100), as `flow_bench.py`."""
    half = node_count // 2
    aggregation = {"policy_type": "Aggregation", "time_window_size": 60,
                   "aggregation_functions": "Avg"}  # fmt: skip
    return {
        **{f"agg{i}": pipeline_config(aggregation) for i in range(half)},
        **{f"rec{i}": pipeline_config({"policy_type": "NRecords", "n_records_count": 100})
           for i in range(node_count - half)},
    }  # fmt: skip


def fill_log(path: Path, nodes: list[str], count: int) -> None:
    """`count` messages round-robin over `nodes`, payload the receive time in ms."""
    wal = WriteAheadLog(path)
    first_ms = time.time_ns() // 1_000_000 - count * 1000 // RECEIVE_RATE
    topics = [f"{DOMAIN}/{node}/pepeunit" for node in nodes]
    try:
        for start in range(0, count, APPEND_BATCH):
            batch = []
            for i in range(start, min(start + APPEND_BATCH, count)):
                received_ms = first_ms + i * 1000 // RECEIVE_RATE
                payload = str(received_ms).encode()
                batch.append(ReceivedMessage(received_ms, topics[i % len(topics)], payload, 1))
            wal.append(batch)
    finally:
        wal.close()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def metric_sum(text: str, name: str, label: str = "") -> float:
    pattern = re.compile(rf"^{name}(?:{{[^}}]*{label}[^}}]*}})? ([0-9.e+-]+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


def processed_and_stored(port: int) -> tuple[float, float]:
    text = scrape(port)
    processed = sum(
        metric_sum(text, f"pepeunit_flow_{name}_messages_total")
        for name in ("accepted", "rejected", "dropped")
    )
    stored = metric_sum(text, "pepeunit_storage_rows_stored_total", 'table="n_last_entry"')
    return processed, stored


@dataclass
class Run:
    messages: int
    processed: int
    wall_s: float
    cpu_s: float
    cpu_us_per_message: float
    rate: float
    load_average: float


def run_once(work: Path, count: int, node_count: int, profile: Path | None) -> Run:
    work.mkdir(parents=True)
    configs = bench_configs(node_count)
    sql_url = f"sqlite:///{work / 'pepeunit.sqlite'}"
    nodes = seed_nodes(sql_url, configs)
    with running_mosquitto(work / "broker") as broker:
        metrics_port = free_loopback_port()
        settings = flow_settings(
            work / "data", sql_url, f"chdb://{work / 'chdb'}", broker.port,
            flow_flush_interval=1.0, flow_metrics_port=metrics_port,
        )  # fmt: skip
        fill_log(
            settings.data_dir.resolve() / "flow" / "intake-p0.sqlite", list(nodes.values()), count
        )
        record_stored = count - count // 2 if node_count > 1 else 0
        flow = start_flow_process(settings, work / "flow.log")
        profilers = []
        try:
            first = None
            while True:
                try:
                    processed, stored = processed_and_stored(metrics_port)
                except OSError:  # not listening yet
                    processed = stored = 0.0
                if flow.poll() is not None:
                    raise RuntimeError(f"the flow exited; see {work / 'flow.log'}")
                now, cpu = time.monotonic(), cpu_seconds(flow.pid)
                if first is None and processed > 0:
                    first = (now, cpu, processed)
                    if profile is not None:
                        profilers = start_py_spy(profile, flow.pid)
                if processed >= count and stored >= record_stored:
                    break
                time.sleep(0.5)  # each scrape costs the flow process CPU
        finally:
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
            flow.send_signal(signal.SIGTERM)
            flow.wait(timeout=120)
    wall, cpu_used, done = now - first[0], cpu - first[1], processed - first[2]
    return Run(
        count, int(processed), round(wall, 3), round(cpu_used, 3),
        round(cpu_used / done * 1e6, 2), round(done / wall), os.getloadavg()[0],
    )  # fmt: skip


def start_py_spy(directory: Path, pid: int) -> list[subprocess.Popen]:
    binary = py_spy()
    if binary is None:
        print("py-spy not found: no profile", file=sys.stderr)
        return []
    directory.mkdir(parents=True, exist_ok=True)
    command = [binary, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
    # Every thread that is not idle (not only the GIL's holder): chdb works with the GIL released.
    command += [*PY_SPY_EXTRA, "--nonblocking", "--output", str(directory / "dataflow.txt")]
    return [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="write a py-spy profile into this directory")
    args = parser.parse_args()
    for index in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="pepeunit-dataflow-bench-") as work:
            run = run_once(Path(work) / "run", args.messages, args.nodes, args.profile)
        print(json.dumps({"run": index, **asdict(run)}), flush=True)


if __name__ == "__main__":
    main()
