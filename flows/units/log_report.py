"""`log/pepeunit` (docs/compatibility.md#state-and-log-reports): one entry `{level, text,
create_datetime?}` or a list of them. Levels are matched case-insensitively; an entry without a
usable `create_datetime` is dated at the receive time plus its index in seconds, which keeps a batch
in order. Entries that are not objects, or lack a known level or a text, are skipped and counted."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.units.state_report import MalformedReportError
from pepeunit_core.db.enums import LogLevel
from pepeunit_core.stored_data.rows import UnitLogRow

_LEVELS = {level.value.lower(): level.value for level in LogLevel}
# Fixed, so an entry's uuid depends only on the message identity and its index.
_LOG_ENTRY_NAMESPACE = uuid.UUID("5f0c7a52-3b1e-4d8e-9f39-6a1f0e2c9b47")


@dataclass(slots=True)
class ParsedLog:
    rows: list[UnitLogRow] = field(default_factory=list)
    skipped: int = 0


def _entry_time(value: Any, fallback: datetime) -> datetime:
    if not isinstance(value, str):
        return fallback
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return fallback
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)  # devices without a zone report UTC
    return moment.astimezone(UTC)


def parse_log_report(
    text: str, unit_uuid: str, ingest_id: int, received: datetime, lifetime: timedelta
) -> ParsedLog:
    """Rows for `unit_logs`. Raises MalformedReportError when the payload is not JSON or is
    neither an object nor a list."""
    try:
        report = json.loads(text)
    except ValueError as error:
        raise MalformedReportError(f"not JSON: {error}") from None
    if isinstance(report, dict):
        entries: list[Any] = [report]
    elif isinstance(report, list):
        entries = report
    else:
        raise MalformedReportError("neither a JSON object nor a list")
    parsed = ParsedLog()
    expiration = (received + lifetime).replace(microsecond=0)
    for index, entry in enumerate(entries):
        level = entry.get("level") if isinstance(entry, dict) else None
        entry_text = entry.get("text") if isinstance(entry, dict) else None
        known_level = _LEVELS.get(level.lower()) if isinstance(level, str) else None
        if known_level is None or not isinstance(entry_text, str) or "\x00" in entry_text:
            parsed.skipped += 1
            continue
        created = _entry_time(entry.get("create_datetime"), received + timedelta(seconds=index))
        parsed.rows.append(
            UnitLogRow(
                uuid=str(uuid.uuid5(_LOG_ENTRY_NAMESPACE, f"{ingest_id}:{index}")),
                level=known_level,
                unit_uuid=unit_uuid,
                text=entry_text,
                create_datetime=created,
                expiration_datetime=expiration,
            )
        )
    return parsed
