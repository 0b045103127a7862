"""Unit nodes and edges (REST `/unit_nodes`): `getUnitNode`, `getUnitNodes`, `updateUnitNode`,
`setStateUnitNodeInput`, `createUnitNodeEdge`, `deleteUnitNodeEdge`."""

from uuid import UUID

import strawberry
from sqlalchemy.orm import Session

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import OrderByDate, UnitNodeTypeEnum, VisibilityLevel
from control_plane.graphql.types.unit_node import UnitNodeType
from control_plane.graphql.validation import validated
from control_plane.models.unit_node import (
    UnitNodeEdgeCreate,
    UnitNodeFilter,
    UnitNodeRead,
    UnitNodeSetState,
    UnitNodesResult,
    UnitNodeUpdate,
)
from control_plane.security import Agent
from control_plane.services.nodes import access as node_access
from control_plane.services.nodes import edges, nodes
from control_plane.services.users.agents import require_user
from pepeunit_core.db import enums as db


@strawberry.type
class UnitNodesResultType:
    count: int
    unit_nodes: list[UnitNodeType]


@strawberry.type
class UnitNodeEdgeType:
    uuid: UUID
    node_output_uuid: UUID
    node_input_uuid: UUID


@strawberry.input
class UnitNodeFilterInput(PaginationInput):
    uuids: list[UUID] | None = strawberry.field(default_factory=list)
    unit_uuid: UUID | None = None
    search_string: str | None = None
    type: list[UnitNodeTypeEnum] | None = strawberry.field(
        default_factory=lambda: list(db.UnitNodeType)
    )
    visibility_level: list[VisibilityLevel] | None = strawberry.field(
        default_factory=lambda: list(db.VisibilityLevel)
    )
    order_by_create_date: OrderByDate | None = OrderByDate.desc
    output_uuid: UUID | None = None


@strawberry.input
class UnitNodeUpdateInput:
    visibility_level: VisibilityLevel | None = None
    is_rewritable_input: bool | None = None
    is_data_pipe_active: bool | None = None
    max_connections: int | None = None


@strawberry.input
class UnitNodeSetStateInput:
    state: str | None = None


@strawberry.input
class UnitNodeEdgeCreateInput:
    node_output_uuid: UUID
    node_input_uuid: UUID


def _result(result: UnitNodesResult) -> UnitNodesResultType:
    return UnitNodesResultType(
        count=result.count, unit_nodes=[UnitNodeType.of(node) for node in result.unit_nodes]
    )


@strawberry.type
class Query:
    @strawberry.field
    async def get_unit_node(self, info: GraphQLInfo, uuid: UUID) -> UnitNodeType:
        node = await info.context.call(
            lambda session, agent: UnitNodeRead.model_validate(
                node_access.visible_node(session, agent, uuid)
            )
        )
        return UnitNodeType.of(node)

    @strawberry.field
    async def get_unit_nodes(
        self, info: GraphQLInfo, filters: UnitNodeFilterInput
    ) -> UnitNodesResultType:
        settings = info.context.app.settings

        def read(session: Session, agent: Agent) -> UnitNodesResult:
            page = filters.page(settings)
            node_filter = validated(UnitNodeFilter, "filters", filters)
            return nodes.list_nodes(session, agent, node_filter, page)

        return _result(await info.context.call(read))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def update_unit_node(
        self, info: GraphQLInfo, uuid: UUID, unit_node: UnitNodeUpdateInput
    ) -> UnitNodeType:
        node = await info.context.call(
            lambda session, agent: nodes.update_node(
                session, agent, uuid, validated(UnitNodeUpdate, "unitNode", unit_node)
            )
        )
        return UnitNodeType.of(node)

    @strawberry.mutation
    async def set_state_unit_node_input(
        self, info: GraphQLInfo, uuid: UUID, unit_node: UnitNodeSetStateInput
    ) -> UnitNodeType:
        app = info.context.app

        def set_state(session: Session, agent: Agent) -> UnitNodeRead:
            data = validated(UnitNodeSetState, "unitNode", unit_node)
            return nodes.set_state_input(
                session, app.settings, app.publisher, agent, uuid, data.state
            )

        node = await info.context.call(set_state)
        return UnitNodeType.of(node)

    @strawberry.mutation
    async def create_unit_node_edge(
        self, info: GraphQLInfo, unit_node_edge: UnitNodeEdgeCreateInput
    ) -> UnitNodeEdgeType:
        data = UnitNodeEdgeCreate(
            node_output_uuid=unit_node_edge.node_output_uuid,
            node_input_uuid=unit_node_edge.node_input_uuid,
        )
        edge = await info.context.call(
            lambda session, agent: edges.create_edge(session, require_user(agent), data)
        )
        return UnitNodeEdgeType(
            uuid=edge.uuid,
            node_output_uuid=edge.node_output_uuid,
            node_input_uuid=edge.node_input_uuid,
        )

    @strawberry.mutation
    async def delete_unit_node_edge(
        self, info: GraphQLInfo, input_uuid: UUID, output_uuid: UUID
    ) -> NoneType:
        """REST `DELETE /unit_nodes/delete_unit_node_edge`: the edge's or the Input node's
        creator."""
        await info.context.call(
            lambda session, agent: edges.delete_edge(
                session, require_user(agent), input_uuid, output_uuid
            )
        )
        return NoneType()
