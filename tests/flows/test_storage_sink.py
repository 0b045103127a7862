"""The dataflow's storage sink: a row the store refuses for good costs only itself."""

from datetime import UTC, datetime, timedelta

from flows.dataflow.sinks import StoragePartition, Writers
from flows.metrics import FlowMetrics
from flows.storage.alert_event_writer import AlertEventWriter
from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.ingested import IngestedRow
from flows.storage.last_value_writer import LastValueWriter
from flows.storage.reads import read_last_value
from flows.storage.rejections_writer import RejectionsWriter
from flows.storage.unit_state_writer import UnitStateWriter
from pepeunit_core.db.engine import make_engine, make_session_factory
from pipelines.rows import LastValueRow
from tests.flows.support import pipeline_config, seed_nodes


def test_a_refused_row_is_dropped_and_counted_the_others_are_stored(
    postgres_database, clickhouse_database
):
    config = pipeline_config({"policy_type": "LastValue"}, type_input_value="Text")
    nodes = seed_nodes(postgres_database.url, {f"n{i}": config for i in range(5)})
    sessions = make_session_factory(make_engine(postgres_database.url))
    metrics = FlowMetrics()
    writers = Writers(
        ClickHouseWriter(clickhouse_database.client),
        LastValueWriter(sessions),
        UnitStateWriter(sessions, state_send_interval_s=60),
        AlertEventWriter(sessions),
        RejectionsWriter(sessions),
    )
    partition = StoragePartition(writers, metrics)
    moment = datetime.now(UTC) + timedelta(seconds=5)
    rows = [
        IngestedRow(index, LastValueRow(nodes[f"n{index}"], state, moment))
        for index, state in enumerate(["a", "b", "nul \x00 refused", "d", "e"])
    ]
    partition.write_batch([rows])

    with sessions() as session:
        stored = {name: read_last_value(session, node) for name, node in nodes.items()}
    assert {name: row.state if row else None for name, row in stored.items()} == {
        "n0": "a", "n1": "b", "n2": None, "n3": "d", "n4": "e",
    }  # fmt: skip
    dropped = {"reason": "unwritable"}
    assert metrics.registry.get_sample_value("pepeunit_flow_dropped_messages_total", dropped) == 1
