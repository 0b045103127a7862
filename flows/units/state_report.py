"""`state/pepeunit` (docs/compatibility.md#state-and-log-reports): a JSON object of which only the
reserved keys are kept; a value of the wrong type becomes null (numbers, strings) or [] (lists)."""

import json
import math
from typing import Any

NUMBER_KEYS = ("millis", "mem_free", "mem_alloc", "freq")
LIST_KEYS = ("ifconfig", "statvfs")
VERSION_KEY = "pu_commit_version"


class MalformedReportError(ValueError):
    """The payload is not what the report's grammar allows."""


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_state_report(text: str) -> dict[str, Any]:
    """The unit state to store: every reserved key, cleaned. Raises MalformedReportError."""
    try:
        report = json.loads(text)
    except ValueError as error:
        raise MalformedReportError(f"not JSON: {error}") from None
    if not isinstance(report, dict):
        raise MalformedReportError("not a JSON object")
    state: dict[str, Any] = {key: _number(report.get(key)) for key in NUMBER_KEYS}
    for key in LIST_KEYS:
        value = report.get(key)
        state[key] = value if isinstance(value, list) else []
    version = report.get(VERSION_KEY)
    state[VERSION_KEY] = version if isinstance(version, str) else None
    return state


def state_json(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), allow_nan=False)
