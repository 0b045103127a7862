"""Reads cap NRecords to the newest N and hide expired TimeWindow rows before any clean-up,
never show a replayed row twice, and return the engine's rows as the simulation shows them."""

from datetime import timedelta

from pepeunit_core.stored_data.reads import read_aggregations, read_n_records, read_time_window
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.engine import NodeMemory
from pipelines.rows import AggregationRow, NRecordsRow, Row, TimeWindowRow
from pipelines.simulation.reader_view import visible_rows
from tests.flows_storage.builders import n_record, new_node, recent, window_record
from tests.pepeunit_core.clickhouse_rows import store
from tests.pipelines.builders import make_pipeline


def states(rows: list[NRecordsRow]) -> list[str]:
    return [row.state for row in rows]


def test_n_records_returns_the_newest_n_oldest_first(clickhouse):
    node = new_node()
    store(clickhouse, [n_record(node, i, f"v{i}", cap=3, ingest_id=i) for i in range(5)])

    assert states(read_n_records(clickhouse, node)) == ["v2", "v3", "v4"]


def test_n_records_takes_n_from_the_newest_row(clickhouse):
    node = new_node()
    store(clickhouse, [n_record(node, i, f"v{i}", cap=4, ingest_id=i) for i in range(5)])

    store(clickhouse, [n_record(node, 5, "v5", cap=2, ingest_id=5)])
    assert states(read_n_records(clickhouse, node)) == ["v4", "v5"]

    store(clickhouse, [n_record(node, 6, "v6", cap=100, ingest_id=6)])
    assert states(read_n_records(clickhouse, node)) == [f"v{i}" for i in range(7)]


def test_replayed_rows_do_not_take_the_place_of_older_ones(clickhouse):
    node = new_node()
    batch = [n_record(node, i, f"v{i}", cap=3, ingest_id=i) for i in range(4)]
    store(clickhouse, batch)
    store(clickhouse, batch[2:])

    assert states(read_n_records(clickhouse, node)) == ["v1", "v2", "v3"]


def test_rows_with_equal_times_are_ordered_by_ingest_id(clickhouse):
    node = new_node()
    store(
        clickhouse,
        [
            n_record(node, 0, "later message", cap=2, ingest_id=9),
            n_record(node, 0, "earlier message", cap=2, ingest_id=3),
            n_record(node, 0, "oldest, cut", cap=2, ingest_id=1),
        ],
    )

    assert states(read_n_records(clickhouse, node)) == ["earlier message", "later message"]


def test_reads_are_per_node_and_accept_any_uuid_spelling(clickhouse):
    node, other = new_node(), new_node()
    store(
        clickhouse, [n_record(node, 0, "mine", cap=5, ingest_id=1), n_record(other, 0, "not", 5, 2)]
    )

    assert states(read_n_records(clickhouse, node.upper())) == ["mine"]
    assert read_n_records(clickhouse, new_node()) == []


def test_time_window_hides_rows_expired_at_now(clickhouse):
    node, now = new_node(), recent()
    short = window_record(node, now, "short", window_s=30, ingest_id=1)
    long = window_record(node, now, "long", window_s=3600, ingest_id=2)
    store(clickhouse, [long, short])
    expiry = short.row.expiration_datetime

    assert read_time_window(clickhouse, node, now) == [short.row, long.row]
    assert read_time_window(clickhouse, node, expiry - timedelta(milliseconds=1)) == [
        short.row,
        long.row,
    ]
    assert read_time_window(clickhouse, node, expiry) == [long.row]
    assert read_time_window(clickhouse, node, long.row.expiration_datetime) == []


def test_reads_match_the_simulated_reader_view(clickhouse):
    """The engine's rows, written with one ingest id per message (replayed in part), read
    back exactly as pipelines.simulation's reader view shows them."""
    policies = {
        "NRecords": {"policy_type": "NRecords", "n_records_count": 4},
        "TimeWindow": {"policy_type": "TimeWindow", "time_window_size": 60},
        "Aggregation": {
            "policy_type": "Aggregation",
            "time_window_size": 60,
            "aggregation_functions": "Max",
        },
    }
    nodes = {name: new_node() for name in policies}
    pipelines = [
        make_pipeline({"type_input_value": "Number"}, policies[name], node=nodes[name])
        for name in policies
    ]
    node_memories = [NodeMemory() for _ in pipelines]
    # 5 minutes of messages up to now, 10 s apart and half a second off the whole seconds of
    # the expirations: the next TimeWindow row expires 9.5 s after `now`, so none expires
    # between `now` and the reads, even by the real clock (ClickHouse's TTL uses that).
    now = recent().replace(microsecond=500_000)
    start = now - timedelta(seconds=300)
    ingested: list[IngestedRow] = []
    for step in range(30):
        moment = start + timedelta(seconds=10 * step)
        for index, pipeline in enumerate(pipelines):
            result = pipeline.process(node_memories[index], str(step % 7), moment)
            ingested.extend(IngestedRow(3 * step + index, row) for row in result.rows)
    store(clickhouse, ingested[:50])
    store(clickhouse, ingested[30:])

    expected = visible_rows([record.row for record in ingested], now)

    def of(kind: type[Row], name: str) -> list[Row]:
        node = nodes[name]
        return [row for row in expected if isinstance(row, kind) and row.unit_node_uuid == node]

    assert read_n_records(clickhouse, nodes["NRecords"]) == of(NRecordsRow, "NRecords")
    assert len(of(NRecordsRow, "NRecords")) == 4
    windows = read_time_window(clickhouse, nodes["TimeWindow"], now)
    assert windows == of(TimeWindowRow, "TimeWindow")
    assert len(windows) == 5  # created in the last 60 s
    aggregations = read_aggregations(clickhouse, nodes["Aggregation"])
    assert aggregations == of(AggregationRow, "Aggregation")
    assert len(aggregations) >= 4
