"""Pipeline rows as column-oriented INSERT data for the ClickHouse tables.

Datetimes go in as integers (epoch milliseconds for `DateTime64(3)`, seconds for `DateTime`):
exact, faster than letting the driver convert, and independent of any client or server zone.
"""

from collections.abc import Sequence

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


def _empty(table: str) -> Columns:
    return [[] for _ in COLUMNS_BY_TABLE[table]]


def _add_n_records(columns: Columns, row: NRecordsRow, ingest_id: int) -> None:
    node, state, state_type, created, max_count, size, ingest = columns
    node.append(row.unit_node_uuid)
    state.append(row.state)
    state_type.append(row.state_type)
    created.append(to_epoch_ms(row.create_datetime))
    max_count.append(row.max_count)
    size.append(row.size)
    ingest.append(ingest_id)


def _add_time_window(columns: Columns, row: TimeWindowRow, ingest_id: int) -> None:
    node, state, state_type, created, expiration, size, ingest = columns
    node.append(row.unit_node_uuid)
    state.append(row.state)
    state_type.append(row.state_type)
    created.append(to_epoch_ms(row.create_datetime))
    expiration.append(to_epoch_ms(row.expiration_datetime) // 1000)
    size.append(row.size)
    ingest.append(ingest_id)


def _add_aggregation(columns: Columns, row: AggregationRow) -> None:
    node, state, function, window_size, created, start, end = columns
    node.append(row.unit_node_uuid)
    state.append(row.state)
    function.append(row.aggregation_type)
    window_size.append(row.time_window_size)
    created.append(to_epoch_ms(row.create_datetime))
    start.append(to_epoch_ms(row.start_window_datetime))
    end.append(to_epoch_ms(row.end_window_datetime))


def _add_unit_log(columns: Columns, row: UnitLogRow) -> None:
    entry, level, unit, text, created, expiration = columns
    entry.append(row.uuid)
    level.append(row.level)
    unit.append(row.unit_uuid)
    text.append(row.text)
    created.append(to_epoch_ms(row.create_datetime))
    expiration.append(to_epoch_ms(row.expiration_datetime) // 1000)


def columns_by_table(rows: Sequence[IngestedRow]) -> dict[str, Columns]:
    """Each table's INSERT data, columns in `COLUMNS_BY_TABLE` order.

    Raises TypeError for LastValue and unit state rows: those belong to SQL rows.
    """
    tables: dict[str, Columns] = {}
    for ingested in rows:
        row = ingested.row
        columns = tables.get(row.table)
        if columns is None:
            if row.table not in COLUMNS_BY_TABLE:
                raise TypeError(f"{type(row).__name__} is not stored in ClickHouse")
            columns = tables[row.table] = _empty(row.table)
        match row:
            case NRecordsRow():
                _add_n_records(columns, row, ingested.ingest_id)
            case TimeWindowRow():
                _add_time_window(columns, row, ingested.ingest_id)
            case AggregationRow():
                _add_aggregation(columns, row)
            case UnitLogRow():
                _add_unit_log(columns, row)
    return tables
