"""Users' dashboards, their panels and the unit nodes linked to panels (docs/operations.md#grafana).

Everything is the creator's alone, listing included; linking a node also needs the node's
creator. A panel shows at most `PU_GRAFANA_LIMIT_UNIT_NODE_PER_ONE_PANEL` nodes, each once.
Deleting a dashboard here leaves Grafana's copy alone, as in the reference.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Select, asc, desc, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.models.common import OrderByDate
from control_plane.models.dashboard import (
    DashboardCreate,
    DashboardFilter,
    DashboardPanelCreate,
    LinkUnitNodeToPanel,
)
from control_plane.services.errors import GrafanaError, NoAccessError, NotFoundError
from control_plane.services.paging import Page, paginate
from pepeunit_core.db.models import Dashboard, DashboardPanel, PanelUnitNode, Unit, UnitNode, User
from pepeunit_core.settings import Settings


@dataclass(frozen=True)
class PanelNodeLink:
    link: PanelUnitNode
    node: UnitNode
    unit_name: str

    @property
    def label(self) -> str:
        return f"{self.unit_name}@{self.node.topic_name}"


@dataclass(frozen=True)
class PanelWithNodes:
    panel: DashboardPanel
    links: list[PanelNodeLink]


def create_dashboard(session: Session, user: User, data: DashboardCreate) -> Dashboard:
    dashboard = Dashboard(name=data.name, creator_uuid=user.uuid)
    session.add(dashboard)
    session.commit()
    return dashboard


def own_dashboard(session: Session, user: User, uuid: UUID) -> Dashboard:
    dashboard = session.get(Dashboard, uuid)
    if dashboard is None:
        raise NotFoundError.of("Dashboard", uuid)
    if dashboard.creator_uuid != user.uuid:
        raise NoAccessError("Only the dashboard's creator can do this")
    return dashboard


def list_dashboards(
    session: Session, user: User, filters: DashboardFilter, page: Page
) -> tuple[int, Sequence[Dashboard]]:
    statement: Select[tuple[Dashboard]] = select(Dashboard).where(
        Dashboard.creator_uuid == user.uuid
    )
    for word in (filters.search_string or "").split():
        statement = statement.where(Dashboard.name.icontains(word, autoescape=True))
    direction = asc if filters.order_by_create_date == OrderByDate.ASC else desc
    statement = statement.order_by(direction(Dashboard.create_datetime), direction(Dashboard.uuid))
    return paginate(session, statement, page)


def delete_dashboard(session: Session, user: User, uuid: UUID) -> None:
    """Panels and links go with it."""
    session.delete(own_dashboard(session, user, uuid))
    session.commit()


def create_panel(session: Session, user: User, data: DashboardPanelCreate) -> DashboardPanel:
    dashboard = own_dashboard(session, user, data.dashboard_uuid)
    panel = DashboardPanel(
        type=data.type.value,
        title=data.title,
        dashboard_uuid=dashboard.uuid,
        creator_uuid=user.uuid,
    )
    session.add(panel)
    session.commit()
    return panel


def own_panel(session: Session, user: User, uuid: UUID) -> DashboardPanel:
    panel = session.get(DashboardPanel, uuid)
    if panel is None:
        raise NotFoundError.of("Dashboard panel", uuid)
    if panel.creator_uuid != user.uuid:
        raise NoAccessError("Only the panel's creator can do this")
    return panel


def delete_panel(session: Session, user: User, uuid: UUID) -> None:
    session.delete(own_panel(session, user, uuid))
    session.commit()


def link_node(
    session: Session, settings: Settings, user: User, data: LinkUnitNodeToPanel
) -> PanelNodeLink:
    panel = own_panel(session, user, data.dashboard_panels_uuid)
    node = session.get(UnitNode, data.unit_node_uuid)
    if node is None:
        raise NotFoundError.of("Unit node", data.unit_node_uuid)
    if node.creator_uuid != user.uuid:
        raise NoAccessError("Only the unit node's creator can put it on a panel")
    existing = select(PanelUnitNode).where(PanelUnitNode.dashboard_panels_uuid == panel.uuid)
    if session.scalar(existing.where(PanelUnitNode.unit_node_uuid == node.uuid)) is not None:
        raise GrafanaError("The unit node is already on this panel")
    count = session.scalar(select(func.count()).select_from(existing.subquery())) or 0
    limit = settings.grafana_limit_unit_node_per_one_panel
    if count >= limit:
        raise GrafanaError(f"A panel shows at most {limit} unit nodes")
    link = PanelUnitNode(
        unit_node_uuid=node.uuid,
        dashboard_panels_uuid=panel.uuid,
        is_last_data=data.is_last_data,
        is_forced_to_json=data.is_forced_to_json,
        creator_uuid=user.uuid,
    )
    session.add(link)
    try:
        session.commit()
    except IntegrityError:  # the same link, made by a simultaneous request
        session.rollback()
        raise GrafanaError("The unit node is already on this panel") from None
    return PanelNodeLink(link, node, session.get_one(Unit, node.unit_uuid).name)


def delete_link(session: Session, user: User, unit_node_uuid: UUID, panel_uuid: UUID) -> None:
    panel = own_panel(session, user, panel_uuid)
    link = session.scalar(
        select(PanelUnitNode).where(
            PanelUnitNode.dashboard_panels_uuid == panel.uuid,
            PanelUnitNode.unit_node_uuid == unit_node_uuid,
        )
    )
    if link is None:
        raise NotFoundError(f"Unit node {unit_node_uuid} is not on panel {panel.uuid}")
    session.delete(link)
    session.commit()


def panels_with_nodes(session: Session, dashboard: Dashboard) -> list[PanelWithNodes]:
    """The dashboard's panels, oldest first, each with its nodes by `unit@topic` (then uuid),
    sorted here rather than by the database, whose collations differ."""
    panels = session.scalars(
        select(DashboardPanel)
        .where(DashboardPanel.dashboard_uuid == dashboard.uuid)
        .order_by(DashboardPanel.create_datetime, DashboardPanel.uuid)
    ).all()
    rows = session.execute(
        select(PanelUnitNode, UnitNode, Unit.name)
        .join(UnitNode, UnitNode.uuid == PanelUnitNode.unit_node_uuid)
        .join(Unit, Unit.uuid == UnitNode.unit_uuid)
        .join(DashboardPanel, DashboardPanel.uuid == PanelUnitNode.dashboard_panels_uuid)
        .where(DashboardPanel.dashboard_uuid == dashboard.uuid)
    ).all()
    links: dict[UUID, list[PanelNodeLink]] = {}
    for link, node, unit_name in rows:
        links.setdefault(link.dashboard_panels_uuid, []).append(
            PanelNodeLink(link, node, unit_name)
        )
    for found in links.values():
        found.sort(key=lambda item: (item.label, item.node.uuid))
    return [PanelWithNodes(panel, links.get(panel.uuid, [])) for panel in panels]
