"""ClickHouseWriter on chdb: one INSERT per table, and idempotent under retries and replays."""

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.metrics import StorageMetrics
from pepeunit_core.stored_data.reads import read_aggregations, read_n_records, read_time_window
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.rows import LastValueRow
from tests.flows_storage.builders import (
    aggregation_record,
    at,
    n_record,
    new_node,
    physical_rows,
    recent,
    window_record,
)


def active_parts(client, table: str) -> int:
    return int(
        client.command(
            "SELECT count() FROM system.parts"
            " WHERE database = currentDatabase() AND table = {table:String} AND active",
            parameters={"table": table},
        )
    )


def test_mixed_batch_is_one_insert_per_table_and_reads_back(clickhouse):
    node, now = new_node(), recent()
    batch = [
        n_record(node, 0, "a", cap=10, ingest_id=1),
        window_record(node, now, "1.5", window_s=60, ingest_id=2),
        n_record(node, 1, "b", cap=10, ingest_id=3),
        aggregation_record(node, 0, 60, "Avg", 2.5),
        window_record(node, recent(1), "2.5", window_s=60, ingest_id=4),
    ]
    metrics = StorageMetrics(CollectorRegistry())

    ClickHouseWriter(clickhouse, metrics).write(batch)

    # Each INSERT makes one part (the tables are not partitioned).
    assert [active_parts(clickhouse, t) for t in ("n_last_entry", "window_entry")] == [1, 1]
    assert active_parts(clickhouse, "aggregation_entry") == 1
    assert read_n_records(clickhouse, node) == [batch[0].row, batch[2].row]
    assert read_time_window(clickhouse, node, now) == [batch[1].row, batch[4].row]
    assert read_aggregations(clickhouse, node) == [batch[3].row]
    stored = {
        table: metrics.registry.get_sample_value(
            "pepeunit_storage_rows_stored_total", {"table": table}
        )
        for table in ("n_last_entry", "window_entry", "aggregation_entry")
    }
    assert stored == {"n_last_entry": 2, "window_entry": 2, "aggregation_entry": 1}


def test_same_batch_twice_is_stored_once(clickhouse):
    node, now = new_node(), recent()
    batch = [n_record(node, i, f"v{i}", cap=100, ingest_id=i) for i in range(5)]
    batch += [window_record(node, now, str(i), window_s=3600, ingest_id=100 + i) for i in range(5)]
    writer = ClickHouseWriter(clickhouse)
    clickhouse.command("SYSTEM STOP MERGES n_last_entry")  # so the copies stay apart

    writer.write(batch)
    writer.write(batch)

    assert physical_rows(clickhouse, "n_last_entry") == 10  # not merged ...
    assert [row.state for row in read_n_records(clickhouse, node)] == [f"v{i}" for i in range(5)]
    assert len(read_time_window(clickhouse, node, now)) == 5  # ... but read once


def test_overlapping_batches_store_each_message_once(clickhouse):
    node = new_node()
    records = [n_record(node, i, f"v{i}", cap=100, ingest_id=1000 + i) for i in range(10)]
    writer = ClickHouseWriter(clickhouse)

    writer.write(records[0:6])
    writer.write(records[3:10])  # a replay from an earlier checkpoint
    writer.write(records[5:7])

    assert read_n_records(clickhouse, node) == [record.row for record in records]


def test_messages_with_the_same_time_are_distinct_rows(clickhouse):
    node = new_node()
    batch = [n_record(node, 0, "first", cap=5, ingest_id=7), n_record(node, 0, "second", 5, 8)]

    ClickHouseWriter(clickhouse).write(batch)

    assert [row.state for row in read_n_records(clickhouse, node)] == ["first", "second"]


def test_aggregation_window_written_again_replaces_the_row(clickhouse):
    node = new_node()
    writer = ClickHouseWriter(clickhouse)
    writer.write([aggregation_record(node, 0, 60, "Max", 1.0)])

    replayed = aggregation_record(node, 0, 60, "Max", 3.0)
    other_function = aggregation_record(node, 0, 60, "Min", 0.5)
    other_size = aggregation_record(node, 0, 3600, "Max", 9.0)
    writer.write([replayed, other_function, other_size])

    # By start, then window size, then function in the enum's order (Avg, Min, Max, Sum).
    assert read_aggregations(clickhouse, node) == [
        other_function.row,
        replayed.row,
        other_size.row,
    ]


def test_millisecond_times_round_trip_exactly(clickhouse):
    node = new_node()
    record = n_record(node, 0.123, "x", cap=1, ingest_id=1)
    record.row.create_datetime += timedelta(days=20_000)  # far from the epoch and from T0

    ClickHouseWriter(clickhouse).write([record])

    assert read_n_records(clickhouse, node) == [record.row]


def test_last_value_rows_are_refused_before_anything_is_written(clickhouse):
    node = new_node()
    batch = [
        n_record(node, 0, "a", cap=5, ingest_id=1),
        IngestedRow(2, LastValueRow(node, "a", at(0))),
    ]

    with pytest.raises(TypeError, match="LastValueRow"):
        ClickHouseWriter(clickhouse).write(batch)

    assert physical_rows(clickhouse, "n_last_entry") == 0


def test_empty_batch_writes_nothing(clickhouse):
    ClickHouseWriter(clickhouse).write([])

    assert active_parts(clickhouse, "n_last_entry") == 0
