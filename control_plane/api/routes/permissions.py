"""`/permission`: who may access a Private Repo, Unit or UnitNode
(docs/compatibility.md#permission-api-creator-only).

Only the resource's creator may grant, list or revoke; any agent may
revoke its own access.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from control_plane.api.deps import CurrentAgent, CurrentUser, SessionDep
from control_plane.api.pagination import PageDep
from control_plane.models.permission import (
    AgentKind,
    PermissionCreate,
    PermissionRead,
    PermissionsResult,
    ResourceKind,
)
from control_plane.services.users import permissions

router = APIRouter(prefix="/permission", tags=["permission"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_permission(
    data: PermissionCreate, user: CurrentUser, session: SessionDep
) -> PermissionRead:
    return permissions.create_permission(session, user, data)


@router.get("/get_resource_agents")
def get_resource_agents(
    resource_uuid: UUID,
    resource_type: ResourceKind,
    page: PageDep,
    user: CurrentUser,
    session: SessionDep,
    agent_type: Annotated[AgentKind | None, Query()] = None,
) -> PermissionsResult:
    return permissions.list_resource_agents(
        session, user, resource_uuid, resource_type, agent_type, page
    )


@router.delete("/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_permission(
    uuid: str,
    agent_uuid: UUID,
    resource_uuid: UUID,
    agent: CurrentAgent,
    session: SessionDep,
) -> None:
    """Revokes `agent_uuid`'s access to `resource_uuid`; the path segment is ignored, as in the
    reference."""
    permissions.delete_permission(session, agent, agent_uuid, resource_uuid)
