"""Permission rows: the automatic ones (docs/compatibility.md#access-model) and the `/permission`
API (docs/compatibility.md#permission-api-creator-only).

Only the creator of a resource may grant, list or revoke access to it; an agent
may also revoke its own access. Some rows can never be revoked.
"""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from control_plane.models.permission import (
    AgentKind,
    PermissionCreate,
    PermissionRead,
    PermissionsResult,
    ResourceKind,
)
from control_plane.security import Agent, AgentType
from control_plane.services.errors import NoAccessError, NotFoundError, PermissionValidationError
from control_plane.services.paging import Page, paginate
from pepeunit_core.db.enums import PermissionEntity
from pepeunit_core.db.models import Permission, Repo, Unit, UnitNode, User

_AGENT_COLUMNS: dict[PermissionEntity, InstrumentedAttribute[UUID | None]] = {
    PermissionEntity.USER: Permission.agent_user_uuid,
    PermissionEntity.UNIT: Permission.agent_unit_uuid,
}
_RESOURCE_COLUMNS: dict[PermissionEntity, InstrumentedAttribute[UUID | None]] = {
    PermissionEntity.REPO: Permission.resource_repo_uuid,
    PermissionEntity.UNIT: Permission.resource_unit_uuid,
    PermissionEntity.UNIT_NODE: Permission.resource_unit_node_uuid,
}
_RESOURCE_MODELS: dict[PermissionEntity, type[Repo] | type[Unit] | type[UnitNode]] = {
    PermissionEntity.REPO: Repo,
    PermissionEntity.UNIT: Unit,
    PermissionEntity.UNIT_NODE: UnitNode,
}


def _has_row(
    agent_type: PermissionEntity,
    agent_uuid: UUID,
    resource_type: PermissionEntity,
    resource_uuid: UUID,
) -> ColumnElement[bool]:
    return and_(
        Permission.agent_type == agent_type,
        _AGENT_COLUMNS[agent_type] == agent_uuid,
        Permission.resource_type == resource_type,
        _RESOURCE_COLUMNS[resource_type] == resource_uuid,
    )


def has_permission(
    session: Session,
    agent_type: PermissionEntity,
    agent_uuid: UUID,
    resource_type: PermissionEntity,
    resource_uuid: UUID,
) -> bool:
    condition = _has_row(agent_type, agent_uuid, resource_type, resource_uuid)
    return bool(session.scalar(select(exists().where(condition))))


def permitted_resources(
    agent_type: PermissionEntity, agent_uuid: UUID, resource_type: PermissionEntity
) -> Select[tuple[UUID | None]]:
    """The uuids of the resources of one type the agent holds a row for, as a subquery: a
    statement using it stays the same size however many there are."""
    return select(_RESOURCE_COLUMNS[resource_type]).where(
        Permission.agent_type == agent_type,
        _AGENT_COLUMNS[agent_type] == agent_uuid,
        Permission.resource_type == resource_type,
    )


def ensure_permission(
    session: Session,
    agent_type: PermissionEntity,
    agent_uuid: UUID,
    resource_type: PermissionEntity,
    resource_uuid: UUID,
) -> None:
    """Adds the row unless it exists (the caller commits)."""
    if has_permission(session, agent_type, agent_uuid, resource_type, resource_uuid):
        return
    session.add(new_permission(agent_type, agent_uuid, resource_type, resource_uuid))
    session.flush()


def remove_permission(
    session: Session,
    agent_type: PermissionEntity,
    agent_uuid: UUID,
    resource_type: PermissionEntity,
    resource_uuid: UUID,
) -> None:
    for row in session.scalars(
        select(Permission).where(_has_row(agent_type, agent_uuid, resource_type, resource_uuid))
    ):
        session.delete(row)
    session.flush()


def new_permission(
    agent_type: PermissionEntity,
    agent_uuid: UUID,
    resource_type: PermissionEntity,
    resource_uuid: UUID,
) -> Permission:
    """A new row granting the agent the resource (not added to a session)."""
    row = Permission(agent_type=agent_type, resource_type=resource_type)
    setattr(row, _AGENT_COLUMNS[agent_type].key, agent_uuid)
    setattr(row, _RESOURCE_COLUMNS[resource_type].key, resource_uuid)
    return row


def _read(row: Permission) -> PermissionRead:
    agent_uuid = getattr(row, _AGENT_COLUMNS[row.agent_type].key)
    resource_uuid = getattr(row, _RESOURCE_COLUMNS[row.resource_type].key)
    assert agent_uuid is not None and resource_uuid is not None  # the table's checks
    return PermissionRead(
        uuid=row.uuid,
        agent_uuid=agent_uuid,
        agent_type=AgentKind(row.agent_type),
        resource_uuid=resource_uuid,
        resource_type=ResourceKind(row.resource_type),
    )


def _own_resource(
    session: Session, user: User, resource_type: PermissionEntity, uuid: UUID
) -> Repo | Unit | UnitNode:
    resource = session.get(_RESOURCE_MODELS[resource_type], uuid)
    if resource is None:
        raise NotFoundError.of(resource_type, uuid)
    if resource.creator_uuid != user.uuid:
        raise NoAccessError("Only the creator of the resource may manage its permissions")
    return resource


def create_permission(session: Session, user: User, data: PermissionCreate) -> PermissionRead:
    resource_type = PermissionEntity(data.resource_type)
    agent_type = PermissionEntity(data.agent_type)
    _own_resource(session, user, resource_type, data.resource_uuid)
    agent_model = User if agent_type == PermissionEntity.USER else Unit
    if session.get(agent_model, data.agent_uuid) is None:
        raise PermissionValidationError(f"The {data.agent_type} agent does not exist")
    if has_permission(session, agent_type, data.agent_uuid, resource_type, data.resource_uuid):
        raise PermissionValidationError("The agent already has access to this resource")
    row = new_permission(agent_type, data.agent_uuid, resource_type, data.resource_uuid)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # a concurrent grant or delete
        session.rollback()
        raise PermissionValidationError("The permission could not be created") from None
    return _read(row)


def list_resource_agents(
    session: Session,
    user: User,
    resource_uuid: UUID,
    resource_type: ResourceKind,
    agent_type: AgentKind | None,
    page: Page,
) -> PermissionsResult:
    entity = PermissionEntity(resource_type)
    _own_resource(session, user, entity, resource_uuid)
    statement = select(Permission).where(
        Permission.resource_type == entity, _RESOURCE_COLUMNS[entity] == resource_uuid
    )
    if agent_type is not None:
        statement = statement.where(Permission.agent_type == PermissionEntity(agent_type))
    count, rows = paginate(session, statement.order_by(Permission.uuid), page)
    return PermissionsResult(count=count, permissions=[_read(row) for row in rows])


@dataclass(frozen=True)
class _Target:
    row: Permission
    resource: Repo | Unit | UnitNode


def delete_permission(
    session: Session, agent: Agent, agent_uuid: UUID, resource_uuid: UUID
) -> None:
    """Revokes `agent_uuid`'s access to `resource_uuid` (whatever their types)."""
    if agent.type not in (AgentType.USER, AgentType.UNIT) or agent.uuid is None:
        raise NoAccessError(f"{agent.type} agents have no access to this")
    rows = session.scalars(
        select(Permission).where(
            or_(Permission.agent_user_uuid == agent_uuid, Permission.agent_unit_uuid == agent_uuid),
            or_(*(column == resource_uuid for column in _RESOURCE_COLUMNS.values())),
        )
    ).all()
    targets = []
    for row in rows:
        resource = session.get(
            _RESOURCE_MODELS[row.resource_type],
            getattr(row, _RESOURCE_COLUMNS[row.resource_type].key),
        )
        if resource is not None:
            targets.append(_Target(row, resource))
    if not targets:
        raise NotFoundError(f"Permission of {agent_uuid} on {resource_uuid}: not found")
    for target in targets:
        is_creator = agent.type == AgentType.USER and target.resource.creator_uuid == agent.uuid
        is_self = PermissionEntity(agent.type) == target.row.agent_type and agent.uuid == agent_uuid
        if not (is_creator or is_self):
            raise NoAccessError("Only the resource creator or the agent may revoke this access")
        _check_deletable(session, target, agent_uuid, resource_uuid)
        session.delete(target.row)
    session.commit()


def _check_deletable(
    session: Session, target: _Target, agent_uuid: UUID, resource_uuid: UUID
) -> None:
    row, resource = target.row, target.resource
    if agent_uuid == resource_uuid:
        raise PermissionValidationError("An agent's access to itself cannot be revoked")
    if row.agent_type == PermissionEntity.USER and resource.creator_uuid == agent_uuid:
        raise PermissionValidationError("The creator's access cannot be revoked")
    if row.agent_type == PermissionEntity.UNIT:
        if isinstance(resource, Repo):
            unit = session.get(Unit, agent_uuid)
            if unit is not None and unit.repo_uuid == resource.uuid:
                raise PermissionValidationError("A unit's access to its repo cannot be revoked")
        if isinstance(resource, UnitNode) and resource.unit_uuid == agent_uuid:
            raise PermissionValidationError("A unit's access to its own nodes cannot be revoked")
