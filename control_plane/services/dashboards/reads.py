"""Panels and their unit nodes as the API shows them (REST and GraphQL alike)."""

from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.models.dashboard import (
    DashboardPanelRead,
    DashboardPanelsResult,
    UnitNodeForPanel,
)
from control_plane.models.unit_node import UnitNodeRead
from control_plane.services.dashboards import dashboards
from control_plane.services.dashboards.dashboards import PanelNodeLink, PanelWithNodes
from pepeunit_core.db.models import User


def node_for_panel(item: PanelNodeLink) -> UnitNodeForPanel:
    return UnitNodeForPanel(
        unit_node=UnitNodeRead.model_validate(item.node),
        is_last_data=item.link.is_last_data,
        is_forced_to_json=item.link.is_forced_to_json,
        unit_with_unit_node_name=item.label,
    )


def panel_read(found: PanelWithNodes) -> DashboardPanelRead:
    panel = found.panel
    return DashboardPanelRead.model_validate(
        {
            "uuid": panel.uuid,
            "type": panel.type,
            "title": panel.title,
            "create_datetime": panel.create_datetime,
            "creator_uuid": panel.creator_uuid,
            "dashboard_uuid": panel.dashboard_uuid,
            "unit_nodes_for_panel": [node_for_panel(item) for item in found.links],
        }
    )


def dashboard_panels(session: Session, user: User, uuid: UUID) -> DashboardPanelsResult:
    """The panels of `user`'s dashboard, oldest first, with their nodes."""
    dashboard = dashboards.own_dashboard(session, user, uuid)
    panels = [panel_read(found) for found in dashboards.panels_with_nodes(session, dashboard)]
    return DashboardPanelsResult(count=len(panels), panels=panels)
