"""The row that carries a node's record of rejected messages to storage."""

from dataclasses import dataclass
from typing import ClassVar


@dataclass(slots=True)
class NodeRejectionsRow:
    table: ClassVar[str] = "data_pipe_rejections"
    unit_node_uuid: str
    rejected_count: int
    stored_log: str
    """`RejectionLog.to_stored()`."""
