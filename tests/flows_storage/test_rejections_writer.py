"""RejectionsWriter on SQLite and PostgreSQL: the node's last record of a batch is stored as
it is (a replay writes the same values again), unknown nodes are skipped."""

from uuid import UUID, uuid4

from flows.storage.metrics import StorageMetrics
from flows.storage.rejections_writer import NodeRejectionsRow, RejectionsWriter
from pepeunit_core.db.models import UnitNode
from tests.flows_storage.builders import add_nodes, ingested


def stored(session_factory, node: str) -> tuple[int, str | None]:
    with session_factory() as session:
        row = session.get_one(UnitNode, UUID(node))
        return row.data_pipe_rejected_count, row.data_pipe_rejections


def test_the_last_record_of_each_node_is_stored(session_factory):
    first, second = add_nodes(session_factory, 2)
    metrics = StorageMetrics()
    writer = RejectionsWriter(session_factory, metrics)
    batch = [
        NodeRejectionsRow(first, 1, "one"),
        NodeRejectionsRow(second, 4, "four"),
        NodeRejectionsRow(first, 2, "two"),
        NodeRejectionsRow(str(uuid4()), 9, "a node that was deleted"),
    ]
    assert writer.write(ingested(batch)).stored == 2
    assert writer.write(ingested(batch)).stored == 2  # a replay: the same values
    assert stored(session_factory, first) == (2, "two")
    assert stored(session_factory, second) == (4, "four")
    labels = {"table": "data_pipe_rejections", "reason": "unknown_node"}
    assert metrics.registry.get_sample_value("pepeunit_storage_rows_ignored_total", labels) == 2
