"""JSON lines for simulation output: rows as `{"table": ..., <reference columns>}`."""

import json
from dataclasses import fields
from datetime import datetime
from typing import Any

from pipelines.alerting import AlertEventRow
from pipelines.clock import format_utc_ms
from pipelines.rows import Row
from pipelines.simulation.runner import RejectedMessage


def row_to_json(row: Row | AlertEventRow) -> str:
    record: dict[str, Any] = {"table": row.table}
    for column in fields(row):
        value = getattr(row, column.name)
        record[column.name] = format_utc_ms(value) if isinstance(value, datetime) else value
    return json.dumps(record, ensure_ascii=False)


def rejected_to_json(rejected: RejectedMessage) -> str:
    record = {
        "rejected": rejected.rejection.reason,
        "stage": rejected.rejection.stage,
        "line": rejected.message.line_number,
        "t": format_utc_ms(rejected.message.t),
        "node": rejected.node,
        "payload": rejected.message.payload,
    }
    return json.dumps(record, ensure_ascii=False)
