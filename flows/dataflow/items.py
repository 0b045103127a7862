"""The items that travel through the dataflow, as plain tuples (they are pickled between
processes, so they stay small and cheap). Messages travel in batches: one item per read of the
intake log, then one item per node (or unit) of that read, so bytewax's per-item cost is paid
per batch and not per message."""

from typing import Literal

from flows.intake.wal import LoggedRow

MESSAGE: Literal["m"] = "m"
TICK: Literal["t"] = "t"
BATCH: Literal["b"] = "b"

SourceBatch = tuple[Literal["b"], int, list[LoggedRow]]
"""(BATCH, partition_index, rows): consecutive messages of one partition's log."""

SourceTick = tuple[Literal["t"], int, int]
"""(TICK, partition_index, watermark_ms): no later message of that partition is older."""

SourceItem = SourceBatch | SourceTick

NodeEntry = tuple[int, int, bytes]
"""(ingest_id, received_ms, payload) of one message to a node."""

NodeMessage = tuple[Literal["m"], str, int, int, bytes]
"""(MESSAGE, node, ingest_id, received_ms, payload), keyed by node uuid: one message."""

NodeBatch = tuple[Literal["b"], str, list[NodeEntry]]
"""(BATCH, node, entries), keyed by node uuid: the node's messages of one read, in log order."""

NodeTick = tuple[Literal["t"], str, int, int]
"""(TICK, node, partition_index, watermark_ms), keyed by node uuid."""

NodeItem = NodeMessage | NodeBatch | NodeTick

_OFFSET_BITS = 48


def ingest_id(partition_index: int, offset: int) -> int:
    """The identity of a logged message; rows made from it carry it, so a replay replaces."""
    return (partition_index << _OFFSET_BITS) | offset


def ingest_id_base(partition_index: int) -> int:
    """`ingest_id(partition_index, offset) == ingest_id_base(partition_index) | offset`."""
    return partition_index << _OFFSET_BITS


UnitEntry = tuple[str, int, int, bytes]
"""(report name, ingest_id, received_ms, payload) of one report of a unit."""

UnitReport = tuple[str, str, int, int, bytes]
"""(report name, unit uuid, ingest_id, received_ms, payload), keyed by unit uuid: one report."""

UnitReports = tuple[Literal["b"], str, list[UnitEntry]]
"""(BATCH, unit uuid, entries), keyed by unit uuid: the unit's reports of one read."""
