"""Permissions (REST `/permission`): who may access a Private Repo, Unit or UnitNode. Only the
resource's creator grants and lists; any agent may revoke its own access."""

from uuid import UUID

import strawberry
from sqlalchemy.orm import Session

from control_plane.graphql.common import NoneType, PaginationInput
from control_plane.graphql.context import GraphQLInfo
from control_plane.graphql.enums import PermissionEntities
from control_plane.graphql.validation import validated, validated_value
from control_plane.models.permission import (
    AgentKind,
    PermissionCreate,
    PermissionRead,
    ResourceKind,
)
from control_plane.security import Agent
from control_plane.services.users import permissions
from control_plane.services.users.agents import require_user
from pepeunit_core.db.enums import PermissionEntity


@strawberry.type
class PermissionType:
    uuid: UUID
    agent_uuid: UUID
    agent_type: PermissionEntities
    resource_uuid: UUID
    resource_type: PermissionEntities

    @classmethod
    def of(cls, read: PermissionRead) -> "PermissionType":
        """REST's agent and resource kinds are members of 1.x's single `PermissionEntities`."""
        return cls(
            uuid=read.uuid,
            agent_uuid=read.agent_uuid,
            agent_type=PermissionEntity(read.agent_type.value),
            resource_uuid=read.resource_uuid,
            resource_type=PermissionEntity(read.resource_type.value),
        )


@strawberry.type
class PermissionsType:
    count: int
    permissions: list[PermissionType]


@strawberry.input
class PermissionCreateInput:
    agent_uuid: UUID
    agent_type: PermissionEntities
    resource_uuid: UUID
    resource_type: PermissionEntities


@strawberry.input
class PermissionFilterInput(PaginationInput):
    resource_uuid: UUID
    resource_type: PermissionEntities
    agent_type: PermissionEntities | None = None


@strawberry.type
class Query:
    @strawberry.field
    async def get_resource_agents(
        self, info: GraphQLInfo, filters: PermissionFilterInput
    ) -> PermissionsType:
        settings = info.context.app.settings

        def work(session: Session, agent: Agent) -> PermissionsType:
            user = require_user(agent)
            page = filters.page(settings)
            resource_type = validated_value(
                ResourceKind, "filters.resourceType", filters.resource_type
            )
            agent_type = validated_value(AgentKind | None, "filters.agentType", filters.agent_type)
            found = permissions.list_resource_agents(
                session, user, filters.resource_uuid, resource_type, agent_type, page
            )
            return PermissionsType(
                count=found.count, permissions=[PermissionType.of(row) for row in found.permissions]
            )

        return await info.context.call(work)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_permission(
        self, info: GraphQLInfo, permission: PermissionCreateInput
    ) -> PermissionType:
        def work(session: Session, agent: Agent) -> PermissionType:
            user = require_user(agent)
            data = validated(PermissionCreate, "permission", permission)
            return PermissionType.of(permissions.create_permission(session, user, data))

        return await info.context.call(work)

    @strawberry.mutation
    async def delete_permission(
        self, info: GraphQLInfo, agent_uuid: UUID, resource_uuid: UUID
    ) -> NoneType:
        """Revokes `agentUuid`'s access to `resourceUuid`: the resource's creator, or the agent
        itself."""

        def work(session: Session, agent: Agent) -> NoneType:
            permissions.delete_permission(session, agent, agent_uuid, resource_uuid)
            return NoneType()

        return await info.context.call(work)
