"""Dashboards that users put together through the API (`/grafana/*`, docs/operations.md#grafana):
panels of a type they choose, each showing the unit nodes linked to it.

A node's target is the one the generated dashboards use for it (`panels.py`): its pipeline
decides the SQL (ClickHouse for NRecords, TimeWindow and Aggregation, the SQL database for
LastValue). A panel whose nodes live in both is a Grafana "Mixed" panel. Each target's series
is named `unit@topic`; `is_forced_to_json` nodes get their JSON values split into fields.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pepeunit_grafana.dashboards import SCHEMA_VERSION
from pepeunit_grafana.datasources import SqlDialect
from pepeunit_grafana.inventory import NodePipeline
from pepeunit_grafana.layout import GRID_COLUMNS, panel_ids
from pepeunit_grafana.panels import PanelKind, clickhouse_target, panel_kind, sql_target

PANEL_HEIGHT = 8
REFRESH = "1m"
TIME_RANGE = {"from": "now-30d", "to": "now"}
DESCRIPTION = (
    "A Pepeunit dashboard made through the API; a sync replaces the changes made in Grafana."
)
MIXED_DATASOURCE = {"type": "datasource", "uid": "-- Mixed --"}

# What Grafana fills into `fieldConfig.defaults.custom` for the panel types that have one.
_CUSTOM_DEFAULTS: dict[str, dict[str, Any]] = {
    "barchart": {"fillOpacity": 80, "gradientMode": "none", "lineWidth": 1},
    "candlestick": {},
    "heatmap": {},
    "histogram": {"fillOpacity": 80, "gradientMode": "none", "lineWidth": 1},
    "piechart": {},
    "state-timeline": {"fillOpacity": 70, "lineWidth": 0},
    "status-history": {"fillOpacity": 70, "lineWidth": 1},
    "table": {"align": "auto", "inspect": False},
    "timeseries": {},
    "trend": {},
    "xychart": {"fillOpacity": 50, "show": "points"},
}


@dataclass(frozen=True, slots=True)
class PanelNode:
    node: NodePipeline
    label: str
    """`unit@topic`, the name of the node's series."""
    is_forced_to_json: bool = False


@dataclass(frozen=True, slots=True)
class UserPanel:
    uuid: UUID
    title: str
    type: str
    """A Grafana panel type id (`timeseries`, `gauge`, …)."""
    nodes: tuple[PanelNode, ...]


@dataclass(frozen=True, slots=True)
class UserDashboard:
    uid: str
    title: str
    panels: tuple[UserPanel, ...]


def ref_id(index: int) -> str:
    """A, B, …, Z, AA, AB, …"""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def node_target(node: NodePipeline, dialect: SqlDialect, ref: str) -> dict[str, Any]:
    kind = panel_kind(node.config)
    target = sql_target(node, dialect) if kind is PanelKind.STAT else clickhouse_target(node, kind)
    return {**target, "refId": ref}


def _panel_datasource(targets: list[dict[str, Any]]) -> dict[str, str]:
    sources = {(target["datasource"]["type"], target["datasource"]["uid"]) for target in targets}
    if len(sources) == 1:
        return dict(targets[0]["datasource"])
    return dict(MIXED_DATASOURCE)


def _series_name(ref: str, label: str) -> dict[str, Any]:
    return {
        "matcher": {"id": "byFrameRefID", "options": ref},
        "properties": [{"id": "displayName", "value": label}],
    }


def _json_fields(ref: str) -> dict[str, Any]:
    """The JSON object in `value` becomes a field per key (the time column stays)."""
    return {
        "filter": {"id": "byRefId", "options": ref},
        "id": "extractFields",
        "options": {"format": "json", "keepTime": True, "replace": True, "source": "value"},
    }


def build_user_panel(
    panel: UserPanel, dialect: SqlDialect, panel_id: int, y: int
) -> dict[str, Any]:
    refs = [ref_id(index) for index in range(len(panel.nodes))]
    targets = [
        node_target(linked.node, dialect, ref)
        for linked, ref in zip(panel.nodes, refs, strict=True)
    ]
    defaults: dict[str, Any] = {}
    if panel.type in _CUSTOM_DEFAULTS:
        defaults["custom"] = dict(_CUSTOM_DEFAULTS[panel.type])
    document: dict[str, Any] = {
        "datasource": _panel_datasource(targets) if targets else None,
        "fieldConfig": {
            "defaults": defaults,
            "overrides": [
                _series_name(ref, linked.label)
                for linked, ref in zip(panel.nodes, refs, strict=True)
            ],
        },
        "gridPos": {"h": PANEL_HEIGHT, "w": GRID_COLUMNS, "x": 0, "y": y},
        "id": panel_id,
        "repeatDirection": "h",
        "targets": targets,
        "title": panel.title,
        "transparent": False,
        "type": panel.type,
    }
    if document["datasource"] is None:
        del document["datasource"]
    transformations = [
        _json_fields(ref)
        for linked, ref in zip(panel.nodes, refs, strict=True)
        if linked.is_forced_to_json
    ]
    if transformations:
        document["transformations"] = transformations
    return document


def build_user_dashboard(dashboard: UserDashboard, dialect: SqlDialect) -> dict[str, Any]:
    """Panels one under the other, full width, in the given order; a panel's id comes from
    its uuid, so links to it survive other panels coming and going."""
    ids = panel_ids([panel.uuid for panel in dashboard.panels])
    panels = [
        build_user_panel(panel, dialect, panel_id, index * PANEL_HEIGHT)
        for index, (panel, panel_id) in enumerate(zip(dashboard.panels, ids, strict=True))
    ]
    return {
        "annotations": {"list": []},
        "description": DESCRIPTION,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "panels": panels,
        "refresh": REFRESH,
        "schemaVersion": SCHEMA_VERSION,
        "tags": [dashboard.title],
        "templating": {"list": []},
        "time": dict(TIME_RANGE),
        "timezone": "browser",
        "title": dashboard.title,
        "uid": dashboard.uid,
    }
