"""The items that travel through the dataflow, as plain tuples (they are pickled between
processes and created for every message, so they stay small and cheap)."""

from typing import Literal

MESSAGE: Literal["m"] = "m"
TICK: Literal["t"] = "t"

SourceMessage = tuple[Literal["m"], int, int, str, bytes]
"""(MESSAGE, ingest_id, received_ms, topic, payload) read from the intake log."""

SourceTick = tuple[Literal["t"], int, int]
"""(TICK, partition_index, watermark_ms): no later message of that partition is older."""

SourceItem = SourceMessage | SourceTick

NodeMessage = tuple[Literal["m"], str, int, int, bytes]
"""(MESSAGE, node, ingest_id, received_ms, payload), keyed by node uuid."""

NodeTick = tuple[Literal["t"], str, int, int]
"""(TICK, node, partition_index, watermark_ms), keyed by node uuid."""

NodeItem = NodeMessage | NodeTick

_OFFSET_BITS = 48


def ingest_id(partition_index: int, offset: int) -> int:
    """The identity of a logged message; rows made from it carry it, so a replay replaces."""
    return (partition_index << _OFFSET_BITS) | offset


UnitReport = tuple[str, str, int, int, bytes]
"""(report name, unit uuid, ingest_id, received_ms, payload), keyed by unit uuid."""
