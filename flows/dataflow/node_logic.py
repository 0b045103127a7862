"""Per-node processing inside the dataflow: the node memory of the engine (`NodeMemory`) kept in
bytewax's recoverable state.

Messages run through the node's current pipeline with their logged receive time as the clock,
so a replay after a crash decides exactly as the first run did. Aggregation windows close, and
offline alert rules look at the silence, on ticks carrying each source partition's watermark: a
window closes only once every partition has passed its end, so messages still being replayed by
a slower partition are never late.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bytewax.operators import StatefulBatchLogic

from flows.config_cache import PipelineSet
from flows.dataflow.items import BATCH, MESSAGE, NodeItem
from flows.metrics import FlowMetrics
from pepeunit_core.pipe_rejections import RejectedMessage, RejectionLog, value_preview
from pepeunit_core.stored_data.rows import IngestedRow, NodeRejectionsRow
from pipelines import rejections
from pipelines.clock import from_epoch_ms
from pipelines.engine import NodeMemory, Pipeline
from pipelines.rejections import Rejection
from pipelines.rows import AggregationRow

logger = logging.getLogger("pepeunit.flow.nodes")

_NO_INGEST_ID = 0


@dataclass(slots=True)
class NodeFlowMemory:
    """What the dataflow keeps for one node in recoverable state."""

    node: str
    node_memory: NodeMemory = field(default_factory=NodeMemory)
    watermarks: dict[int, int] = field(default_factory=dict)
    """The latest watermark (epoch ms) of each source partition."""
    rejections: RejectionLog = field(default_factory=RejectionLog)
    """What the node's pipeline rejected, stored after each batch that adds to it."""


@dataclass(frozen=True, slots=True)
class NodeLogicContext:
    """What every node's logic shares within a process."""

    current_pipelines: Callable[[], PipelineSet]
    partition_count: int
    max_payload_size: int
    metrics: FlowMetrics


class _BatchCounts:
    """What one batch adds to the metrics, added to them once per batch (a counter's increment
    costs more than the message's count)."""

    __slots__ = ("accepted", "dropped", "rejected")

    def __init__(self) -> None:
        self.accepted = 0
        self.dropped: dict[str, int] = {}
        self.rejected: dict[tuple[str, str], int] = {}

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def reject(self, rejection: Rejection) -> None:
        key = (rejection.stage, rejection.reason)
        self.rejected[key] = self.rejected.get(key, 0) + 1

    def add_to(self, metrics: FlowMetrics, pipeline: Pipeline | None) -> None:
        if self.accepted and pipeline is not None:
            policy = pipeline.config.processing_policy.policy_type.value
            metrics.accepted_for(policy).inc(self.accepted)
        for reason, count in self.dropped.items():
            metrics.dropped_for(reason).inc(count)
        for (stage, reason), count in self.rejected.items():
            metrics.rejected_for(stage, reason).inc(count)


class NodeLogic(StatefulBatchLogic[NodeItem, IngestedRow, NodeFlowMemory]):
    """bytewax builds it without the key, so the node comes with every item."""

    def __init__(self, context: NodeLogicContext, memory: NodeFlowMemory | None) -> None:
        self._context = context
        if memory is not None and not hasattr(memory, "rejections"):
            # A snapshot taken before rejections were recorded: unpickling leaves the slot empty.
            memory.rejections = RejectionLog()
        self._memory = memory

    def on_batch(self, values: list[NodeItem]) -> tuple[Iterable[IngestedRow], bool]:
        return self.process(values), StatefulBatchLogic.RETAIN

    def process(self, values: list[NodeItem]) -> list[IngestedRow]:
        """The rows of `values` (batches, single messages and ticks of this node, in order)."""
        if self._memory is None:
            self._memory = NodeFlowMemory(values[0][1])
        pipeline = self._context.current_pipelines().by_node.get(self._memory.node)
        out: list[IngestedRow] = []
        counts = _BatchCounts()
        rejected_before = self._memory.rejections.rejected_count
        for value in values:
            kind = value[0]
            if kind == BATCH:
                for ingest_id, received_ms, payload in value[2]:  # type: ignore[misc]
                    self._process_message(pipeline, ingest_id, received_ms, payload, out, counts)
            elif kind == MESSAGE:
                _, _, ingest_id, received_ms, payload = value  # type: ignore[misc]
                self._process_message(pipeline, ingest_id, received_ms, payload, out, counts)
            else:
                self._memory.watermarks[value[2]] = value[3]  # type: ignore[index]
                self._on_watermark(pipeline, out)
        counts.add_to(self._context.metrics, pipeline)
        log = self._memory.rejections
        if log.rejected_count != rejected_before:
            row = NodeRejectionsRow(self._memory.node, log.rejected_count, log.to_stored())
            out.append(IngestedRow(_NO_INGEST_ID, row))
        return out

    def _process_message(
        self,
        pipeline: Pipeline | None,
        ingest_id: int,
        received_ms: int,
        payload: bytes,
        out: list[IngestedRow],
        counts: _BatchCounts,
    ) -> None:
        if pipeline is None:
            counts.drop("no_pipeline")
            return
        if len(payload) > self._context.max_payload_size:
            counts.drop("too_large")
            self._record(pipeline, rejections.TOO_LARGE, f"{len(payload)} bytes", received_ms)
            return
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            counts.drop("invalid_utf8")
            preview = value_preview(payload.decode("utf-8", errors="replace"))
            self._record(pipeline, rejections.INVALID_UTF8, preview, received_ms)
            return
        if "\x00" in text:  # no SQL text column accepts it (PostgreSQL refuses NUL)
            counts.drop("nul_character")
            self._record(pipeline, rejections.NUL_CHARACTER, value_preview(text), received_ms)
            return
        assert self._memory is not None
        result = pipeline.process_at(self._memory.node_memory, text, received_ms, ingest_id)
        for row in result.rows:
            row_id = _NO_INGEST_ID if isinstance(row, AggregationRow) else ingest_id
            out.append(IngestedRow(row_id, row))
        if result.alerts:
            out.extend(IngestedRow(ingest_id, event) for event in result.alerts)
        if result.rejection is None:
            counts.accepted += 1
        else:
            counts.reject(result.rejection)
            self._record(pipeline, result.rejection, value_preview(text), received_ms)

    def _record(
        self, pipeline: Pipeline, rejection: Rejection, shown: str, received_ms: int
    ) -> None:
        assert self._memory is not None
        message = f"{shown}: {pipeline.explain(rejection)}"
        received = from_epoch_ms(received_ms)
        entry = RejectedMessage(received, rejection.stage, rejection.reason, message)
        self._memory.rejections.record(entry)

    def _on_watermark(self, pipeline: Pipeline | None, out: list[IngestedRow]) -> None:
        """Once every partition has passed a time: windows ending by then close and offline
        rules look at the silence."""
        assert self._memory is not None
        watermarks = self._memory.watermarks
        if len(watermarks) < self._context.partition_count:
            return
        # Also when the node's pipeline was removed meanwhile: its open windows still end.
        memory = self._memory
        watermark = min(watermarks.values())
        rows = memory.node_memory.open_windows.close_due(watermark, memory.node)
        out.extend(IngestedRow(_NO_INGEST_ID, row) for row in rows)
        if pipeline is not None:
            events = pipeline.on_time(memory.node_memory, watermark)
            out.extend(IngestedRow(_NO_INGEST_ID, event) for event in events)

    def snapshot(self) -> NodeFlowMemory:
        assert self._memory is not None
        memory = self._memory
        return NodeFlowMemory(
            memory.node,
            memory.node_memory.copy(),
            dict(memory.watermarks),
            memory.rejections.copy(),
        )
