"""Two flow processes share the MQTT subscription: each receives part of the stream, every
node's state lives in exactly one of them, and the stored results equal the single-process
semantics (`simulate` over everything both received)."""

import json
import signal
import subprocess
import sys
import time
from collections import defaultdict

import pytest

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.stored_data.reads import read_last_value
from pipelines.simulation.runner import simulate
from tests.flows.support import (
    Publisher,
    flow_settings,
    logged_messages,
    offset_placing_now_at,
    pipeline_config,
    pipeline_files,
    seed_nodes,
    start_flow_process,
    wait_subscribed,
    wait_until,
)
from tests.services.ports import free_loopback_port

MINUTE_MS = 60_000
ROUNDS = 300

READ_STORAGE = """
import json, sys
import clickhouse_connect
client = clickhouse_connect.get_client(dsn=sys.argv[1])
def rows(query):
    return client.query(query).result_rows
print(json.dumps({
    "records": rows("SELECT toString(unit_node_uuid), state,"
                    " toUnixTimestamp64Milli(create_datetime) FROM n_last_entry FINAL"),
    "windows": rows("SELECT toString(unit_node_uuid), state,"
                    " toUnixTimestamp64Milli(create_datetime) FROM window_entry FINAL"),
    "sums": rows("SELECT toString(unit_node_uuid), toUnixTimestamp64Milli(start_window_datetime),"
                 " state FROM aggregation_entry FINAL"),
}))
"""

# order-independent pipelines: with two intakes, one node's messages reach its pipeline through
# both, so only results that do not depend on arrival order can equal a single process's
CONFIGS = {
    **{f"rec{i}": pipeline_config({"policy_type": "NRecords", "n_records_count": 1024})
       for i in range(3)},
    **{f"sum{i}": pipeline_config({"policy_type": "Aggregation", "time_window_size": 60,
                                   "aggregation_functions": "Sum"}) for i in range(3)},
    **{f"win{i}": pipeline_config({"policy_type": "TimeWindow", "time_window_size": 3600})
       for i in range(2)},
    **{f"last{i}": pipeline_config({"policy_type": "LastValue"}, type_input_value="Text")
       for i in range(2)},
}  # fmt: skip


@pytest.mark.timeout(180)
def test_two_processes_share_the_stream(tmp_path, sql_url, mosquitto_factory):
    broker = mosquitto_factory(
        ("max_queued_messages 0", "max_inflight_messages 1000", "set_tcp_nodelay true")
    )
    nodes = seed_nodes(sql_url, CONFIGS)
    settings = flow_settings(
        tmp_path / "data", sql_url, f"chdb://{tmp_path / 'chdb'}", broker.port,
        flow_clock_offset_ms=offset_placing_now_at(40),
    )  # fmt: skip
    addresses = f"127.0.0.1:{free_loopback_port()};127.0.0.1:{free_loopback_port()}"
    logs = [tmp_path / "flow-0.log", tmp_path / "flow-1.log"]
    flows = [
        start_flow_process(settings, logs[index], "-i", str(index), "-a", addresses)
        for index in (0, 1)
    ]
    try:
        for index in (0, 1):
            wait_subscribed(settings, lambda: any(f.poll() is not None for f in flows), 60, index)
        publisher = Publisher(broker.port)
        pending = []
        for round_number in range(ROUNDS):
            for node in nodes.values():
                pending.append(publisher.publish(node, str(round_number)))
        time.sleep(0.2)
        for name in ("last0", "last1"):  # a clear latest value for each LastValue node
            pending.append(publisher.publish(nodes[name], f"final-{name}"))
        for info in pending:
            info.wait_for_publish(timeout=30)
        publisher.close()
        expected_count = ROUNDS * len(nodes) + 2

        def received() -> list:
            return logged_messages(settings.data_dir, 0) + logged_messages(settings.data_dir, 1)

        wait_until(lambda: len(received()) >= expected_count, 30, interval_s=0.5)
        messages = sorted(received(), key=lambda m: m.t)
        assert len(messages) == expected_count
        shares = [len(logged_messages(settings.data_dir, index)) for index in (0, 1)]
        assert min(shares) > expected_count // 4, shares  # both processes took a real share

        last_ms = int(messages[-1].t.timestamp() * 1000)
        window_end = (last_ms // MINUTE_MS + 1) * MINUTE_MS
        offset = settings.flow_clock_offset_ms
        wait_until(lambda: time.time_ns() // 1_000_000 + offset > window_end + 3_000, 75, 0.5)
    finally:
        for flow in flows:
            flow.send_signal(signal.SIGTERM)
        exit_codes = [flow.wait(timeout=60) for flow in flows]
    assert exit_codes == [0, 0], [log.read_text()[-2000:] for log in logs]

    dump = subprocess.run(
        [sys.executable, "-c", READ_STORAGE, settings.resolved_clickhouse_url],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    stored = json.loads(dump.stdout)
    predicted = simulate(pipeline_files(CONFIGS, nodes), messages).rows

    def millis(moment) -> int:
        return int(moment.timestamp() * 1000)

    predicted_by_table = defaultdict(set)
    for row in predicted:
        if row.table == "n_last_entry":
            predicted_by_table["records"].add(
                (row.unit_node_uuid, row.state, millis(row.create_datetime))
            )
        elif row.table == "window_entry":
            predicted_by_table["windows"].add(
                (row.unit_node_uuid, row.state, millis(row.create_datetime))
            )
        elif row.table == "aggregation_entry":
            predicted_by_table["sums"].add(
                (row.unit_node_uuid, millis(row.start_window_datetime), row.state)
            )
    for table in ("records", "windows", "sums"):
        actual = {tuple(row) for row in stored[table]}
        assert len(actual) == len(stored[table]), f"{table}: duplicate rows"
        assert actual == predicted_by_table[table], table

    sessions = make_session_factory(make_engine(sql_url))
    with sessions() as session:
        for name in ("last0", "last1"):
            row = read_last_value(session, nodes[name])
            assert row is not None and row.state == f"final-{name}"
