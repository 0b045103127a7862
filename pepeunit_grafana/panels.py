"""One Grafana panel per pipeline node, its type chosen by the pipeline's policy:

- Aggregation, TimeWindow and NRecords of numbers: a time series (ClickHouse);
- TimeWindow and NRecords of text: a table, newest first (ClickHouse);
- LastValue: a stat of the node's current value (the SQL database).

Panels are complete: every option Grafana would otherwise fill in with a default is written
out, so a dashboard read and saved again by Grafana's own models is unchanged.
"""

from enum import StrEnum
from typing import Any

from pepeunit_grafana.clickhouse_queries import clickhouse_query
from pepeunit_grafana.datasources import SqlDialect, clickhouse_ref, sql_ref
from pepeunit_grafana.inventory import NodePipeline
from pepeunit_grafana.sql_queries import last_value_query
from pipelines.config import PipelineConfig, PolicyType, TypeInputValue

REF_ID = "A"
CLICKHOUSE_TIME_SERIES_FORMAT = 0
CLICKHOUSE_TABLE_FORMAT = 1


class PanelKind(StrEnum):
    TIME_SERIES = "timeseries"
    TABLE = "table"
    STAT = "stat"


def panel_kind(config: PipelineConfig) -> PanelKind:
    policy = config.processing_policy.policy_type
    if policy is PolicyType.LAST_VALUE:
        return PanelKind.STAT
    if config.filters.type_input_value is TypeInputValue.TEXT:
        return PanelKind.TABLE
    return PanelKind.TIME_SERIES


def panel_title(unit_name: str, topic_name: str) -> str:
    return f"{unit_name}@{topic_name}"


def describe(config: PipelineConfig) -> str:
    """What the panel shows, in the words of the pipeline."""
    policy = config.processing_policy
    kind = config.filters.type_input_value.value
    match policy.policy_type:
        case PolicyType.LAST_VALUE:
            return f"LastValue ({kind}): the current value, from units_nodes.state."
        case PolicyType.N_RECORDS:
            return f"NRecords ({kind}): the newest {policy.n_records_count} values."
        case PolicyType.TIME_WINDOW:
            return f"TimeWindow ({kind}): the values of the last {policy.time_window_size} s."
        case PolicyType.AGGREGATION:
            function = policy.aggregation_functions
            assert function is not None
            return (
                f"Aggregation: {function.value} per {policy.time_window_size} s window, "
                "at the window's end."
            )
    raise ValueError(f"unknown policy {policy.policy_type}")


def clickhouse_target(node: NodePipeline, kind: PanelKind) -> dict[str, Any]:
    table = kind is PanelKind.TABLE
    return {
        "datasource": clickhouse_ref(),
        "editorType": "sql",
        "format": CLICKHOUSE_TABLE_FORMAT if table else CLICKHOUSE_TIME_SERIES_FORMAT,
        "queryType": "table" if table else "timeSeries",
        "rawSql": clickhouse_query(node.node_uuid, node.config),
        "refId": REF_ID,
    }


def sql_target(node: NodePipeline, dialect: SqlDialect) -> dict[str, Any]:
    sql = last_value_query(node.node_uuid, node.config, dialect)
    if dialect is SqlDialect.SQLITE:
        return {
            "datasource": sql_ref(dialect),
            "queryText": sql,
            "queryType": "table",
            "rawQueryText": sql,
            "refId": REF_ID,
            "timeColumns": ["time"],
        }
    return {
        "datasource": sql_ref(dialect),
        "editorMode": "code",
        "format": "table",
        "rawQuery": True,
        "rawSql": sql,
        "refId": REF_ID,
    }


def _time_series_parts() -> tuple[dict[str, Any], dict[str, Any]]:
    options = {
        "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": False},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    custom = {"drawStyle": "line", "lineWidth": 1, "showPoints": "auto", "spanNulls": False}
    return options, {"defaults": {"custom": custom}, "overrides": []}


def _table_parts() -> tuple[dict[str, Any], dict[str, Any]]:
    options = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "reducer": [], "show": False},
        "frameIndex": 0,
        "showHeader": True,
        "showTypeIcons": False,
        "sortBy": [{"desc": True, "displayName": "time"}],
    }
    custom = {"align": "auto", "inspect": False}
    return options, {"defaults": {"custom": custom}, "overrides": []}


def _stat_parts() -> tuple[dict[str, Any], dict[str, Any]]:
    options = {
        "colorMode": "none",
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "percentChangeColorMode": "standard",
        # The value column, text or number; the time column is only the moment it was stored.
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "/^value$/", "values": False},
        "showPercentChange": False,
        "textMode": "value",
        "wideLayout": True,
    }
    return options, {"defaults": {}, "overrides": []}


_PARTS = {
    PanelKind.TIME_SERIES: _time_series_parts,
    PanelKind.TABLE: _table_parts,
    PanelKind.STAT: _stat_parts,
}


def build_panel(
    unit_name: str,
    node: NodePipeline,
    dialect: SqlDialect,
    panel_id: int,
    grid_pos: dict[str, int],
) -> dict[str, Any]:
    kind = panel_kind(node.config)
    options, field_config = _PARTS[kind]()
    if kind is PanelKind.STAT:
        datasource, target = sql_ref(dialect), sql_target(node, dialect)
    else:
        datasource, target = clickhouse_ref(), clickhouse_target(node, kind)
    return {
        "datasource": datasource,
        "description": describe(node.config),
        "fieldConfig": field_config,
        "gridPos": grid_pos,
        "id": panel_id,
        "options": options,
        "repeatDirection": "h",
        "targets": [target],
        "title": panel_title(unit_name, node.topic_name),
        "transparent": False,
        "type": kind.value,
    }
