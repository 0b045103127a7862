"""Messages published on node topics end up in storage exactly as `simulate` predicts."""

import time

from pepeunit_core.clickhouse.client import make_clickhouse_client
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.stored_data.reads import (
    read_aggregations,
    read_last_value,
    read_n_records,
    read_time_window,
)
from pipelines.rows import AggregationRow, LastValueRow, NRecordsRow, TimeWindowRow
from pipelines.simulation.runner import simulate
from tests.flows.support import (
    MINUTE_MS,
    Publisher,
    flow_settings,
    logged_messages,
    offset_placing_now_at,
    pipeline_config,
    pipeline_files,
    running_flow,
    seed_nodes,
    wait_until,
)

CONFIGS = {
    "last": pipeline_config({"policy_type": "LastValue"}, type_input_value="Text"),
    "records": pipeline_config(
        {"policy_type": "NRecords", "n_records_count": 7}, last_unique_check=True
    ),
    "window": pipeline_config(
        {"policy_type": "TimeWindow", "time_window_size": 60},
        type_value_threshold="Max",
        threshold_max=90,
    ),
    "sum": pipeline_config(
        {"policy_type": "Aggregation", "time_window_size": 60, "aggregation_functions": "Sum"},
        type_value_filtering="BlackList",
        filtering_values=[13],
    ),
    "avg": pipeline_config(
        {"policy_type": "Aggregation", "time_window_size": 60, "aggregation_functions": "Avg"}
    ),
}


def stored_rows(settings, nodes, now):
    client = make_clickhouse_client(settings.resolved_clickhouse_url)
    sessions = make_session_factory(make_engine(settings.resolved_sqlalchemy_url))
    rows = []
    with sessions() as session:
        last = read_last_value(session, nodes["last"])
        rows += [last] if last else []
    rows += read_n_records(client, nodes["records"])
    rows += read_time_window(client, nodes["window"], now)
    for name in ("avg", "sum"):
        rows += read_aggregations(client, nodes[name])
    return rows


def test_every_policy_matches_the_simulation(
    tmp_path, sql_url, clickhouse_database, mosquitto_server
):
    nodes = seed_nodes(sql_url, CONFIGS)
    # the receive clock is a few seconds before a whole minute once the flow is up
    offset = offset_placing_now_at(60 - 6)
    settings = flow_settings(
        tmp_path / "data", sql_url, clickhouse_database.dsn, mosquitto_server.port,
        flow_clock_offset_ms=offset,
    )  # fmt: skip

    def clock() -> int:
        return time.time_ns() // 1_000_000 + offset

    publisher = Publisher(mosquitto_server.port)
    with running_flow(settings):
        sent = []
        for i in range(40):
            for name in ("records", "window", "sum", "avg"):
                payload = str(i % 15 if name == "records" else i * 3)
                sent.append(publisher.publish(nodes[name], payload))
            sent.append(publisher.publish(nodes["last"], f"state-{i}"))
        sent.append(publisher.publish(nodes["avg"], "not a number"))
        for info in sent:
            info.wait_for_publish(timeout=10)
        publisher.close()
        # every message logged, then the minute boundary passed and both windows closed
        wait_until(lambda: len(logged_messages(settings.data_dir)) == len(sent), 15)
        wait_until(lambda: clock() % MINUTE_MS < 30_000, 10)
        wait_until(
            lambda: all(
                read_aggregations(clickhouse_database.client, nodes[name])
                for name in ("sum", "avg")
            ),
            15,
        )
        time.sleep(1)  # the last batches of the other tables (flushed every 0.2 s)

    messages = logged_messages(settings.data_dir)
    now = messages[-1].t
    predicted = simulate(pipeline_files(CONFIGS, nodes), messages, now).rows
    actual = stored_rows(settings, nodes, now)

    def by_table(rows, kind):
        return sorted((row for row in rows if isinstance(row, kind)), key=repr)

    for kind in (LastValueRow, NRecordsRow, TimeWindowRow, AggregationRow):
        assert by_table(actual, kind) == by_table(predicted, kind), kind.__name__
    assert len(by_table(actual, NRecordsRow)) == 7
    assert len(by_table(actual, AggregationRow)) == 2
