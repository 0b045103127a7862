"""Dashboard API schemas (docs/operations.md#grafana), with the reference's names."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pepeunit_core.db.enums import DashboardSyncStatus

from .common import EntityName, OrderByDate, SearchString
from .unit_node import UnitNodeRead


class DashboardPanelType(StrEnum):
    """Grafana panel type ids a panel may have (the reference's list)."""

    TIMESERIES = "timeseries"
    BARCHART = "barchart"
    STAT = "stat"
    GAUGE = "gauge"
    BARGAUGE = "bargauge"
    TABLE = "table"
    PIECHART = "piechart"
    STATE_TIMELINE = "state-timeline"
    HEATMAP = "heatmap"
    STATUS_HISTORY = "status-history"
    HISTOGRAM = "histogram"
    TEXT = "text"
    ALERTLIST = "alertlist"
    DASHLIST = "dashlist"
    NEWS = "news"
    ANNOLIST = "annolist"
    CANDLESTICK = "candlestick"
    CANVAS = "canvas"
    FLAMEGRAPH = "flamegraph"
    GEOMAP = "geomap"
    LOGS = "logs"
    HOURLY_HEATMAP = "marcusolsson-hourly-heatmap-panel"
    NODE_GRAPH = "nodeGraph"
    TRACES = "traces"
    TREND = "trend"
    XYCHART = "xychart"


class DashboardCreate(BaseModel):
    name: EntityName


class DashboardPanelCreate(BaseModel):
    dashboard_uuid: UUID
    title: EntityName
    type: DashboardPanelType


class LinkUnitNodeToPanel(BaseModel):
    unit_node_uuid: UUID
    dashboard_panels_uuid: UUID
    is_last_data: bool = Field(
        default=False, description="Stored, as in the reference; it changes nothing shown."
    )
    is_forced_to_json: bool = Field(
        default=False, description="Values are JSON objects: shown as a field per key."
    )


class DashboardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    uuid: UUID
    grafana_uuid: UUID
    name: str
    create_datetime: datetime
    dashboard_url: str | None
    inc_last_version: int | None
    sync_status: DashboardSyncStatus | None
    sync_error: str | None
    sync_last_datetime: datetime | None
    creator_uuid: UUID | None


class DashboardsResult(BaseModel):
    count: int
    dashboards: list[DashboardRead]


class UnitNodeForPanel(BaseModel):
    unit_node: UnitNodeRead
    is_last_data: bool
    is_forced_to_json: bool
    unit_with_unit_node_name: str
    """`<unit name>@<topic name>`."""


class DashboardPanelRead(BaseModel):
    uuid: UUID
    type: DashboardPanelType
    title: str
    create_datetime: datetime
    creator_uuid: UUID | None
    dashboard_uuid: UUID
    unit_nodes_for_panel: list[UnitNodeForPanel]


class DashboardPanelsResult(BaseModel):
    count: int
    panels: list[DashboardPanelRead]


class DashboardFilter(BaseModel):
    """Query filters of `GET /grafana/get_dashboards`."""

    search_string: SearchString | None = Field(default=None, description="Matched on the name.")
    order_by_create_date: OrderByDate = OrderByDate.DESC
