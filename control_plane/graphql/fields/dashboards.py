"""Dashboards (REST `/grafana`): users' dashboards, their panels and the unit nodes on them,
and their sync to Grafana. Everything is the creator's."""

from datetime import datetime
from uuid import UUID

import strawberry
from sqlalchemy.orm import Session

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import DashboardPanelTypeEnum, OrderByDate
from control_plane.graphql.types.unit_node import UnitNodeType
from control_plane.graphql.validation import validated
from control_plane.models.dashboard import (
    DashboardCreate,
    DashboardFilter,
    DashboardPanelCreate,
    DashboardPanelRead,
    DashboardRead,
    LinkUnitNodeToPanel,
    UnitNodeForPanel,
)
from control_plane.security import Agent
from control_plane.services.dashboards import dashboards
from control_plane.services.dashboards import sync as dashboard_sync
from control_plane.services.dashboards.dashboards import PanelWithNodes
from control_plane.services.dashboards.reads import dashboard_panels, node_for_panel, panel_read
from control_plane.services.users.agents import require_user
from pepeunit_core.db.models import Dashboard


@strawberry.experimental.pydantic.type(model=DashboardRead, all_fields=True, name="DashboardType")
class DashboardType:
    creator_uuid: UUID  # non-null as in 1.x: the rows cascade with their creator


@strawberry.type
class DashboardsResultType:
    count: int
    dashboards: list[DashboardType]


@strawberry.type
class UnitNodeForPanelType:
    unit_node: UnitNodeType
    is_last_data: bool
    is_forced_to_json: bool
    unit_with_unit_node_name: str

    @classmethod
    def of(cls, read: UnitNodeForPanel) -> "UnitNodeForPanelType":
        return cls(
            unit_node=UnitNodeType.of(read.unit_node),
            is_last_data=read.is_last_data,
            is_forced_to_json=read.is_forced_to_json,
            unit_with_unit_node_name=read.unit_with_unit_node_name,
        )


@strawberry.type
class DashboardPanelType:
    uuid: UUID
    type: DashboardPanelTypeEnum  # type: ignore[valid-type]
    title: str
    create_datetime: datetime
    creator_uuid: UUID  # non-null as in 1.x: panels cascade with their creator
    dashboard_uuid: UUID
    unit_nodes_for_panel: list[UnitNodeForPanelType]

    @classmethod
    def of(cls, read: DashboardPanelRead) -> "DashboardPanelType":
        """The panel type is a member of 1.x's `DashboardPanelTypeEnum` (the same Grafana id)."""
        return cls(
            uuid=read.uuid,
            type=DashboardPanelTypeEnum(read.type.value),
            title=read.title,
            create_datetime=read.create_datetime,
            creator_uuid=read.creator_uuid,  # type: ignore[arg-type]
            dashboard_uuid=read.dashboard_uuid,
            unit_nodes_for_panel=[
                UnitNodeForPanelType.of(item) for item in read.unit_nodes_for_panel
            ],
        )


@strawberry.type
class DashboardPanelsResultType:
    count: int
    panels: list[DashboardPanelType]


@strawberry.input
class DashboardCreateInput:
    name: str


@strawberry.input
class DashboardPanelCreateInput:
    dashboard_uuid: UUID
    title: str
    type: DashboardPanelTypeEnum  # type: ignore[valid-type]


@strawberry.input
class LinkUnitNodeToPanelInput:
    unit_node_uuid: UUID
    dashboard_panels_uuid: UUID
    is_last_data: bool
    is_forced_to_json: bool


@strawberry.input
class DashboardFilterInput(PaginationInput):
    search_string: str | None = None
    order_by_create_date: OrderByDate | None = OrderByDate("desc")


def dashboard_type(row: Dashboard) -> DashboardType:
    return DashboardType.from_pydantic(DashboardRead.model_validate(row))


@strawberry.type
class Query:
    @strawberry.field
    async def get_dashboard(self, info: GraphQLInfo, uuid: UUID) -> DashboardType:
        def work(session: Session, agent: Agent) -> DashboardType:
            return dashboard_type(dashboards.own_dashboard(session, require_user(agent), uuid))

        return await info.context.call(work)

    @strawberry.field
    async def get_dashboards(
        self, info: GraphQLInfo, filters: DashboardFilterInput
    ) -> DashboardsResultType:
        """The caller's own dashboards."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> DashboardsResultType:
            user = require_user(agent)
            page = filters.page(settings)
            checked = validated(DashboardFilter, "filters", filters)
            count, rows = dashboards.list_dashboards(session, user, checked, page)
            return DashboardsResultType(
                count=count, dashboards=[dashboard_type(row) for row in rows]
            )

        return await info.context.call(work)

    @strawberry.field
    async def get_dashboard_panels(
        self, info: GraphQLInfo, uuid: UUID
    ) -> DashboardPanelsResultType:
        """The dashboard's panels, oldest first, with their nodes."""

        def work(session: Session, agent: Agent) -> DashboardPanelsResultType:
            found = dashboard_panels(session, require_user(agent), uuid)
            return DashboardPanelsResultType(
                count=found.count, panels=[DashboardPanelType.of(panel) for panel in found.panels]
            )

        return await info.context.call(work)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_dashboard(
        self, info: GraphQLInfo, dashboard: DashboardCreateInput
    ) -> DashboardType:
        def work(session: Session, agent: Agent) -> DashboardType:
            user = require_user(agent)
            data = validated(DashboardCreate, "dashboard", dashboard)
            return dashboard_type(dashboards.create_dashboard(session, user, data))

        return await info.context.call(work)

    @strawberry.mutation
    async def create_dashboard_panel(
        self, info: GraphQLInfo, dashboard_panel: DashboardPanelCreateInput
    ) -> DashboardPanelType:
        def work(session: Session, agent: Agent) -> DashboardPanelType:
            user = require_user(agent)
            data = validated(DashboardPanelCreate, "dashboardPanel", dashboard_panel)
            panel = dashboards.create_panel(session, user, data)
            return DashboardPanelType.of(panel_read(PanelWithNodes(panel, [])))

        return await info.context.call(work)

    @strawberry.mutation
    async def link_unit_node_to_panel(
        self, info: GraphQLInfo, dashboard: LinkUnitNodeToPanelInput
    ) -> UnitNodeForPanelType:
        """Puts a node on a panel; the caller must have created both. 1.x names the argument
        `dashboard`."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> UnitNodeForPanelType:
            user = require_user(agent)
            data = validated(LinkUnitNodeToPanel, "dashboard", dashboard)
            return UnitNodeForPanelType.of(
                node_for_panel(dashboards.link_node(session, settings, user, data))
            )

        return await info.context.call(work)

    @strawberry.mutation
    async def sync_dashboard(self, info: GraphQLInfo, uuid: UUID) -> DashboardType:
        """Saves the dashboard in Grafana; the outcome is in `syncStatus` / `syncError`."""
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> DashboardType:
            user = require_user(agent)
            return dashboard_type(dashboard_sync.sync_dashboard(session, settings, user, uuid))

        return await info.context.call(work)

    @strawberry.mutation
    async def delete_dashboard(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        """Forgets the dashboard here; Grafana keeps its copy."""

        def work(session: Session, agent: Agent) -> NoneType:
            dashboards.delete_dashboard(session, require_user(agent), uuid)
            return NoneType()

        return await info.context.call(work)

    @strawberry.mutation
    async def delete_panel(self, info: GraphQLInfo, uuid: UUID) -> NoneType:
        def work(session: Session, agent: Agent) -> NoneType:
            dashboards.delete_panel(session, require_user(agent), uuid)
            return NoneType()

        return await info.context.call(work)

    @strawberry.mutation
    async def delete_link(
        self, info: GraphQLInfo, unit_node_uuid: UUID, dashboard_panel_uuid: UUID
    ) -> NoneType:
        """Takes the node off the panel (1.x's singular `dashboardPanelUuid`)."""

        def work(session: Session, agent: Agent) -> NoneType:
            dashboards.delete_link(
                session, require_user(agent), unit_node_uuid, dashboard_panel_uuid
            )
            return NoneType()

        return await info.context.call(work)
