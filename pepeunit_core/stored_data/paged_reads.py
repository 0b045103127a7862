"""Reads of one node's stored rows that cost the page, not the node: filtering, ordering, offset
and limit run in ClickHouse, and whole-node reads (exports) come in blocks.

The rows are those of `reads.py` (the newest N of NRecords, unexpired TimeWindow rows, every
Aggregation row, each once under FINAL). NRecords rows are numbered 1… oldest first among the
visible rows, whatever the filter, as the reference numbers them.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from clickhouse_connect.driver.client import Client

from pipelines.clock import from_epoch_ms, to_epoch_ms
from pipelines.rows import AggregationRow, NRecordsRow, TimeWindowRow

AGGREGATION_FUNCTIONS = ("Avg", "Min", "Max", "Sum")
STREAM_BLOCK_ROWS = 10_000
UINT32_MAX = 2**32 - 1


@dataclass(frozen=True)
class RowSelection:
    """Which of a node's rows a reader wants and in which order. Bounds are inclusive epoch
    milliseconds; `state_contains` (case-insensitive) applies to NRecords and TimeWindow rows,
    the aggregation fields to Aggregation rows."""

    created_from_ms: int | None = None
    created_to_ms: int | None = None
    state_contains: str | None = None
    aggregation_types: tuple[str, ...] = AGGREGATION_FUNCTIONS
    window_size: int | None = None
    window_end_from_ms: int | None = None
    window_end_to_ms: int | None = None
    descending: bool = False


@dataclass(frozen=True)
class RowPage:
    offset: int
    limit: int


class _Conditions:
    """SQL conditions with their parameters; every value travels as a bound parameter."""

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters
        self._sql: list[str] = []

    def add(self, sql: str, **parameters: Any) -> None:
        self._sql.append(sql)
        self.parameters.update(parameters)

    def add_bounds(self, column: str, name: str, low: int | None, high: int | None) -> None:
        if low is not None:
            self.add(
                f"toUnixTimestamp64Milli({column}) >= {{{name}_from:Int64}}",
                **{f"{name}_from": low},
            )
        if high is not None:
            self.add(
                f"toUnixTimestamp64Milli({column}) <= {{{name}_to:Int64}}", **{f"{name}_to": high}
            )

    @property
    def sql(self) -> str:
        return " AND ".join(self._sql) or "1"


def _state_conditions(selection: RowSelection, parameters: dict[str, Any]) -> _Conditions:
    conditions = _Conditions(parameters)
    conditions.add_bounds(
        "create_datetime", "created", selection.created_from_ms, selection.created_to_ms
    )
    if selection.state_contains:
        conditions.add(
            "positionCaseInsensitiveUTF8(state, {contains:String}) > 0",
            contains=selection.state_contains,
        )
    return conditions


def _order(columns: tuple[str, ...], descending: bool) -> str:
    direction = " DESC" if descending else ""
    return ", ".join(f"{column}{direction}" for column in columns)


def _count(client: Client, sql: str, parameters: dict[str, Any]) -> int:
    return int(
        client.query(f"SELECT count() FROM ({sql})", parameters=parameters).result_rows[0][0]
    )


# --- NRecords ---------------------------------------------------------------------------------

_N_RECORDS_KEY = ("create_datetime", "ingest_id")
_N_RECORDS_COLUMNS = (
    "state, state_type, toUnixTimestamp64Milli(create_datetime) AS created_ms, max_count, size"
)


def _n_records_visible(client: Client, node: str) -> str:
    """The newest N rows of the node, oldest first, as a subquery (N: the newest row's cap)."""
    total, cap = client.query(
        "SELECT count(), argMax(max_count, (create_datetime, ingest_id)) "
        "FROM n_last_entry FINAL WHERE unit_node_uuid = {node:UUID}",
        parameters={"node": node},
    ).result_rows[0]
    skip = max(0, int(total) - int(cap))
    return (
        "SELECT unit_node_uuid, state, state_type, create_datetime, ingest_id, max_count, size "
        "FROM n_last_entry FINAL WHERE unit_node_uuid = {node:UUID} "
        f"ORDER BY {_order(_N_RECORDS_KEY, False)} LIMIT {int(cap)} OFFSET {skip}"
    )


def page_n_records(
    client: Client, node_uuid: str, selection: RowSelection, page: RowPage
) -> tuple[int, list[tuple[int, NRecordsRow]]]:
    """How many visible rows match, and the page of them as (number, row)."""
    node = str(UUID(node_uuid))
    visible = _n_records_visible(client, node)
    conditions = _state_conditions(selection, {"node": node})
    matching = f"SELECT * FROM ({visible}) WHERE {conditions.sql}"
    count = _count(client, matching, conditions.parameters)
    if count <= page.offset or page.limit == 0:
        return count, []
    numbered = (
        f"SELECT *, row_number() OVER (ORDER BY {_order(_N_RECORDS_KEY, False)}) AS number "
        f"FROM ({visible})"
    )
    result = client.query(
        f"SELECT number, {_N_RECORDS_COLUMNS} FROM ({numbered}) WHERE {conditions.sql} "
        f"ORDER BY {_order(_N_RECORDS_KEY, selection.descending)} "
        "LIMIT {limit:UInt64} OFFSET {offset:UInt64}",
        parameters={**conditions.parameters, "limit": page.limit, "offset": page.offset},
    )
    return count, [
        (number, NRecordsRow(node, state, state_type, from_epoch_ms(created_ms), cap, size))
        for number, state, state_type, created_ms, cap, size in result.result_rows
    ]


# --- TimeWindow -------------------------------------------------------------------------------

_TIME_WINDOW_COLUMNS = (
    "state, state_type, toUnixTimestamp64Milli(create_datetime), "
    "toUnixTimestamp(expiration_datetime), size"
)
_TIME_WINDOW_UNEXPIRED = (
    "FROM window_entry FINAL WHERE unit_node_uuid = {node:UUID} "
    "AND toUnixTimestamp(expiration_datetime) * 1000 > {now_ms:Int64}"
)


def _time_window_row(node: str, record: tuple[Any, ...]) -> TimeWindowRow:
    state, state_type, created_ms, expiration_s, size = record
    return TimeWindowRow(
        node, state, state_type, from_epoch_ms(created_ms), from_epoch_ms(expiration_s * 1000), size
    )


def page_time_window(
    client: Client, node_uuid: str, now: datetime, selection: RowSelection, page: RowPage
) -> tuple[int, list[TimeWindowRow]]:
    node = str(UUID(node_uuid))
    conditions = _state_conditions(selection, {"node": node, "now_ms": to_epoch_ms(now)})
    where = f"{_TIME_WINDOW_UNEXPIRED} AND {conditions.sql}"
    count = _count(client, f"SELECT 1 {where}", conditions.parameters)
    if count <= page.offset or page.limit == 0:
        return count, []
    result = client.query(
        f"SELECT {_TIME_WINDOW_COLUMNS} {where} "
        f"ORDER BY {_order(_N_RECORDS_KEY, selection.descending)} "
        "LIMIT {limit:UInt64} OFFSET {offset:UInt64}",
        parameters={**conditions.parameters, "limit": page.limit, "offset": page.offset},
    )
    return count, [_time_window_row(node, record) for record in result.result_rows]


# --- Aggregation ------------------------------------------------------------------------------

_AGGREGATION_COLUMNS = (
    "state, aggregation_type, time_window_size, toUnixTimestamp64Milli(create_datetime), "
    "toUnixTimestamp64Milli(start_window_datetime), toUnixTimestamp64Milli(end_window_datetime)"
)
_AGGREGATION_KEY = ("start_window_datetime", "time_window_size", "aggregation_type")
_AGGREGATION_READ_ORDER = ("create_datetime", *_AGGREGATION_KEY)


def _aggregation_row(node: str, record: tuple[Any, ...]) -> AggregationRow:
    state, function, window_size, created_ms, start_ms, end_ms = record
    return AggregationRow(
        node,
        state,
        function,
        window_size,
        from_epoch_ms(created_ms),
        from_epoch_ms(start_ms),
        from_epoch_ms(end_ms),
    )


def page_aggregations(
    client: Client, node_uuid: str, selection: RowSelection, page: RowPage
) -> tuple[int, list[AggregationRow]]:
    node = str(UUID(node_uuid))
    if selection.window_size is not None and not 0 <= selection.window_size <= UINT32_MAX:
        return 0, []  # no stored window has that size (and ClickHouse would refuse the number)
    conditions = _Conditions({"node": node})
    conditions.add_bounds(
        "create_datetime", "created", selection.created_from_ms, selection.created_to_ms
    )
    conditions.add_bounds(
        "end_window_datetime",
        "window_end",
        selection.window_end_from_ms,
        selection.window_end_to_ms,
    )
    conditions.add(
        "has({functions:Array(String)}, toString(aggregation_type))",
        functions=list(selection.aggregation_types),
    )
    if selection.window_size is not None:
        conditions.add("time_window_size = {window_size:Int64}", window_size=selection.window_size)
    where = (
        f"FROM aggregation_entry FINAL WHERE unit_node_uuid = {{node:UUID}} AND {conditions.sql}"
    )
    count = _count(client, f"SELECT 1 {where}", conditions.parameters)
    if count <= page.offset or page.limit == 0:
        return count, []
    result = client.query(
        f"SELECT {_AGGREGATION_COLUMNS} {where} "
        f"ORDER BY {_order(_AGGREGATION_READ_ORDER, selection.descending)} "
        "LIMIT {limit:UInt64} OFFSET {offset:UInt64}",
        parameters={**conditions.parameters, "limit": page.limit, "offset": page.offset},
    )
    return count, [_aggregation_row(node, record) for record in result.result_rows]


# --- exports ----------------------------------------------------------------------------------

# Times as the CSV writes them, made by ClickHouse (Python datetimes cost microseconds a row).
_CSV_TIME_MS = "concat(toString({column}), '000')"
_CSV_TIME_S = "concat(toString({column}), '.000000')"
_EXPORT_COLUMNS = {
    "n_last_entry": (
        "toString(unit_node_uuid)",
        "state",
        "toString(state_type)",
        _CSV_TIME_MS.format(column="create_datetime"),
        "max_count",
        "size",
    ),
    "window_entry": (
        "toString(unit_node_uuid)",
        "state",
        "toString(state_type)",
        _CSV_TIME_MS.format(column="create_datetime"),
        _CSV_TIME_S.format(column="expiration_datetime"),
        "size",
    ),
    "aggregation_entry": (
        "toString(unit_node_uuid)",
        "state",
        "toString(aggregation_type)",
        "time_window_size",
        _CSV_TIME_MS.format(column="create_datetime"),
        _CSV_TIME_MS.format(column="start_window_datetime"),
        _CSV_TIME_MS.format(column="end_window_datetime"),
    ),
}
"""Per table, the columns of its row type (`rows.py`) in order, times as `%Y-%m-%d %H:%M:%S.%f`
in UTC."""


def export_n_records(client: Client, node_uuid: str) -> Iterator[tuple[Any, ...]]:
    """Every visible row as CSV values (see `_EXPORT_COLUMNS`), oldest first, a block at a time."""
    node = str(UUID(node_uuid))
    columns = ", ".join(_EXPORT_COLUMNS["n_last_entry"])
    visible = _n_records_visible(client, node)
    return _stream(client, f"SELECT {columns} FROM ({visible})", {"node": node})


def export_time_window(client: Client, node_uuid: str, now: datetime) -> Iterator[tuple[Any, ...]]:
    node = str(UUID(node_uuid))
    columns = ", ".join(_EXPORT_COLUMNS["window_entry"])
    sql = f"SELECT {columns} {_TIME_WINDOW_UNEXPIRED} ORDER BY {_order(_N_RECORDS_KEY, False)}"
    return _stream(client, sql, {"node": node, "now_ms": to_epoch_ms(now)})


def export_aggregations(client: Client, node_uuid: str) -> Iterator[tuple[Any, ...]]:
    """Window rows by start (then window size and function)."""
    node = str(UUID(node_uuid))
    columns = ", ".join(_EXPORT_COLUMNS["aggregation_entry"])
    sql = (
        f"SELECT {columns} FROM aggregation_entry FINAL WHERE unit_node_uuid = {{node:UUID}} "
        f"ORDER BY {_order(_AGGREGATION_KEY, False)}"
    )
    return _stream(client, sql, {"node": node})


def _stream(client: Client, sql: str, parameters: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    stream = client.query_row_block_stream(
        sql, parameters=parameters, settings={"max_block_size": STREAM_BLOCK_ROWS}
    )
    with stream:
        for block in stream:
            yield from block
