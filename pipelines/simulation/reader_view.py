"""What a reader sees of the stored rows at a given moment
(docs/compatibility.md#reads-honour-n-and-expiry):

- last_value: the latest value per node;
- n_last_entry: per node, the newest N rows, N being the `max_count` of the node's newest row;
- window_entry: rows whose `expiration_datetime` is after `now`;
- aggregation_entry: every row.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from pipelines.rows import (
    AggregationRow,
    LastValueRow,
    NRecordsRow,
    Row,
    TimeWindowRow,
)


def _newest_n_per_node(rows: list[NRecordsRow]) -> list[NRecordsRow]:
    by_node: dict[str, list[NRecordsRow]] = defaultdict(list)
    for row in rows:  # in storage order, so equal create_datetimes keep arrival order
        by_node[row.unit_node_uuid].append(row)
    visible: list[NRecordsRow] = []
    for node_rows in by_node.values():
        ordered = sorted(node_rows, key=lambda row: row.create_datetime)
        visible.extend(ordered[-ordered[-1].max_count :])
    return visible


def visible_rows(rows: Sequence[Row], now: datetime) -> list[Row]:
    """The rows a reader gets at `now`, grouped by table, per node by time."""
    last_values: dict[str, LastValueRow] = {}
    n_records: list[NRecordsRow] = []
    windows: list[TimeWindowRow] = []
    aggregations: list[AggregationRow] = []
    for row in rows:
        match row:
            case LastValueRow():
                last_values[row.unit_node_uuid] = row
            case NRecordsRow():
                n_records.append(row)
            case TimeWindowRow():
                if row.expiration_datetime > now:
                    windows.append(row)
            case AggregationRow():
                aggregations.append(row)
    by_node_time = {"key": lambda row: (row.unit_node_uuid, getattr(row, "create_datetime", None))}
    return [
        *sorted(last_values.values(), key=lambda row: row.unit_node_uuid),
        *sorted(_newest_n_per_node(n_records), **by_node_time),
        *sorted(windows, **by_node_time),
        *sorted(aggregations, **by_node_time),
    ]
