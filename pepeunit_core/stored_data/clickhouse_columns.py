"""Pipeline rows as column-oriented INSERT data for the ClickHouse tables.

Datetimes go in as integers (epoch milliseconds for `DateTime64(3)`, seconds for `DateTime`):
exact, faster than letting the driver convert, and independent of any client or server zone.
"""

from collections.abc import Callable, Sequence

from pepeunit_core.stored_data.rows import IngestedRow, UnitLogRow
from pipelines.clock import to_epoch_ms
from pipelines.rows import AggregationRow, NRecordsRow, TimeWindowRow

Columns = list[list[object]]

N_RECORDS_COLUMNS = (
    "unit_node_uuid",
    "state",
    "state_type",
    "create_datetime",
    "max_count",
    "size",
    "ingest_id",
)
TIME_WINDOW_COLUMNS = (
    "unit_node_uuid",
    "state",
    "state_type",
    "create_datetime",
    "expiration_datetime",
    "size",
    "ingest_id",
)
AGGREGATION_COLUMNS = (
    "unit_node_uuid",
    "state",
    "aggregation_type",
    "time_window_size",
    "create_datetime",
    "start_window_datetime",
    "end_window_datetime",
)
UNIT_LOG_COLUMNS = (
    "uuid",
    "level",
    "unit_uuid",
    "text",
    "create_datetime",
    "expiration_datetime",
)
COLUMNS_BY_TABLE: dict[str, tuple[str, ...]] = {
    NRecordsRow.table: N_RECORDS_COLUMNS,
    TimeWindowRow.table: TIME_WINDOW_COLUMNS,
    AggregationRow.table: AGGREGATION_COLUMNS,
    UnitLogRow.table: UNIT_LOG_COLUMNS,
}


def _n_records(items: Sequence[IngestedRow]) -> Columns:
    rows: list[NRecordsRow] = [item.row for item in items]  # type: ignore[misc]
    return [
        [row.unit_node_uuid for row in rows],
        [row.state for row in rows],
        [row.state_type for row in rows],
        [to_epoch_ms(row.create_datetime) for row in rows],
        [row.max_count for row in rows],
        [row.size for row in rows],
        [item.ingest_id for item in items],
    ]


def _time_window(items: Sequence[IngestedRow]) -> Columns:
    rows: list[TimeWindowRow] = [item.row for item in items]  # type: ignore[misc]
    return [
        [row.unit_node_uuid for row in rows],
        [row.state for row in rows],
        [row.state_type for row in rows],
        [to_epoch_ms(row.create_datetime) for row in rows],
        [to_epoch_ms(row.expiration_datetime) // 1000 for row in rows],
        [row.size for row in rows],
        [item.ingest_id for item in items],
    ]


def _aggregation(items: Sequence[IngestedRow]) -> Columns:
    rows: list[AggregationRow] = [item.row for item in items]  # type: ignore[misc]
    return [
        [row.unit_node_uuid for row in rows],
        [row.state for row in rows],
        [row.aggregation_type for row in rows],
        [row.time_window_size for row in rows],
        [to_epoch_ms(row.create_datetime) for row in rows],
        [to_epoch_ms(row.start_window_datetime) for row in rows],
        [to_epoch_ms(row.end_window_datetime) for row in rows],
    ]


def _unit_logs(items: Sequence[IngestedRow]) -> Columns:
    rows: list[UnitLogRow] = [item.row for item in items]  # type: ignore[misc]
    return [
        [row.uuid for row in rows],
        [row.level for row in rows],
        [row.unit_uuid for row in rows],
        [row.text for row in rows],
        [to_epoch_ms(row.create_datetime) for row in rows],
        [to_epoch_ms(row.expiration_datetime) // 1000 for row in rows],
    ]


_BUILDERS: dict[type, Callable[[Sequence[IngestedRow]], Columns]] = {
    NRecordsRow: _n_records,
    TimeWindowRow: _time_window,
    AggregationRow: _aggregation,
    UnitLogRow: _unit_logs,
}


def columns_by_table(rows: Sequence[IngestedRow]) -> dict[str, Columns]:
    """Each table's INSERT data, columns in `COLUMNS_BY_TABLE` order, built a column at a time
    (a batch usually holds one table's rows).

    Raises TypeError for LastValue and unit state rows: those belong to SQL rows.
    """
    by_kind: dict[type, list[IngestedRow]] = {}
    for ingested in rows:
        kind = type(ingested.row)
        found = by_kind.get(kind)
        if found is None:
            if kind not in _BUILDERS:
                raise TypeError(f"{kind.__name__} is not stored in ClickHouse")
            by_kind[kind] = [ingested]
        else:
            found.append(ingested)
    return {kind.table: _BUILDERS[kind](items) for kind, items in by_kind.items()}  # type: ignore[attr-defined]
