"""Wires the dataflow: intake log → node routing → per-node pipelines, and unit reports →
per-unit state and logs → per-table batches → storage. Everything stateful (source offsets,
node and unit memory, pending batches) is recoverable."""

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.operators import StatefulBatchLogic

from flows.config_cache import PipelineSet
from flows.dataflow.batching import RowBatcher
from flows.dataflow.items import (
    BATCH,
    TICK,
    NodeEntry,
    NodeItem,
    SourceItem,
    UnitEntry,
    UnitReport,
    UnitReports,
    ingest_id_base,
)
from flows.dataflow.node_logic import NodeLogic, NodeLogicContext
from flows.dataflow.sinks import Announcer, StorageSink, Writers
from flows.dataflow.source import LogSource, SourcePartition, SourceSettings
from flows.dataflow.topics import BAD, NODE, UNIT_REPORT, TopicKinds
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


def _node_router(
    parts: DataflowParts, topic_kinds: TopicKinds
) -> Callable[[SourceItem], list[tuple[str, NodeItem]]]:
    """A read of the log → one item per node with its messages; a tick → one per timed node."""
    dropped_bad_topic = parts.metrics.dropped.labels("bad_topic")

    def route(item: SourceItem) -> list[tuple[str, NodeItem]]:
        if item[0] == TICK:
            _, partition, watermark_ms = item
            return [
                (node, (TICK, node, partition, watermark_ms))
                for node in parts.current_pipelines().timed_nodes
            ]
        _, partition, rows = item
        base = ingest_id_base(partition)
        by_node: dict[str, list[NodeEntry]] = {}
        bad_topics = 0
        for offset, received_ms, topic, payload in rows:
            kind, node, _ = topic_kinds(topic)
            if kind == NODE:
                entries = by_node.get(node)
                if entries is None:
                    entries = by_node[node] = []
                entries.append((base | offset, received_ms, payload))
            elif kind == BAD:
                # Unit reports have their own branch; plain node topics are only routed.
                bad_topics += 1
        if bad_topics:
            dropped_bad_topic.inc(bad_topics)
        return [(node, (BATCH, node, entries)) for node, entries in by_node.items()]

    return route


def _unit_router(topic_kinds: TopicKinds) -> Callable[[SourceItem], list[tuple[str, UnitReports]]]:
    """A read of the log → one item per unit with its state and log reports."""

    def route(item: SourceItem) -> list[tuple[str, UnitReports]]:
        if item[0] == TICK:
            return []
        _, partition, rows = item
        base = ingest_id_base(partition)
        by_unit: dict[str, list[UnitEntry]] = {}
        for offset, received_ms, topic, payload in rows:
            kind, unit, report = topic_kinds(topic)
            if kind == UNIT_REPORT:
                entry = (report, base | offset, received_ms, payload)
                by_unit.setdefault(unit, []).append(entry)
        return [(unit, (BATCH, unit, entries)) for unit, entries in by_unit.items()]

    return route


def _by_table(rows: list[IngestedRow]) -> list[tuple[str, list[IngestedRow]]]:
    """A step's rows of one key, as one item per table."""
    tables: dict[str, list[IngestedRow]] = {}
    for ingested in rows:
        table = ingested.row.table
        found = tables.get(table)
        if found is None:
            tables[table] = [ingested]
        else:
            found.append(ingested)
    return list(tables.items())


class _NodeRows(NodeLogic):
    """A node's rows of a batch leave as one item (bytewax's cost is per item)."""

    def on_batch(self, values: list[NodeItem]) -> tuple[Iterable[list[IngestedRow]], bool]:
        rows = self.process(values)
        return ([rows] if rows else ()), StatefulBatchLogic.RETAIN


class _UnitRows(UnitReportLogic):
    """A unit's rows of a batch leave as one item."""

    def on_batch(
        self, values: list[UnitReport | UnitReports]
    ) -> tuple[Iterable[list[IngestedRow]], bool]:
        rows = self.process(values)
        return ([rows] if rows else ()), StatefulBatchLogic.RETAIN


def build_dataflow(parts: DataflowParts) -> Dataflow:
    flow = Dataflow("pepeunit")
    source = LogSource(
        parts.source, parts.open_source_partition, parts.stop_requested, parts.metrics
    )
    read = op.input("intake", flow, source)
    topic_kinds = TopicKinds(parts.domain)
    by_node = op.flat_map("route_to_nodes", read, _node_router(parts, topic_kinds))
    context = NodeLogicContext(
        parts.current_pipelines, parts.partition_count, parts.max_payload_size, parts.metrics
    )
    node_rows = op.stateful_batch("pipelines", by_node, lambda memory: _NodeRows(context, memory))
    by_unit = op.flat_map("route_to_units", read, _unit_router(topic_kinds))
    unit_context = UnitLogicContext(
        state_interval_ms=int(parts.state_send_interval.total_seconds() * 1000),
        log_lifetime=parts.unit_log_lifetime,
        max_payload_size=parts.max_payload_size,
        metrics=parts.metrics,
    )
    unit_rows = op.stateful_batch(
        "unit_reports", by_unit, lambda memory: _UnitRows(unit_context, memory)
    )
    rows = op.merge("all_rows", node_rows, unit_rows)
    per_table = op.flat_map("key_by_table", rows, lambda keyed: _by_table(keyed[1]))
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
