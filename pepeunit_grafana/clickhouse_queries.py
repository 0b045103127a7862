"""ClickHouse SQL of the panels, with the time-range macros of the Grafana ClickHouse plugin.

Every query returns `time` (a DateTime64 column) first and `value` second, and reads what
`pepeunit_core.stored_data.reads` reads: FINAL (a replayed row counts once), NRecords only the
newest N (N of the node's newest row, counted before the time filter), TimeWindow only rows not
yet expired at the moment of the query. Numbers are parsed from the stored text; a value that is not
a plain decimal becomes NULL (a gap) instead of failing the panel.
"""

from uuid import UUID

from pipelines.config import (
    AggregationFunction,
    PipelineConfig,
    PolicyType,
    TypeInputValue,
)


def _is_text(config: PipelineConfig) -> bool:
    return config.filters.type_input_value is TypeInputValue.TEXT


def _value(config: PipelineConfig) -> str:
    return "state" if _is_text(config) else "toFloat64OrNull(state)"


def _order(config: PipelineConfig) -> str:
    """Time series run oldest first; tables of text show the newest first."""
    if _is_text(config):
        return "create_datetime DESC, ingest_id DESC"
    return "create_datetime, ingest_id"


def _node(node_uuid: UUID) -> str:
    return f"toUUID('{node_uuid}')"


def n_records_query(node_uuid: UUID, config: PipelineConfig) -> str:
    return f"""\
SELECT create_datetime AS time, {_value(config)} AS value
FROM (
    SELECT create_datetime, ingest_id, state,
        row_number() OVER newest_first AS newest_rank,
        first_value(max_count) OVER newest_first AS cap
    FROM n_last_entry FINAL
    WHERE unit_node_uuid = {_node(node_uuid)}
    WINDOW newest_first AS (
        ORDER BY create_datetime DESC, ingest_id DESC
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )
)
WHERE newest_rank <= cap AND $__timeFilter_ms(create_datetime)
ORDER BY {_order(config)}"""


def time_window_query(node_uuid: UUID, config: PipelineConfig) -> str:
    return f"""\
SELECT create_datetime AS time, {_value(config)} AS value
FROM window_entry FINAL
WHERE unit_node_uuid = {_node(node_uuid)}
    AND expiration_datetime > now()
    AND $__timeFilter_ms(create_datetime)
ORDER BY {_order(config)}"""


def aggregation_query(node_uuid: UUID, window_size: int, function: AggregationFunction) -> str:
    """Only the windows of the pipeline's current size and function: rows left by an earlier
    config of the node would mix different quantities in one line."""
    return f"""\
SELECT end_window_datetime AS time, state AS value
FROM aggregation_entry FINAL
WHERE unit_node_uuid = {_node(node_uuid)}
    AND aggregation_type = '{function.value}'
    AND time_window_size = {window_size}
    AND $__timeFilter_ms(end_window_datetime)
ORDER BY end_window_datetime"""


def clickhouse_query(node_uuid: UUID, config: PipelineConfig) -> str:
    """The panel SQL of a NRecords, TimeWindow or Aggregation pipeline."""
    policy = config.processing_policy
    match policy.policy_type:
        case PolicyType.N_RECORDS:
            return n_records_query(node_uuid, config)
        case PolicyType.TIME_WINDOW:
            return time_window_query(node_uuid, config)
        case PolicyType.AGGREGATION:
            assert policy.time_window_size is not None
            assert policy.aggregation_functions is not None
            return aggregation_query(
                node_uuid, policy.time_window_size, policy.aggregation_functions
            )
    raise ValueError(f"{policy.policy_type} pipelines are not stored in ClickHouse")
