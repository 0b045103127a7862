"""Recorded messages for a simulation: JSON lines `{"t": ..., "payload": ..., "node": ...}`."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from pipelines.clock import parse_utc


class MessageFileError(ValueError):
    """A line of the messages file that cannot be used, with its line number."""

    def __init__(self, line_number: int, message: str) -> None:
        super().__init__(f"line {line_number}: {message}")
        self.line_number = line_number


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    line_number: int
    t: datetime
    payload: str
    node: str | None


def _parse_line(line_number: int, text: str) -> RecordedMessage:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise MessageFileError(line_number, f"not valid JSON: {error.msg}") from None
    if not isinstance(record, dict):
        raise MessageFileError(line_number, "expected a JSON object with 't' and 'payload'")
    t, payload, node = record.get("t"), record.get("payload"), record.get("node")
    if not isinstance(t, str):
        raise MessageFileError(line_number, "'t' must be an ISO-8601 UTC time string")
    try:
        moment = parse_utc(t)
    except ValueError as error:
        raise MessageFileError(line_number, f"'t': {error}") from None
    if not isinstance(payload, str):
        raise MessageFileError(line_number, "'payload' must be a string (the raw MQTT payload)")
    if node is not None and not isinstance(node, str):
        raise MessageFileError(line_number, "'node' must be a unit node uuid string")
    return RecordedMessage(line_number, moment, payload, node.lower() if node else None)


def read_messages(stream: TextIO) -> list[RecordedMessage]:
    """The messages merged by time (stable: equal times keep file order); blank lines are
    skipped. Each node's own stream must not go back in time: its order decides the result,
    while several nodes' recordings may simply be concatenated."""
    last_time_of_node: dict[str | None, datetime] = {}
    messages: list[RecordedMessage] = []
    for line_number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        message = _parse_line(line_number, text)
        previous = last_time_of_node.get(message.node)
        if previous is not None and message.t < previous:
            node = f"node {message.node}" if message.node else "the messages without 'node'"
            raise MessageFileError(
                line_number,
                f"'t' goes back in time for {node} "
                f"({message.t.isoformat()} < {previous.isoformat()})",
            )
        last_time_of_node[message.node] = message.t
        messages.append(message)
    messages.sort(key=lambda message: message.t)
    return messages
