"""`POST /grafana/sync_dashboard` (docs/operations.md#grafana): a user's dashboard as Grafana JSON,
built by the dashboard generator from the pipelines of its nodes, saved through Grafana's HTTP API
(`PU_GRAFANA_URL`, `PU_GRAFANA_TOKEN`), overwriting what is there.

The dashboard must have a panel and every linked node an active, readable pipeline (else 422,
nothing recorded). Whether Grafana took it is recorded on the dashboard (sync status, error,
url and version), not raised: an unreachable or unconfigured Grafana is an Error status.
"""

from typing import Any
from urllib.parse import urljoin
from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.services.dashboards.dashboards import (
    GrafanaError,
    PanelWithNodes,
    own_dashboard,
    panels_with_nodes,
)
from pepeunit_core.db.enums import DashboardSyncStatus
from pepeunit_core.db.models import Dashboard, User
from pepeunit_core.db.types import utc_now
from pepeunit_core.pipeline_store import StoredConfigError, config_from_stored
from pepeunit_core.settings import Settings
from pepeunit_grafana import (
    GeneratedDashboard,
    GrafanaPushError,
    NodePipeline,
    push_dashboards,
    sql_dialect_of_url,
)
from pepeunit_grafana.user_dashboards import (
    PanelNode,
    UserDashboard,
    UserPanel,
    build_user_dashboard,
)

NOT_CONFIGURED = "PU_GRAFANA_URL and PU_GRAFANA_TOKEN are not set: nothing was sent to Grafana"


def _panel(found: PanelWithNodes) -> UserPanel:
    nodes = []
    for item in found.links:
        node = item.node
        if not node.is_data_pipe_active or not node.data_pipe_yml:
            raise GrafanaError(f"{item.label} has no active pipeline")
        try:
            config = config_from_stored(node.data_pipe_yml)
        except StoredConfigError as error:
            raise GrafanaError(f"{item.label}: {error}") from error
        nodes.append(
            PanelNode(
                NodePipeline(node.uuid, node.topic_name, config),
                item.label,
                item.link.is_forced_to_json,
            )
        )
    panel = found.panel
    return UserPanel(panel.uuid, panel.title, panel.type, tuple(nodes))


def dashboard_document(
    session: Session, settings: Settings, dashboard: Dashboard
) -> dict[str, Any]:
    panels = panels_with_nodes(session, dashboard)
    if not panels:
        raise GrafanaError("The dashboard has no panels")
    described = UserDashboard(
        str(dashboard.grafana_uuid), dashboard.name, tuple(_panel(found) for found in panels)
    )
    return build_user_dashboard(described, sql_dialect_of_url(settings.resolved_sqlalchemy_url))


def sync_dashboard(session: Session, settings: Settings, user: User, uuid: UUID) -> Dashboard:
    dashboard = own_dashboard(session, user, uuid)
    document = dashboard_document(session, settings, dashboard)
    dashboard.sync_status = DashboardSyncStatus.PROCESSING
    dashboard.sync_error = None
    session.commit()
    grafana_url, token = settings.grafana_url, settings.grafana_token
    if not (grafana_url and token):
        return _record(session, dashboard, DashboardSyncStatus.ERROR, NOT_CONFIGURED)
    generated = GeneratedDashboard(
        dashboard.uuid, dashboard.name, document["uid"], f"{document['uid']}.json", document
    )
    try:
        (pushed,) = push_dashboards(grafana_url, token, [generated])
    except GrafanaPushError as error:
        return _record(session, dashboard, DashboardSyncStatus.ERROR, str(error))
    # Grafana answers a path (/d/<uid>/<slug>); the link is on PU_GRAFANA_URL's host.
    base = grafana_url.rstrip("/") + "/"
    dashboard.dashboard_url = urljoin(base, pushed.url) if pushed.url else None
    dashboard.inc_last_version = pushed.version
    return _record(session, dashboard, DashboardSyncStatus.SUCCESS, None)


def _record(
    session: Session, dashboard: Dashboard, status: DashboardSyncStatus, error: str | None
) -> Dashboard:
    dashboard.sync_status = status
    dashboard.sync_error = error
    dashboard.sync_last_datetime = utc_now()
    session.commit()
    return dashboard
