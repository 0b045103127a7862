"""The dataflow's storage sink: a row the store refuses for good costs only itself."""

from datetime import UTC, datetime, timedelta
from typing import get_type_hints
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from flows.dataflow.sinks import StoragePartition, Writers
from flows.metrics import FlowMetrics
from flows.storage.alert_event_writer import AlertEventWriter
from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.last_value_writer import LastValueWriter
from flows.storage.rejections_writer import NodeRejectionsRow, RejectionsWriter
from flows.storage.unit_state_writer import UnitStateWriter
from flows.storage.writer import StorageWriter
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.models import AlertEvent, Unit, UnitNode
from pepeunit_core.stored_data.reads import read_last_value, read_n_records
from pepeunit_core.stored_data.rows import IngestedRow, UnitLogRow, UnitStateRow
from pipelines.alerting import AlertEventRow
from pipelines.rows import AggregationRow, LastValueRow, NRecordsRow, TimeWindowRow
from tests.flows.support import pipeline_config, seed_nodes
from tests.flows_storage.builders import n_record


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


def all_writers(sessions, clickhouse) -> list[StorageWriter]:
    return [
        ClickHouseWriter(clickhouse),
        LastValueWriter(sessions),
        UnitStateWriter(sessions, state_send_interval_s=60),
        AlertEventWriter(sessions),
        RejectionsWriter(sessions),
    ]


def test_each_batch_reaches_the_writer_of_its_table(postgres_database, clickhouse_database):
    config = pipeline_config({"policy_type": "LastValue"}, type_input_value="Text")
    node = seed_nodes(postgres_database.url, {"n": config})["n"]
    apply_clickhouse_migrations(clickhouse_database.client)
    sessions = make_session_factory(make_engine(postgres_database.url))
    with sessions() as session:
        unit = str(session.get_one(UnitNode, UUID(node)).unit_uuid)
    metrics = FlowMetrics()
    partition = StoragePartition(
        Writers(*all_writers(sessions, clickhouse_database.client)), metrics
    )
    moment = datetime.now(UTC)
    partition.write_batch(
        [
            [IngestedRow(1, LastValueRow(node, "last", moment))],
            [n_record(node, 1, "kept", cap=5, ingest_id=2)],
            [IngestedRow(3, UnitStateRow(unit, '{"ifconfig": []}', "abc", moment))],
            [IngestedRow(4, AlertEventRow(str(uuid4()), node, "hot", "Alert", "9", "hot", moment))],
            [IngestedRow(5, NodeRejectionsRow(node, 7, "the log"))],
        ]
    )

    with sessions() as session:
        assert read_last_value(session, node).state == "last"
        stored_node = session.get_one(UnitNode, UUID(node))
        assert stored_node.data_pipe_rejected_count == 7
        assert stored_node.data_pipe_rejections == "the log"
        assert session.get_one(Unit, UUID(unit)).current_commit_version == "abc"
        assert session.scalar(select(func.count()).select_from(AlertEvent)) == 1
    assert [row.state for row in read_n_records(clickhouse_database.client, node)] == ["kept"]
    dropped = {"reason": "unwritable"}
    assert not metrics.registry.get_sample_value("pepeunit_flow_dropped_messages_total", dropped)


def test_every_writer_has_the_one_interface_and_its_own_tables():
    writers = [
        ClickHouseWriter,
        LastValueWriter,
        UnitStateWriter,
        AlertEventWriter,
        RejectionsWriter,
    ]
    interface = get_type_hints(StorageWriter.write)
    assert all(get_type_hints(writer.write) == interface for writer in writers)
    tables = [table for writer in writers for table in writer.tables]
    assert len(tables) == len(set(tables))
    stored_rows = [LastValueRow, NRecordsRow, TimeWindowRow, AggregationRow, UnitLogRow]
    stored_rows += [UnitStateRow, AlertEventRow, NodeRejectionsRow]
    assert set(tables) == {row.table for row in stored_rows}


def test_two_writers_for_one_table_are_refused():
    sessions = make_session_factory(make_engine("sqlite://"))
    with pytest.raises(ValueError, match="last_value"):
        Writers(LastValueWriter(sessions), LastValueWriter(sessions))


def test_rows_no_writer_takes_are_dropped_and_counted():
    sessions = make_session_factory(make_engine("sqlite://"))
    metrics = FlowMetrics()
    partition = StoragePartition(Writers(LastValueWriter(sessions)), metrics)
    moment = datetime.now(UTC)
    partition.write_batch(
        [[IngestedRow(i, UnitStateRow(str(uuid4()), "{}", None, moment)) for i in range(3)]]
    )
    dropped = {"reason": "unwritable"}
    assert metrics.registry.get_sample_value("pepeunit_flow_dropped_messages_total", dropped) == 3
