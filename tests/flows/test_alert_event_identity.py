"""Alert events keep the identity of the message that raised them (issue 11.8): many events of
one rule and kind in the same millisecond are all stored, a replay of the same messages adds
nothing, and the `alert_events` stored-rows metric counts what was stored, on both SQL
backends."""

from sqlalchemy import func, select

from flows.config_cache import PipelineSet
from flows.dataflow.items import MESSAGE, ingest_id
from flows.dataflow.node_logic import NodeLogic, NodeLogicContext
from flows.metrics import FlowMetrics
from flows.storage.alert_event_writer import AlertEventWriter
from flows.storage.metrics import StorageMetrics
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.enums import AlertEventKind
from pepeunit_core.db.models import AlertEvent
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.alerting import AlertEventRow
from pipelines.engine import Pipeline
from pipelines.validation import validate_config
from tests.flows.support import seed_nodes

CROSSINGS = 1000
SAME_MS = 1_800_000_000_000


def flapping_alert_config():
    config, issues = validate_config(
        {
            "active_period": {"type": "Permanent"},
            "filters": {"type_input_value": "Number", "max_rate": 0, "max_size": 32},
            "processing_policy": {"policy_type": "LastValue"},
            "alerts": [{"name": "too hot", "type": "above", "threshold": 30, "cooldown": 0}],
        }
    )
    assert config is not None, issues
    return config


def alert_rows(node: str, config) -> list[IngestedRow]:
    """What the dataflow's node step makes of 2 * CROSSINGS messages all received in one ms."""
    pipelines = PipelineSet(version=1, by_node={node: Pipeline(node, config)})
    context = NodeLogicContext(lambda: pipelines, 1, 1024, FlowMetrics())
    logic = NodeLogic(context, None)
    values = ["31", "20"] * CROSSINGS
    items = [
        (MESSAGE, node, ingest_id(0, offset), SAME_MS, value.encode())
        for offset, value in enumerate(values, start=1)
    ]
    out, _ = logic.on_batch(items)
    return [row for row in out if isinstance(row.row, AlertEventRow)]


def stored_rows(metrics: StorageMetrics) -> float | None:
    labels = {"table": "alert_events"}
    return metrics.registry.get_sample_value("pepeunit_storage_rows_stored_total", labels)


def test_events_in_one_millisecond_are_all_stored_and_counted(sql_url: str):
    node = seed_nodes(sql_url, {"temp": flapping_alert_config()})["temp"]
    rows = alert_rows(node, flapping_alert_config())
    kinds = [row.row.kind for row in rows if isinstance(row.row, AlertEventRow)]
    assert kinds.count(AlertEventKind.ALERT.value) == CROSSINGS
    assert kinds.count(AlertEventKind.RECOVERY.value) == CROSSINGS

    sessions = make_session_factory(make_engine(sql_url))
    metrics = StorageMetrics()
    writer = AlertEventWriter(sessions, metrics)
    assert writer.write(rows).stored == 2 * CROSSINGS
    # A replay of the same messages (after a crash) makes the same events: nothing added.
    assert writer.write(alert_rows(node, flapping_alert_config())).stored == 0

    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(AlertEvent))
    assert stored == 2 * CROSSINGS
    assert stored_rows(metrics) == stored
