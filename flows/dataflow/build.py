"""Wires the dataflow: intake log → node routing → per-node pipelines, and unit reports →
per-unit state and logs → per-table batches → storage. Everything stateful (source offsets,
node and unit memory, pending batches) is recoverable."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import bytewax.operators as op
from bytewax.dataflow import Dataflow

from flows.config_cache import PipelineSet
from flows.dataflow.batching import RowBatcher
from flows.dataflow.items import MESSAGE, NodeItem, SourceItem, UnitReport
from flows.dataflow.node_logic import NodeLogic, NodeLogicContext
from flows.dataflow.sinks import Announcer, StorageSink, Writers
from flows.dataflow.source import LogSource, SourcePartition, SourceSettings
from flows.dataflow.topics import is_plain_node_topic, node_of_topic, unit_report_of_topic
from flows.dataflow.unit_logic import UnitLogicContext, UnitReportLogic
from flows.metrics import FlowMetrics
from pepeunit_core.stored_data.rows import IngestedRow


@dataclass(frozen=True, slots=True)
class DataflowParts:
    domain: str
    source: SourceSettings
    partition_count: int
    """Source partitions in the whole cluster (each sends watermarks to every node)."""
    open_source_partition: Callable[[int], SourcePartition]
    open_writers: Callable[[], Writers]
    current_pipelines: Callable[[], PipelineSet]
    stop_requested: threading.Event
    metrics: FlowMetrics
    max_payload_size: int
    storage_partitions: tuple[str, ...]
    """Storage partitions this process writes through (see `flows.dataflow.sinks`)."""
    open_announcer: Callable[[], Announcer] | None = None
    """Live events after each written batch (none when None)."""
    batch_rows: int = 1_000
    batch_wait: timedelta = timedelta(seconds=1)
    state_send_interval: timedelta = timedelta(seconds=60)
    unit_log_lifetime: timedelta = timedelta(days=1)


def _router(parts: DataflowParts) -> Callable[[SourceItem], list[tuple[str, NodeItem]]]:
    domain = parts.domain
    dropped_bad_topic = parts.metrics.dropped.labels("bad_topic")

    def route(item: SourceItem) -> list[tuple[str, NodeItem]]:
        if item[0] == MESSAGE:
            _, ingest_id, received_ms, topic, payload = item
            node = node_of_topic(topic, domain)
            if node is None:
                # Unit reports have their own branch; plain node topics are only routed.
                if not (unit_report_of_topic(topic, domain) or is_plain_node_topic(topic, domain)):
                    dropped_bad_topic.inc()
                return []
            return [(node, (MESSAGE, node, ingest_id, received_ms, payload))]
        _, partition, watermark_ms = item
        return [
            (node, (item[0], node, partition, watermark_ms))
            for node in parts.current_pipelines().timed_nodes
        ]

    return route


def _unit_router(parts: DataflowParts) -> Callable[[SourceItem], list[tuple[str, UnitReport]]]:
    domain = parts.domain

    def route(item: SourceItem) -> list[tuple[str, UnitReport]]:
        if item[0] != MESSAGE:
            return []
        _, ingest_id, received_ms, topic, payload = item
        report = unit_report_of_topic(topic, domain)
        if report is None:
            return []
        unit, name = report
        return [(unit, (name.value, unit, ingest_id, received_ms, payload))]

    return route


def build_dataflow(parts: DataflowParts) -> Dataflow:
    flow = Dataflow("pepeunit")
    source = LogSource(
        parts.source, parts.open_source_partition, parts.stop_requested, parts.metrics
    )
    read = op.input("intake", flow, source)
    by_node = op.flat_map("route_to_nodes", read, _router(parts))
    context = NodeLogicContext(
        parts.current_pipelines, parts.partition_count, parts.max_payload_size, parts.metrics
    )
    node_rows = op.stateful_batch("pipelines", by_node, lambda memory: NodeLogic(context, memory))
    by_unit = op.flat_map("route_to_units", read, _unit_router(parts))
    unit_context = UnitLogicContext(
        state_interval_ms=int(parts.state_send_interval.total_seconds() * 1000),
        log_lifetime=parts.unit_log_lifetime,
        max_payload_size=parts.max_payload_size,
        metrics=parts.metrics,
    )
    unit_rows = op.stateful_batch(
        "unit_reports", by_unit, lambda memory: UnitReportLogic(unit_context, memory)
    )
    rows = op.merge("all_rows", node_rows, unit_rows)

    def by_table(keyed_row: tuple[str, IngestedRow]) -> tuple[str, IngestedRow]:
        return keyed_row[1].row.table, keyed_row[1]

    per_table = op.map("key_by_table", rows, by_table)
    batches = op.stateful_batch(
        "batch_rows",
        per_table,
        lambda pending: RowBatcher(parts.batch_rows, parts.batch_wait, pending),
    )
    op.output(
        "store",
        batches,
        StorageSink(
            list(parts.storage_partitions), parts.open_writers, parts.metrics, parts.open_announcer
        ),
    )
    return flow
