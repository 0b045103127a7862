"""The dataflow's node step on batched items: a read's messages to a node arrive as one item,
and must give exactly what the same messages one item each give (rows, rejections, metrics),
with ticks between batches still closing aggregation windows in order."""

from datetime import UTC, datetime

from flows.config_cache import PipelineSet
from flows.dataflow.items import BATCH, MESSAGE, TICK, ingest_id
from flows.dataflow.node_logic import NodeLogic, NodeLogicContext
from flows.dataflow.topics import BAD, NODE, PLAIN_NODE, UNIT_REPORT, TopicKinds
from flows.metrics import FlowMetrics, observe_all
from pipelines.clock import to_epoch_ms
from pipelines.engine import Pipeline
from tests.flows.support import pipeline_config

NODE_UUID = "5f0c2d1e-0000-4000-8000-000000000002"
START_MS = to_epoch_ms(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
RECORDS = pipeline_config({"policy_type": "NRecords", "n_records_count": 5}, max_rate=2)
AVERAGE = pipeline_config(
    {"policy_type": "Aggregation", "time_window_size": 60, "aggregation_functions": "Avg"}
)
PAYLOADS = [b"1", b"2", b"x", b"4", b"\xff", b"6", b"7" * 40, b"8", b"9", b"10"]


def run(config, items: list) -> tuple[list, dict]:
    pipelines = PipelineSet(1, {NODE_UUID: Pipeline(NODE_UUID, config)})
    metrics = FlowMetrics()
    logic = NodeLogic(NodeLogicContext(lambda: pipelines, 1, 16, metrics), None)
    rows = [(item.ingest_id, item.row) for step in items for item in logic.process(step)]
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.value
    }
    return rows, samples


def entries(start: int, count: int) -> list[tuple[int, int, bytes]]:
    return [
        (ingest_id(0, offset), START_MS + offset * 1500, PAYLOADS[offset % len(PAYLOADS)])
        for offset in range(start, start + count)
    ]


def one_by_one(batch: list) -> list:
    return [(MESSAGE, NODE_UUID, *entry) for entry in batch]


def test_a_batch_gives_what_its_messages_one_by_one_give() -> None:
    first, second = entries(1, 30), entries(31, 30)
    tick = (TICK, NODE_UUID, 0, START_MS + 60_000)
    for config in (RECORDS, AVERAGE):
        batched = run(config, [[(BATCH, NODE_UUID, first), tick], [(BATCH, NODE_UUID, second)]])
        single = run(config, [[*one_by_one(first), tick], one_by_one(second)])
        assert batched == single
        rows, samples = batched
        assert sum(samples.values()) == 60  # each message accepted, rejected or dropped once
        assert len({name for name, _ in samples}) == 3
        tables = {row.table for _, row in rows}
        policy_table = "aggregation_entry" if config is AVERAGE else "n_last_entry"
        assert tables == {policy_table, "data_pipe_rejections"}


def test_topic_kinds_are_parsed_once_and_bounded() -> None:
    kinds = TopicKinds("d.test", capacity=2)
    node = "5F0C2D1E-0000-4000-8000-000000000002"
    assert kinds(f"d.test/{node}/pepeunit") == (NODE, node.lower(), "")
    assert kinds(f"d.test/output_base_topic/{NODE_UUID}/state/pepeunit") == (
        UNIT_REPORT,
        NODE_UUID,
        "state",
    )
    assert kinds(f"d.test/{NODE_UUID}")[0] == PLAIN_NODE
    assert kinds("elsewhere/x")[0] == BAD
    assert kinds(f"d.test/{node}/pepeunit")[0] == NODE


def test_observing_a_batch_counts_as_observing_each_amount() -> None:
    amounts = [0.0, 0.005, 0.0051, 0.3, 1, 1, 59.9, 60, 61, 3600, -1]
    one_by_one, batched = FlowMetrics(), FlowMetrics()
    for amount in amounts:
        one_by_one.stored_latency.labels("n_last_entry").observe(amount)
    observe_all(batched.stored_latency.labels("n_last_entry"), amounts)

    def samples(metrics: FlowMetrics) -> list:
        return [
            sample
            for family in metrics.registry.collect()
            for sample in family.samples
            if not sample.name.endswith("_created")
        ]

    assert samples(batched) == samples(one_by_one)
