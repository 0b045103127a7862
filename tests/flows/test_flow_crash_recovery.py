"""Fault test: ≥ 20 000 QoS 1 messages while the flow process is killed with SIGKILL and
restarted twice. Afterwards every message's effect is stored exactly once, the aggregation
windows that were open across the kills were resumed, not split, and a node whose pipeline
rejects every message counts each rejection exactly once.

PEPEUNIT_CRASH_MESSAGES and PEPEUNIT_CRASH_RATE (messages/s) size the stream, and
PEPEUNIT_CRASH_TIMEOUT_S caps the test: the suite keeps 20 000 at 2 000/s; bench/crash_bench.py
runs 200 000 at full speed."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from uuid import UUID

import pytest

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.models import UnitNode
from pepeunit_core.pipe_rejections import MAX_RECENT_REJECTIONS, RejectionLog
from tests.flows.support import (
    Publisher,
    flow_settings,
    logged_messages,
    offset_placing_now_at,
    pipeline_config,
    seed_nodes,
    start_flow_process,
    wait_subscribed,
    wait_until,
)

MESSAGES = int(os.environ.get("PEPEUNIT_CRASH_MESSAGES", "20000"))
RATE_PER_S = int(os.environ.get("PEPEUNIT_CRASH_RATE", "2000"))
RECORD_NODES = max(40, -(-MESSAGES // 800))
"""Each keeps its last 1 024 records (the most NRecords allows): all of them, to count them."""
SUM_NODES = 10
KILL_AFTER = (MESSAGES // 4, MESSAGES * 3 // 5)
STREAM_S = MESSAGES / RATE_PER_S
TIMEOUT_S = float(os.environ.get("PEPEUNIT_CRASH_TIMEOUT_S", 230 + 4 * STREAM_S))
MINUTE_MS = 60_000
BROKER_SETTINGS = ("max_queued_messages 0", "max_inflight_messages 1000", "set_tcp_nodelay true")

READ_STORAGE = """
import json, sys
import clickhouse_connect
client = clickhouse_connect.get_client(dsn=sys.argv[1])
records = client.query(
    "SELECT toString(unit_node_uuid), state FROM n_last_entry FINAL"
).result_rows
windows = client.query(
    "SELECT toString(unit_node_uuid), toUnixTimestamp64Milli(start_window_datetime), state,"
    " aggregation_type FROM aggregation_entry FINAL"
).result_rows
print(json.dumps({"records": records, "windows": windows}))
"""


@pytest.mark.timeout(TIMEOUT_S)
def test_sigkill_twice_loses_and_duplicates_nothing(tmp_path, sql_url, mosquitto_factory, request):
    broker = mosquitto_factory(BROKER_SETTINGS)
    configs = {f"rec{i}": pipeline_config({"policy_type": "NRecords", "n_records_count": 1024})
               for i in range(RECORD_NODES)}  # fmt: skip
    sum_policy = {
        "policy_type": "Aggregation",
        "time_window_size": 60,
        "aggregation_functions": "Sum",
    }
    configs |= {f"sum{i}": pipeline_config(sum_policy) for i in range(SUM_NODES)}
    configs["rejecting"] = pipeline_config(
        {"policy_type": "LastValue"}, type_value_threshold="Max", threshold_max=-1
    )
    nodes = seed_nodes(sql_url, configs)
    # the publishing (about 20 s with restarts) fits in the minute window that opens 30 s
    # before the receive clock's next whole minute: that window stays open across both kills
    settings = flow_settings(
        tmp_path / "data",
        sql_url,
        f"chdb://{tmp_path / 'chdb'}",
        broker.port,
        flow_clock_offset_ms=offset_placing_now_at(30),
    )
    log_path = tmp_path / "flow.log"
    flow = start_flow_process(settings, log_path)
    started = [flow]
    # a failed assertion must not leave a flow behind (its intake stops with it)
    request.addfinalizer(lambda: [process.kill() for process in started if process.poll() is None])
    wait_subscribed(settings, lambda: flow.poll() is not None, 60)

    names = sorted(nodes)
    sent: dict[str, list[int]] = defaultdict(list)
    publisher = Publisher(broker.port)
    kills = list(KILL_AFTER)
    restarted: list[subprocess.Popen] = []

    def resumptions() -> int:
        return log_path.read_text().count("resuming at log offset")

    def kill_and_restart() -> None:
        """Kills the running flow and waits until its successor reads its log again."""
        nonlocal flow
        before = resumptions()
        flow.send_signal(signal.SIGKILL)
        flow.wait(timeout=10)
        flow = start_flow_process(settings, log_path)
        restarted.append(flow)
        started.append(flow)
        wait_until(lambda: resumptions() > before, 60, interval_s=0.1)

    began = time.monotonic()
    pending = []
    killer: threading.Thread | None = None
    for published, sequence in enumerate(range(MESSAGES), start=1):
        name = names[sequence % len(names)]
        value = sequence % 100 if name.startswith("sum") else sequence
        pending.append(publisher.publish(nodes[name], str(value)))
        sent[name].append(value)
        if kills and published == kills[0]:
            kills.pop(0)
            if killer is not None:
                killer.join()  # kill a flow that is up and working, not one still starting
            killer = threading.Thread(target=kill_and_restart)
            killer.start()
        if published % 500 == 0:
            for info in pending:
                info.wait_for_publish(timeout=30)
            pending.clear()
            ahead = published / RATE_PER_S - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
    for info in pending:
        info.wait_for_publish(timeout=30)
    stream_s = time.monotonic() - began
    publisher.close()
    if killer is not None:
        killer.join()
    assert len(restarted) == 2

    def all_logged() -> bool:
        return len(logged_messages(settings.data_dir)) >= MESSAGES

    wait_until(all_logged, 60 + STREAM_S, interval_s=0.5)
    # windows close once the receive clock passes their end; then one flush interval
    last_received_ms = int(logged_messages(settings.data_dir)[-1].t.timestamp() * 1000)
    last_window_end = (last_received_ms // MINUTE_MS + 1) * MINUTE_MS
    clock_ms = lambda: time.time_ns() // 1_000_000 + settings.flow_clock_offset_ms  # noqa: E731
    wait_until(lambda: clock_ms() > last_window_end + 3_000, 75, interval_s=0.5)
    flow.send_signal(signal.SIGTERM)
    assert flow.wait(timeout=60) == 0

    log_text = log_path.read_text()
    resumed_offsets = [
        int(line.rsplit("resuming at log offset ", 1)[1].split()[0])
        for line in log_text.splitlines()
        if "resuming at log offset" in line
    ]
    assert len(resumed_offsets) == 3 and resumed_offsets[1] > 1, log_text[-3000:]

    logged = logged_messages(settings.data_dir)
    assert len(logged) == MESSAGES  # redeliveries of logged messages were not logged again

    dump = subprocess.run(
        [sys.executable, "-c", READ_STORAGE, settings.resolved_clickhouse_url],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    stored = json.loads(dump.stdout)
    node_name = {uuid: name for name, uuid in nodes.items()}
    records = defaultdict(list)
    for node, state in stored["records"]:
        records[node_name[node]].append(int(state))
    for name in names:
        if name.startswith("rec"):
            assert sorted(records[name]) == sorted(sent[name]), name
    window_rows = Counter((node_name[n], start) for n, start, _, _ in stored["windows"])
    assert all(count == 1 for count in window_rows.values())
    sums = defaultdict(float)
    windows_per_node = defaultdict(set)
    for node, start, state, function in stored["windows"]:
        assert function == "Sum"
        sums[node_name[node]] += state
        windows_per_node[node_name[node]].add(start)
    expected_windows = defaultdict(set)
    for message in logged:
        name = node_name[message.node]
        if name.startswith("sum"):
            epoch_ms = int(message.t.timestamp() * 1000)
            expected_windows[name].add(epoch_ms - epoch_ms % MINUTE_MS)
    for name in names:
        if name.startswith("sum"):
            assert sums[name] == sum(sent[name]), name
            assert windows_per_node[name] == expected_windows[name], name

    sessions = make_session_factory(make_engine(sql_url))
    with sessions() as session:
        rejecting = session.get_one(UnitNode, UUID(nodes["rejecting"]))
        log = RejectionLog.from_stored(
            rejecting.data_pipe_rejected_count, rejecting.data_pipe_rejections
        )
    assert log.rejected_count == len(sent["rejecting"]) > 300
    assert log.by_reason == {"Filters.threshold": len(sent["rejecting"])}
    print(
        f"crash recovery: {MESSAGES} published at up to {RATE_PER_S}/s in {stream_s:.1f} s, "
        f"2 SIGKILLs, {len(logged)} logged, {sum(len(v) for v in records.values())} records "
        f"and {len(stored['windows'])} windows stored, {log.rejected_count} rejections counted"
    )
    assert [entry.message.split(":")[0] for entry in log.recent] == [
        repr(str(value)) for value in sent["rejecting"][-MAX_RECENT_REJECTIONS:]
    ]
