"""ClickHouse writes fail for 10 s (the table is renamed away under the running flow): the flow
keeps retrying, and afterwards every message is stored exactly once.

PEPEUNIT_OUTAGE_MESSAGES and PEPEUNIT_OUTAGE_RATE (messages/s) size the stream: the suite keeps
3 000 at 2 000/s; bench/crash_bench.py runs 200 000 at full speed."""

import math
import os
import threading
import time

from pepeunit_core.stored_data.reads import read_n_records
from tests.flows.support import (
    Publisher,
    flow_settings,
    logged_messages,
    pipeline_config,
    running_flow,
    seed_nodes,
    wait_until,
)

OUTAGE_S = 10
MESSAGES = int(os.environ.get("PEPEUNIT_OUTAGE_MESSAGES", "3000"))
RATE_PER_S = int(os.environ.get("PEPEUNIT_OUTAGE_RATE", "2000"))
STREAM_S = MESSAGES / RATE_PER_S
METERS = max(3, math.ceil(MESSAGES / 800))
"""Each keeps its last 1 024 records (the most NRecords allows): all of them, to count them."""


def test_ten_second_clickhouse_outage_loses_and_duplicates_nothing(
    tmp_path, clickhouse_database, mosquitto_factory
):
    # as docs/operations.md#mosquitto asks: a default broker drops a lagging client's messages
    # past 1 000 queued
    mosquitto_server = mosquitto_factory(("max_queued_messages 0", "set_tcp_nodelay true"))
    sql_url = f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
    names = [f"meter{i}" for i in range(METERS)]
    policy = {"policy_type": "NRecords", "n_records_count": 1024}
    nodes = seed_nodes(sql_url, {name: pipeline_config(policy) for name in names})
    settings = flow_settings(
        tmp_path / "data", sql_url, clickhouse_database.dsn, mosquitto_server.port
    )
    client = clickhouse_database.client
    table, away = f"{clickhouse_database.name}.n_last_entry", f"{clickhouse_database.name}.away"
    publisher = Publisher(mosquitto_server.port)
    outage_began, outage_over = threading.Event(), threading.Event()

    def outage() -> None:
        client.command(f"RENAME TABLE {table} TO {away}")
        outage_began.set()
        time.sleep(OUTAGE_S)
        client.command(f"RENAME TABLE {away} TO {table}")
        outage_over.set()

    with running_flow(settings, wait_connected_s=60):
        sent = []
        during_outage = 0
        began = time.monotonic()
        for sequence in range(MESSAGES):
            if sequence == MESSAGES // 4:
                threading.Thread(target=outage).start()
            node = nodes[names[sequence % len(names)]]
            sent.append((node, str(sequence), publisher.publish(node, str(sequence))))
            during_outage += outage_began.is_set() and not outage_over.is_set()
            if sequence % 100 == 0:  # spread the stream over the outage
                ahead = sequence / RATE_PER_S - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)
            if sequence % 10_000 == 9_999:  # paho reuses packet ids past 65 535 in its queue
                for _, _, info in sent[-10_000:]:
                    info.wait_for_publish(timeout=30)
        for _, _, info in sent:
            info.wait_for_publish(timeout=30)
        stream_s = time.monotonic() - began
        publisher.close()
        assert during_outage > 0, "the stream must overlap the outage"
        wait_until(outage_over.is_set, OUTAGE_S + 5)
        # a loaded machine streams slower than asked, and the intake lags further behind
        catch_up_s = 2 * max(STREAM_S, stream_s)
        wait_until(lambda: len(logged_messages(settings.data_dir)) == MESSAGES, 15 + catch_up_s)

        def everything_stored() -> bool:
            return sum(len(read_n_records(client, node)) for node in nodes.values()) >= MESSAGES

        wait_until(everything_stored, 30 + catch_up_s, interval_s=0.5)

    for name in names:
        node = nodes[name]
        stored = [row.state for row in read_n_records(client, node)]
        expected = [payload for sent_node, payload, _ in sent if sent_node == node]
        assert sorted(stored, key=int) == sorted(expected, key=int), name
    raw_count = client.command(f"SELECT count() FROM {table} FINAL")
    assert raw_count == MESSAGES
    print(
        f"storage outage: {MESSAGES} published at up to {RATE_PER_S}/s in {stream_s:.1f} s, "
        f"{during_outage} during the {OUTAGE_S} s outage, {raw_count} records stored"
    )
