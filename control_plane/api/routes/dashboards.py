"""`/grafana`: users' dashboards, panels and the unit nodes on them, and their sync to Grafana
(docs/operations.md#grafana). Everything is the creator's; the OIDC bridge and the per-user Grafana
orgs of the reference are left out (dashboards query the provisioned data sources)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from control_plane.api.deps import CurrentUser, SessionDep, SettingsDep
from control_plane.api.pagination import PageDep
from control_plane.models.dashboard import (
    DashboardCreate,
    DashboardFilter,
    DashboardPanelCreate,
    DashboardPanelRead,
    DashboardPanelsResult,
    DashboardRead,
    DashboardsResult,
    LinkUnitNodeToPanel,
    UnitNodeForPanel,
)
from control_plane.services.dashboards import dashboards
from control_plane.services.dashboards import sync as dashboard_sync
from control_plane.services.dashboards.dashboards import PanelWithNodes
from control_plane.services.dashboards.reads import dashboard_panels, node_for_panel, panel_read

router = APIRouter(prefix="/grafana", tags=["grafana"])


@router.post("/create_dashboard", status_code=status.HTTP_201_CREATED)
def create_dashboard(
    data: DashboardCreate, user: CurrentUser, session: SessionDep
) -> DashboardRead:
    return DashboardRead.model_validate(dashboards.create_dashboard(session, user, data))


@router.post("/create_dashboard_panel", status_code=status.HTTP_201_CREATED)
def create_dashboard_panel(
    data: DashboardPanelCreate, user: CurrentUser, session: SessionDep
) -> DashboardPanelRead:
    return panel_read(PanelWithNodes(dashboards.create_panel(session, user, data), []))


@router.post("/link_unit_node_to_panel", status_code=status.HTTP_201_CREATED)
def link_unit_node_to_panel(
    data: LinkUnitNodeToPanel, user: CurrentUser, settings: SettingsDep, session: SessionDep
) -> UnitNodeForPanel:
    """Puts a node on a panel; the caller must have created both."""
    return node_for_panel(dashboards.link_node(session, settings, user, data))


@router.get("/get_dashboard/{uuid}")
def get_dashboard(uuid: UUID, user: CurrentUser, session: SessionDep) -> DashboardRead:
    return DashboardRead.model_validate(dashboards.own_dashboard(session, user, uuid))


@router.get("/get_dashboards")
def get_dashboards(
    filters: Annotated[DashboardFilter, Query()],
    page: PageDep,
    user: CurrentUser,
    session: SessionDep,
) -> DashboardsResult:
    """The caller's own dashboards."""
    count, rows = dashboards.list_dashboards(session, user, filters, page)
    return DashboardsResult(
        count=count, dashboards=[DashboardRead.model_validate(row) for row in rows]
    )


@router.get("/get_dashboard_panels/{uuid}")
def get_dashboard_panels(
    uuid: UUID, user: CurrentUser, session: SessionDep
) -> DashboardPanelsResult:
    return dashboard_panels(session, user, uuid)


@router.post("/sync_dashboard")
def sync_dashboard(
    uuid: UUID, user: CurrentUser, settings: SettingsDep, session: SessionDep
) -> DashboardRead:
    """Saves the dashboard in Grafana (PU_GRAFANA_URL), replacing what is there; the outcome
    is in `sync_status` / `sync_error`, and `dashboard_url` links to it."""
    return DashboardRead.model_validate(
        dashboard_sync.sync_dashboard(session, settings, user, uuid)
    )


@router.delete("/delete_dashboard/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dashboard(uuid: UUID, user: CurrentUser, session: SessionDep) -> None:
    """Forgets the dashboard here; Grafana keeps its copy."""
    dashboards.delete_dashboard(session, user, uuid)


@router.delete("/delete_panel/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_panel(uuid: UUID, user: CurrentUser, session: SessionDep) -> None:
    dashboards.delete_panel(session, user, uuid)


@router.delete("/delete_link/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_link(
    uuid: str,
    unit_node_uuid: UUID,
    dashboard_panel_uuid: UUID,
    user: CurrentUser,
    session: SessionDep,
) -> None:
    """Takes the node off the panel; the path segment is ignored, as in the reference."""
    dashboards.delete_link(session, user, unit_node_uuid, dashboard_panel_uuid)
