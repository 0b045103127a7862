"""A node's stored rows as the Data and Pipeline pages show them: one line per row (when, the
value, and for aggregates the function and window), and the chart's series (docs/console.md)."""

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines.clock import to_epoch_ms
from pipelines.config import PolicyType


@dataclass(frozen=True)
class ShownRow:
    time: datetime
    """When it was stored (an aggregate: its window's end)."""
    value: str
    function: str = ""
    """Aggregates only: Avg, Min, Max or Sum."""
    window: str = ""
    """Aggregates: `start to end`; TimeWindow rows: until when they stay visible."""


def shown_rows(rows: Iterable[Any]) -> list[ShownRow]:
    """Rows read through the services (`PipeDataRead`) or made by a simulation
    (`pipelines.rows`)."""
    return [_shown(row) for row in rows]


def _shown(row: Any) -> ShownRow:
    if hasattr(row, "aggregation_type"):
        window = f"{_clock(row.start_window_datetime)} to {_clock(row.end_window_datetime)}"
        return ShownRow(row.end_window_datetime, _number(row.state), row.aggregation_type, window)
    if hasattr(row, "expiration_datetime"):
        until = f"until {_clock(row.expiration_datetime)}"
        return ShownRow(row.create_datetime, str(row.state), window=until)
    if hasattr(row, "create_datetime"):
        return ShownRow(row.create_datetime, str(row.state))
    return ShownRow(row.last_update_datetime, "" if row.state is None else str(row.state))


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def chart_data(policy: PolicyType, rows: Sequence[ShownRow]) -> str | None:
    """uPlot's data as JSON, `{"x": [epoch seconds], "series": [{"label", "values"}]}`, oldest
    first: one series of the numeric values, or one per aggregation function over the window
    ends. None when there is nothing to draw (no rows, no numbers, or a LastValue)."""
    if policy is PolicyType.LAST_VALUE:
        return None
    labels = sorted({row.function for row in rows}) if policy is PolicyType.AGGREGATION else [""]
    times = sorted({to_epoch_ms(row.time) for row in rows})
    column = {moment: index for index, moment in enumerate(times)}
    series: dict[str, list[float | None]] = {label: [None] * len(times) for label in labels}
    for row in rows:
        series[row.function if policy is PolicyType.AGGREGATION else ""][
            column[to_epoch_ms(row.time)]
        ] = _finite(row.value)
    if not any(value is not None for values in series.values() for value in values):
        return None
    document = {
        "x": [moment / 1000 for moment in times],
        "series": [
            {"label": label or "value", "values": values} for label, values in series.items()
        ],
    }
    # Safe inside <script type="application/json">: no "</" can end the element early.
    return json.dumps(document, separators=(",", ":")).replace("</", "<\\/")


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
