"""Unit nodes and edges (REST `/unit_nodes`): `getUnitNode`, `getUnitNodes`, `updateUnitNode`,
`setStateUnitNodeInput`, `createUnitNodeEdge`, `deleteUnitNodeEdge`."""

from datetime import datetime
from uuid import UUID

import strawberry

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import OrderByDate, UnitNodeTypeEnum, VisibilityLevel
from control_plane.graphql.validation import validated
from control_plane.models.unit_node import (
    UnitNodeEdgeCreate,
    UnitNodeFilter,
    UnitNodeRead,
    UnitNodeSetState,
    UnitNodesResult,
    UnitNodeUpdate,
)
from control_plane.services.nodes import access as node_access
from control_plane.services.nodes import edges, nodes
from control_plane.services.users.agents import require_user
from pepeunit_core.db import enums as db


@strawberry.type
class UnitNodeType:
    uuid: UUID
    type: UnitNodeTypeEnum
    visibility_level: VisibilityLevel
    is_rewritable_input: bool
    max_connections: int
    topic_name: str
    last_update_datetime: datetime
    is_data_pipe_active: bool
    data_pipe_yml: str | None
    data_pipe_status: str | None
    """The stored spelling (`Active`, `Inactive`, `Error`), a String as in 1.x."""
    data_pipe_error: str | None
    create_datetime: datetime
    state: str | None
    unit_uuid: UUID
    creator_uuid: UUID

    @classmethod
    def of(cls, node: UnitNodeRead) -> "UnitNodeType":
        """The REST answer of a node, field by field."""
        return cls(
            uuid=node.uuid,
            type=node.type,
            visibility_level=node.visibility_level,
            is_rewritable_input=node.is_rewritable_input,
            max_connections=node.max_connections,
            topic_name=node.topic_name,
            last_update_datetime=node.last_update_datetime,
            is_data_pipe_active=node.is_data_pipe_active,
            data_pipe_yml=node.data_pipe_yml,
            data_pipe_status=node.data_pipe_status.value if node.data_pipe_status else None,
            data_pipe_error=node.data_pipe_error,
            create_datetime=node.create_datetime,
            state=node.state,
            unit_uuid=node.unit_uuid,
            creator_uuid=node.creator_uuid,  # type: ignore[arg-type]  # nodes cascade with users
        )


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
    uuids: list[UUID] = strawberry.field(default_factory=list)
    unit_uuid: UUID | None = None
    search_string: str | None = None
    type: list[UnitNodeTypeEnum] = strawberry.field(default_factory=lambda: list(db.UnitNodeType))
    visibility_level: list[VisibilityLevel] = strawberry.field(
        default_factory=lambda: list(db.VisibilityLevel)
    )
    order_by_create_date: OrderByDate = OrderByDate.desc
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
        node_filter = validated(UnitNodeFilter, "filters", filters)
        page = filters.page(info.context.app.settings)
        result = await info.context.call(
            lambda session, agent: nodes.list_nodes(session, agent, node_filter, page)
        )
        return _result(result)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def update_unit_node(
        self, info: GraphQLInfo, uuid: UUID, unit_node: UnitNodeUpdateInput
    ) -> UnitNodeType:
        data = validated(UnitNodeUpdate, "unitNode", unit_node)
        node = await info.context.call(
            lambda session, agent: nodes.update_node(session, agent, uuid, data)
        )
        return UnitNodeType.of(node)

    @strawberry.mutation
    async def set_state_unit_node_input(
        self, info: GraphQLInfo, uuid: UUID, unit_node: UnitNodeSetStateInput
    ) -> UnitNodeType:
        data = validated(UnitNodeSetState, "unitNode", unit_node)
        app = info.context.app
        node = await info.context.call(
            lambda session, agent: nodes.set_state_input(
                session, app.settings, app.publisher, agent, uuid, data.state
            )
        )
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
