"""Per-node record of the messages a pipeline rejected: how many, how many per reason, and the
last few with their time and an explanation.

The dataflow keeps one `RejectionLog` per node in its recoverable state (a replay after a crash
rebuilds exactly the same log) and stores it as a whole in `units_nodes` (the count in
`data_pipe_rejected_count`, the rest as JSON in `data_pipe_rejections`); the API and the CLI
read it back with `RejectionLog.from_stored`. Memory stays bounded: the per-reason counts have
one entry per rule, and only the last `MAX_RECENT_REJECTIONS` messages are kept.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_RECENT_REJECTIONS = 20
VALUE_PREVIEW_CHARS = 64


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    received_datetime: datetime
    stage: str
    reason: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {
            "received_datetime": self.received_datetime.isoformat(),
            "stage": self.stage,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(slots=True)
class RejectionLog:
    rejected_count: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    """`Stage.reason` -> count."""
    recent: tuple[RejectedMessage, ...] = ()
    """Oldest first, at most `MAX_RECENT_REJECTIONS`."""

    def record(self, entry: RejectedMessage) -> None:
        self.rejected_count += 1
        key = f"{entry.stage}.{entry.reason}"
        self.by_reason[key] = self.by_reason.get(key, 0) + 1
        self.recent = (*self.recent, entry)[-MAX_RECENT_REJECTIONS:]

    def copy(self) -> "RejectionLog":
        return RejectionLog(self.rejected_count, dict(self.by_reason), self.recent)

    def to_stored(self) -> str:
        document = {
            "by_reason": self.by_reason,
            "recent": [entry.as_json() for entry in self.recent],
        }
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_stored(cls, rejected_count: int | None, stored: str | None) -> "RejectionLog":
        """The stored log; an absent or unreadable document gives just the count."""
        log = cls(rejected_count or 0)
        if not stored:
            return log
        try:
            document = json.loads(stored)
            log.by_reason = {str(key): int(value) for key, value in document["by_reason"].items()}
            log.recent = tuple(_entry(item) for item in document["recent"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls(rejected_count or 0)
        return log


def _entry(item: dict[str, Any]) -> RejectedMessage:
    moment = datetime.fromisoformat(item["received_datetime"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return RejectedMessage(moment, str(item["stage"]), str(item["reason"]), str(item["message"]))


def value_preview(payload: str) -> str:
    """The start of a rejected payload, quoted, to show which message it was."""
    if len(payload) <= VALUE_PREVIEW_CHARS:
        return repr(payload)
    return f"{payload[:VALUE_PREVIEW_CHARS]!r}… ({len(payload)} characters)"
