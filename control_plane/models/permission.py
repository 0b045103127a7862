"""Permission API schemas, with the reference's names (PermissionCreate, PermissionRead, ...)."""

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel


class AgentKind(StrEnum):
    USER = "User"
    UNIT = "Unit"


class ResourceKind(StrEnum):
    REPO = "Repo"
    UNIT = "Unit"
    UNIT_NODE = "UnitNode"


class PermissionCreate(BaseModel):
    agent_uuid: UUID
    agent_type: AgentKind
    resource_uuid: UUID
    resource_type: ResourceKind


class PermissionRead(BaseModel):
    uuid: UUID
    agent_uuid: UUID
    agent_type: AgentKind
    resource_uuid: UUID
    resource_type: ResourceKind


class PermissionsResult(BaseModel):
    count: int
    permissions: list[PermissionRead]
