"""Live events (docs/graphql.md#subscriptions): after the dataflow has stored a batch, it
announces what the batch holds on `{D}/pepeunit_events/{kind}` (QoS 0), for the API's
subscriptions; the control plane reads them there. Only the Backend may use these topics (every
broker integration allows a unit its own topics only).

A message is a JSON list of compact entries, at most `MAX_MESSAGE_BYTES` each (an entry larger
than that alone in a message):

- `node_values`: `[node uuid, value, stored time in epoch ms]` — values a pipeline stored
  (LastValue, NRecords, TimeWindow; aggregates are not values of the node);
- `unit_states`: `[unit uuid, state JSON text, commit version or null, receive time ms]`;
- `unit_logs`: `[unit uuid, entry uuid, level, text, created ms, expires ms]`.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pepeunit_core.stored_data.rows import StoredRow, UnitLogRow, UnitStateRow
from pipelines.clock import to_epoch_ms
from pipelines.rows import LastValueRow, NRecordsRow, TimeWindowRow

MAX_MESSAGE_BYTES = 64 * 1024
# One encoder for every entry: `json.dumps` with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_EVENTS_LEVEL = "pepeunit_events"


class EventKind(StrEnum):
    NODE_VALUES = "node_values"
    UNIT_STATES = "unit_states"
    UNIT_LOGS = "unit_logs"


def events_topic(domain: str, kind: EventKind) -> str:
    return f"{domain}/{_EVENTS_LEVEL}/{kind}"


def events_filter(domain: str) -> str:
    """Every kind, for the API's one subscription."""
    return f"{domain}/{_EVENTS_LEVEL}/+"


def kind_of_topic(domain: str, topic: str) -> EventKind | None:
    prefix = f"{domain}/{_EVENTS_LEVEL}/"
    if not topic.startswith(prefix):
        return None
    try:
        return EventKind(topic[len(prefix) :])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class NodeValueEvent:
    node: str
    value: str
    stored_ms: int


@dataclass(frozen=True, slots=True)
class UnitStateEvent:
    unit: str
    state_json: str
    commit_version: str | None
    received_ms: int


@dataclass(frozen=True, slots=True)
class UnitLogEvent:
    unit: str
    uuid: str
    level: str
    text: str
    created_ms: int
    expires_ms: int


LiveEvent = NodeValueEvent | UnitStateEvent | UnitLogEvent


def _entry(row: StoredRow) -> tuple[EventKind, list[object]] | None:
    match row:
        case LastValueRow():
            return EventKind.NODE_VALUES, [
                row.unit_node_uuid,
                row.state,
                to_epoch_ms(row.last_update_datetime),
            ]
        case NRecordsRow() | TimeWindowRow():
            return EventKind.NODE_VALUES, [
                row.unit_node_uuid,
                row.state,
                to_epoch_ms(row.create_datetime),
            ]
        case UnitStateRow():
            return EventKind.UNIT_STATES, [
                row.unit_uuid,
                row.unit_state_dict,
                row.commit_version,
                to_epoch_ms(row.received_datetime),
            ]
        case UnitLogRow():
            return EventKind.UNIT_LOGS, [
                row.unit_uuid,
                row.uuid,
                row.level,
                row.text,
                to_epoch_ms(row.create_datetime),
                to_epoch_ms(row.expiration_datetime),
            ]
    return None


_VALUE_ROWS = frozenset({LastValueRow, NRecordsRow, TimeWindowRow})
_json_string = json.encoder.encode_basestring  # what _ENCODER does with a str


def _value_time(row: StoredRow) -> datetime:
    return row.last_update_datetime if isinstance(row, LastValueRow) else row.create_datetime  # type: ignore[union-attr]


def encode_events(rows: Iterable[StoredRow]) -> Iterator[tuple[EventKind, bytes]]:
    """The messages announcing `rows` (rows of other kinds announce nothing)."""
    pending: dict[EventKind, list[bytes]] = {}
    sizes: dict[EventKind, int] = {}
    for row in rows:
        if type(row) in _VALUE_ROWS:
            # the JSON of [node, value, ms], written directly: a value row is in most batches
            kind = EventKind.NODE_VALUES
            node, value = _json_string(row.unit_node_uuid), _json_string(row.state)  # type: ignore[union-attr]
            encoded = f"[{node},{value},{to_epoch_ms(_value_time(row))}]".encode()
        else:
            found = _entry(row)
            if found is None:
                continue
            kind, entry = found
            encoded = _ENCODER.encode(entry).encode()
        entries = pending.setdefault(kind, [])
        if entries and sizes[kind] + len(encoded) + 1 > MAX_MESSAGE_BYTES:
            yield kind, b"[" + b",".join(entries) + b"]"
            entries.clear()
            sizes[kind] = 1
        entries.append(encoded)
        sizes[kind] = sizes.get(kind, 1) + len(encoded) + 1
    for kind, entries in pending.items():
        if entries:
            yield kind, b"[" + b",".join(entries) + b"]"


def decode_events(kind: EventKind, payload: bytes) -> list[LiveEvent]:
    """The events of a message; entries that do not read as `kind`'s are skipped (ValueError
    for a payload that is no JSON list)."""
    entries = json.loads(payload)
    if not isinstance(entries, list):
        raise ValueError("a live event message is a JSON list")
    events: list[LiveEvent] = []
    for entry in entries:
        try:
            events.append(_event(kind, entry))
        except (TypeError, ValueError):
            continue
    return events


def _event(kind: EventKind, entry: list[object]) -> LiveEvent:
    match kind, entry:
        case EventKind.NODE_VALUES, [str(node), str(value), int(stored_ms)]:
            return NodeValueEvent(node, value, stored_ms)
        case EventKind.UNIT_STATES, [str(unit), str(state), str() | None as version, int(ms)]:
            return UnitStateEvent(unit, state, version, ms)
        case EventKind.UNIT_LOGS, [
            str(unit),
            str(uuid),
            str(level),
            str(text),
            int(created_ms),
            int(expires_ms),
        ]:
            return UnitLogEvent(unit, uuid, level, text, created_ms, expires_ms)
    raise ValueError(f"not a {kind} entry")
