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
from datetime import datetime

from bytewax.operators import StatefulBatchLogic

from flows.config_cache import PipelineSet
from flows.dataflow.items import MESSAGE, NodeItem
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


class NodeLogic(StatefulBatchLogic[NodeItem, IngestedRow, NodeFlowMemory]):
    """bytewax builds it without the key, so the node comes with every item."""

    def __init__(self, context: NodeLogicContext, memory: NodeFlowMemory | None) -> None:
        self._context = context
        if memory is not None and not hasattr(memory, "rejections"):
            # A snapshot taken before rejections were recorded: unpickling leaves the slot empty.
            memory.rejections = RejectionLog()
        self._memory = memory

    def on_batch(self, values: list[NodeItem]) -> tuple[Iterable[IngestedRow], bool]:
        if self._memory is None:
            self._memory = NodeFlowMemory(values[0][1])
        pipeline = self._context.current_pipelines().by_node.get(self._memory.node)
        out: list[IngestedRow] = []
        rejected_before = self._memory.rejections.rejected_count
        for value in values:
            if value[0] == MESSAGE:
                self._process_message(pipeline, value[2], value[3], value[4], out)
            else:
                self._memory.watermarks[value[2]] = value[3]
                self._on_watermark(pipeline, out)
        log = self._memory.rejections
        if log.rejected_count != rejected_before:
            row = NodeRejectionsRow(self._memory.node, log.rejected_count, log.to_stored())
            out.append(IngestedRow(_NO_INGEST_ID, row))
        return out, StatefulBatchLogic.RETAIN

    def _process_message(
        self,
        pipeline: Pipeline | None,
        ingest_id: int,
        received_ms: int,
        payload: bytes,
        out: list[IngestedRow],
    ) -> None:
        metrics = self._context.metrics
        assert self._memory is not None
        if pipeline is None:
            metrics.dropped_for("no_pipeline").inc()
            return
        if len(payload) > self._context.max_payload_size:
            metrics.dropped_for("too_large").inc()
            shown = f"{len(payload)} bytes"
            self._record(pipeline, rejections.TOO_LARGE, shown, from_epoch_ms(received_ms))
            return
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            metrics.dropped_for("invalid_utf8").inc()
            preview = value_preview(payload.decode("utf-8", errors="replace"))
            self._record(pipeline, rejections.INVALID_UTF8, preview, from_epoch_ms(received_ms))
            return
        if "\x00" in text:  # no SQL text column accepts it (PostgreSQL refuses NUL)
            metrics.dropped_for("nul_character").inc()
            preview = value_preview(text)
            self._record(pipeline, rejections.NUL_CHARACTER, preview, from_epoch_ms(received_ms))
            return
        received = from_epoch_ms(received_ms)
        result = pipeline.process(self._memory.node_memory, text, received, ingest_id)
        for row in result.rows:
            row_id = _NO_INGEST_ID if isinstance(row, AggregationRow) else ingest_id
            out.append(IngestedRow(row_id, row))
        out.extend(IngestedRow(ingest_id, event) for event in result.alerts)
        if result.rejection is None:
            metrics.accepted_for(pipeline.config.processing_policy.policy_type.value).inc()
        else:
            metrics.rejected_for(result.rejection.stage, result.rejection.reason).inc()
            self._record(pipeline, result.rejection, value_preview(text), received)

    def _record(
        self, pipeline: Pipeline, rejection: Rejection, shown: str, received: datetime
    ) -> None:
        assert self._memory is not None
        message = f"{shown}: {pipeline.explain(rejection)}"
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
