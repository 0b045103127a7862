"""`/unit_nodes`: read nodes (visibility rules), the creator's settings, Input values, and the
edges from Output to Input nodes (docs/compatibility.md#user-routes; the DataPipe routes live in
`data_pipe`)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from control_plane.api.deps import ContextDep, CurrentAgent, CurrentUser, SessionDep
from control_plane.api.pagination import PageDep
from control_plane.models.unit_node import (
    UnitNodeEdgeCreate,
    UnitNodeEdgeRead,
    UnitNodeFilter,
    UnitNodeRead,
    UnitNodeSetState,
    UnitNodesResult,
    UnitNodeUpdate,
)
from control_plane.services.nodes import access as node_access
from control_plane.services.nodes import edges, nodes

router = APIRouter(prefix="/unit_nodes", tags=["unit_nodes"])


@router.get("")
def list_unit_nodes(
    filters: Annotated[UnitNodeFilter, Query()],
    page: PageDep,
    agent: CurrentAgent,
    session: SessionDep,
) -> UnitNodesResult:
    """Nodes the caller can see; `output_uuid` keeps the Input nodes linked from that Output."""
    return nodes.list_nodes(session, agent, filters, page)


@router.post("/create_unit_node_edge", status_code=status.HTTP_201_CREATED)
def create_unit_node_edge(
    data: UnitNodeEdgeCreate, user: CurrentUser, session: SessionDep
) -> UnitNodeEdgeRead:
    """Links an Output node to an Input node; the caller must see both."""
    return edges.create_edge(session, user, data)


@router.delete("/delete_unit_node_edge", status_code=status.HTTP_204_NO_CONTENT)
def delete_unit_node_edge(
    input_uuid: UUID, output_uuid: UUID, user: CurrentUser, session: SessionDep
) -> None:
    """`DELETE /unit_nodes/delete_unit_node_edge?input_uuid=…&output_uuid=…` (the reference has
    this only in GraphQL, `deleteUnitNodeEdge(inputUuid, outputUuid)`): for the edge's creator
    or the input node's creator."""
    edges.delete_edge(session, user, input_uuid, output_uuid)


@router.patch("/set_state_input/{uuid}")
def set_state_input(
    uuid: UUID,
    data: UnitNodeSetState,
    agent: CurrentAgent,
    context: ContextDep,
    session: SessionDep,
) -> UnitNodeRead:
    """Publishes a value to an Input node and stores it: Users who see the node; Units if it
    is rewritable."""
    return nodes.set_state_input(
        session, context.settings, context.publisher, agent, uuid, data.state
    )


@router.get("/{uuid}")
def get_unit_node(uuid: UUID, agent: CurrentAgent, session: SessionDep) -> UnitNodeRead:
    return UnitNodeRead.model_validate(node_access.visible_node(session, agent, uuid))


@router.patch("/{uuid}")
def update_unit_node(
    uuid: UUID, data: UnitNodeUpdate, agent: CurrentAgent, session: SessionDep
) -> UnitNodeRead:
    return nodes.update_node(session, agent, uuid, data)
