"""Rows made from unit reports, stored next to the pipeline rows."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(slots=True)
class UnitStateRow:
    """A unit's accepted state report, for its `units` row in the SQL database."""

    table: ClassVar[str] = "unit_state"
    unit_uuid: str
    unit_state_dict: str
    """The reserved keys only, as JSON text."""
    commit_version: str | None
    received_datetime: datetime


@dataclass(slots=True)
class UnitLogRow:
    """One log entry, for ClickHouse `unit_logs`."""

    table: ClassVar[str] = "unit_logs"
    uuid: str
    """Derived from the message and the entry's index: a replayed entry is the same row."""
    level: str
    unit_uuid: str
    text: str
    create_datetime: datetime
    expiration_datetime: datetime
