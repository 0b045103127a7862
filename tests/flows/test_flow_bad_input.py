"""Bad input never stops the flow: each kind is counted under its reason and the messages
around it are stored."""

import re
import sqlite3
import urllib.request

from pepeunit_core.stored_data.reads import read_n_records
from tests.flows.support import (
    DOMAIN,
    PROBE_TOPIC,
    Publisher,
    flow_settings,
    pipeline_config,
    running_flow,
    seed_nodes,
    wait_until,
)
from tests.services.ports import free_loopback_port


def dropped(metrics_port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    pattern = r'^pepeunit_flow_dropped_messages_total\{reason="(\w+)"\} ([0-9.]+)$'
    return {reason: float(count) for reason, count in re.findall(pattern, text, re.MULTILINE)}


def probes_logged(data_dir) -> int:
    with sqlite3.connect(data_dir / "flow" / "intake-p0.sqlite") as connection:
        query = "SELECT count() FROM messages WHERE topic = ?"
        return connection.execute(query, (PROBE_TOPIC,)).fetchone()[0]


def test_bad_messages_are_counted_and_the_stream_goes_on(
    tmp_path, clickhouse_database, mosquitto_server
):
    sql_url = f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
    config = pipeline_config(
        {"policy_type": "NRecords", "n_records_count": 100}, type_input_value="Text", max_size=0
    )
    nodes = seed_nodes(sql_url, {"log": config})
    node = nodes["log"]
    metrics_port = free_loopback_port()
    settings = flow_settings(
        tmp_path / "data", sql_url, clickhouse_database.dsn, mosquitto_server.port,
        flow_metrics_port=metrics_port, mqtt_max_payload_size=1,
    )  # fmt: skip
    publisher = Publisher(mosquitto_server.port)
    with running_flow(settings):
        sent = [
            publisher.publish(node, "first"),
            publisher.publish_raw(f"{DOMAIN}/{node}/pepeunit/extra", b"deep topic"),
            publisher.publish_raw(f"{DOMAIN}/not-a-node/pepeunit", b"short node"),
            publisher.publish_raw(f"other.domain/{node}/pepeunit", b"other domain"),
            publisher.publish(node.replace("-", "")[:36].ljust(36, "0"), "unknown node"),
            publisher.publish(node, b"\xff\xfe invalid utf-8"),
            publisher.publish(node, "nul \x00 inside"),
            publisher.publish(node, "x" * 2048),
            publisher.publish(node, "last"),
        ]
        for info in sent:
            info.wait_for_publish(timeout=10)
        publisher.close()
        wait_until(lambda: len(read_n_records(clickhouse_database.client, node)) == 2, 15)
        counts = dropped(metrics_port)

    assert [row.state for row in read_n_records(clickhouse_database.client, node)] == [
        "first",
        "last",
    ]
    # topics outside `{domain}/+/pepeunit` never reach the flow; the readiness probes do
    probes = probes_logged(settings.data_dir)
    assert counts.get("bad_topic") == probes + 1  # the short node
    assert counts.get("no_pipeline") == 1
    assert counts.get("invalid_utf8") == 1
    assert counts.get("nul_character") == 1
    assert counts.get("too_large") == 1
