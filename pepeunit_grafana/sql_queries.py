"""SQL of the LastValue panels: the node row of `units_nodes` (`state`, `last_update_datetime`),
on PostgreSQL or SQLite.

Both return `time` and `value`. SQLite keeps uuids as 32 hex digits and datetimes as UTC text,
so its `time` is rewritten as RFC 3339, which the SQLite plugin reads as a time column.
"""

from uuid import UUID

from pepeunit_grafana.datasources import SqlDialect
from pipelines.config import PipelineConfig, TypeInputValue

# A plain decimal, the only text PostgreSQL's CAST reads as a number without failing the query.
_POSTGRES_DECIMAL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _postgres_value(config: PipelineConfig) -> str:
    if config.filters.type_input_value is TypeInputValue.TEXT:
        return "state"
    return f"CASE WHEN state ~ '{_POSTGRES_DECIMAL}' THEN CAST(state AS DOUBLE PRECISION) END"


def _sqlite_value(config: PipelineConfig) -> str:
    if config.filters.type_input_value is TypeInputValue.TEXT:
        return "state"
    return "CAST(state AS REAL)"


def last_value_query(node_uuid: UUID, config: PipelineConfig, dialect: SqlDialect) -> str:
    if dialect is SqlDialect.SQLITE:
        return f"""\
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', last_update_datetime) AS time,
    {_sqlite_value(config)} AS value
FROM units_nodes
WHERE uuid = '{node_uuid.hex}' AND state IS NOT NULL"""
    return f"""\
SELECT last_update_datetime AS time, {_postgres_value(config)} AS value
FROM units_nodes
WHERE uuid = '{node_uuid}' AND state IS NOT NULL"""
