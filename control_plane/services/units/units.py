"""Units: devices built from a Repo at a target version (docs/compatibility.md#version-resolution,
docs/compatibility.md#access-model).

Visibility follows repos: Public to everyone, Internal to users and units, Private to agents
(a User or a Unit) holding a Permission row for the unit (its creator and the unit itself get
one on create); the Backend agent sees all.
"""

import json
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, asc, desc, exists, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from control_plane.models.common import OrderByDate
from control_plane.models.unit import OrderByName, UnitCreate, UnitFilter, UnitUpdate
from control_plane.security import Agent, AgentType
from control_plane.services import registry
from control_plane.services.broker.changes import broker_access_changed
from control_plane.services.errors import NoAccessError, NotFoundError, UnitError
from control_plane.services.firmware import SchemaExample, SchemaExampleError, parse_schema_example
from control_plane.services.nodes.sync import sync_unit_nodes
from control_plane.services.paging import Page, paginate
from control_plane.services.repos.repos import (
    VISIBILITY_RANK,
    available_platforms,
    branch_history,
    get_visible_repo,
    registry_refusal,
    version_settings,
)
from control_plane.services.repos.versions import (
    TargetVersion,
    UnitVersionSettings,
    VersionError,
    target_unit_version,
)
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Permission, Repo, Unit, UnitNode, User
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings

NAME_TAKEN = "Name is not unique"
SCHEMA_EXAMPLE_FILE = "schema_example.json"
ENV_EXAMPLE_FILE = "env_example.json"


def create_unit(session: Session, settings: Settings, user: User, data: UnitCreate) -> Unit:
    """Only from a repo the user may see: a unit's firmware carries the repo's whole tree."""
    try:
        repo = get_visible_repo(session, Agent(AgentType.USER, user.uuid, user), data.repo_uuid)
    except NotFoundError:
        raise NotFoundError.of("Repo", data.repo_uuid) from None
    _ensure_name_free(session, data.name)
    unit = Unit(**data.model_dump(), creator_uuid=user.uuid)
    _, schema = _validated_target(session, settings, repo, unit)
    session.add(unit)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise UnitError(NAME_TAKEN) from None
    for resource in (
        {"resource_type": PermissionEntity.UNIT, "resource_unit_uuid": unit.uuid},
        {"resource_type": PermissionEntity.REPO, "resource_repo_uuid": repo.uuid},
    ):
        session.add(
            Permission(agent_type=PermissionEntity.UNIT, agent_unit_uuid=unit.uuid, **resource)
        )
    session.add(
        Permission(
            agent_type=PermissionEntity.USER,
            agent_user_uuid=user.uuid,
            resource_type=PermissionEntity.UNIT,
            resource_unit_uuid=unit.uuid,
        )
    )
    sync_unit_nodes(session, settings, unit, schema, user.uuid)
    _commit_or_name_taken(session)
    broker_access_changed(session, settings)
    return unit


def update_unit(
    session: Session, settings: Settings, user: User, uuid: UUID, data: UnitUpdate
) -> Unit:
    unit = own_unit(session, user, uuid)
    changes = data.model_dump(exclude_none=True)
    if "name" in changes and changes["name"] != unit.name:
        _ensure_name_free(session, changes["name"])
    for field, value in changes.items():
        setattr(unit, field, value)
    repo = session.get_one(Repo, unit.repo_uuid)
    target, schema = _validated_target(session, settings, repo, unit)
    _raise_nodes_visibility(session, unit)
    nodes_synced = target.commit != unit.current_commit_version
    if nodes_synced:
        sync_unit_nodes(session, settings, unit, schema, user.uuid)
    unit.last_update_datetime = utc_now()
    _commit_or_name_taken(session)
    if nodes_synced:
        broker_access_changed(session, settings)
    return unit


def follow_target(session: Session, settings: Settings, unit: Unit) -> TargetVersion:
    """Brings the unit's nodes to its current target (after a registry sync or a repo change)
    and returns the target; nothing changes when the unit already runs it."""
    repo = session.get_one(Repo, unit.repo_uuid)
    target, schema = _validated_target(session, settings, repo, unit)
    # A unit always has a creator: deleting the user deletes its units.
    if target.commit != unit.current_commit_version and unit.creator_uuid is not None:
        sync_unit_nodes(session, settings, unit, schema, unit.creator_uuid)
        session.commit()
        broker_access_changed(session, settings)
    return target


def delete_unit(session: Session, settings: Settings, user: User, uuid: UUID) -> None:
    """Nodes, edges and permissions cascade; the dataflow reloads if a pipeline went with them."""
    unit = own_unit(session, user, uuid)
    active = exists().where(UnitNode.unit_uuid == unit.uuid, UnitNode.is_data_pipe_active)
    if session.scalar(select(active)):
        bump_dataflow_config_version(session)
    session.delete(unit)
    session.commit()
    broker_access_changed(session, settings)


def get_visible_unit(session: Session, agent: Agent, uuid: UUID) -> Unit:
    unit = session.get(Unit, uuid)
    if unit is None:
        raise NotFoundError.of("Unit", uuid)
    if not _can_see(session, agent, unit):
        raise NoAccessError("No access to this unit")
    return unit


def list_units(
    session: Session, agent: Agent, filters: UnitFilter, page: Page
) -> tuple[int, Sequence[Unit]]:
    statement = _filtered(filters).where(_visible_to(agent, filters.visibility_level))
    return paginate(session, statement, page)


def included_nodes(
    session: Session, agent: Agent, units: Sequence[Unit], filters: UnitFilter
) -> dict[UUID, list[UnitNode]]:
    """The visible nodes of `units` a list asked for (`is_include_output_unit_nodes`): Output
    nodes unless `unit_node_type` says otherwise, limited to `unit_node_uuids` if given."""
    if not filters.is_include_output_unit_nodes or not units:
        return {}
    types = filters.unit_node_type or [UnitNodeType.OUTPUT]
    return visible_nodes(session, agent, units, types, filters.unit_node_uuids)


def nodes_of(session: Session, unit: Unit) -> Sequence[UnitNode]:
    """All nodes of the unit, oldest first (for its creator)."""
    return session.scalars(
        select(UnitNode)
        .where(UnitNode.unit_uuid == unit.uuid)
        .order_by(UnitNode.create_datetime, UnitNode.uuid)
    ).all()


def visible_nodes(
    session: Session,
    agent: Agent,
    units: Sequence[Unit],
    types: Sequence[UnitNodeType] = tuple(UnitNodeType),
    uuids: Sequence[UUID] = (),
) -> dict[UUID, list[UnitNode]]:
    """Per unit, its nodes of `types` (limited to `uuids` if given) that `agent` may see,
    oldest first."""
    if not units:
        return {}
    statement = select(UnitNode).where(
        UnitNode.unit_uuid.in_([unit.uuid for unit in units]), UnitNode.type.in_(types)
    )
    if uuids:
        statement = statement.where(UnitNode.uuid.in_(uuids))
    statement = statement.where(
        _visibility_clause(
            UnitNode.visibility_level,
            UnitNode.uuid,
            agent,
            _permitted_select(agent, PermissionEntity.UNIT_NODE),
            [],
        )
    )
    found: dict[UUID, list[UnitNode]] = {}
    for node in session.scalars(statement.order_by(UnitNode.create_datetime, UnitNode.uuid)):
        found.setdefault(node.unit_uuid, []).append(node)
    return found


def device_unit(session: Session, agent: Agent, uuid: UUID) -> Unit:
    """The unit whose device files (target, env, schema, firmware, state, logs) `agent` may
    read: only its creator or the unit itself (404 if missing, 403 for anyone else)."""
    unit = session.get(Unit, uuid)
    if unit is None:
        raise NotFoundError.of("Unit", uuid)
    is_creator = agent.type == AgentType.USER and agent.uuid == unit.creator_uuid
    is_self = agent.type == AgentType.UNIT and agent.uuid == unit.uuid
    if not (is_creator or is_self):
        raise NoAccessError("Only the unit or its creator can read this")
    return unit


def target_version_for(
    session: Session, settings: Settings, agent: Agent, uuid: UUID
) -> TargetVersion:
    """For the unit's creator or the unit itself."""
    unit = device_unit(session, agent, uuid)
    return target_of(settings, session.get_one(Repo, unit.repo_uuid), unit)


def _validated_target(
    session: Session, settings: Settings, repo: Repo, unit: Unit
) -> tuple[TargetVersion, SchemaExample]:
    """Checks the visibility ordering, the update mode's prerequisites and the platform, and
    returns the unit's target with the schema_example.json found there."""
    if VISIBILITY_RANK[unit.visibility_level] < VISIBILITY_RANK[repo.visibility_level]:
        raise UnitError(
            f"The unit ({unit.visibility_level}) must be at least as restricted as its repo "
            f"({repo.visibility_level})"
        )
    try:
        branches = registry.list_branches(session, settings, repo.repository_registry_uuid)
    except registry.RegistryError as error:
        raise registry_refusal(error) from error
    if unit.is_auto_update_from_repo_unit:
        if repo.default_branch not in branches:
            raise UnitError(f"The repo's default branch {repo.default_branch} does not exist")
    elif not unit.repo_branch or not unit.repo_commit:
        raise UnitError("Without auto-update the unit needs repo_branch and repo_commit")
    elif unit.repo_branch not in branches:
        raise UnitError(f"Branch {unit.repo_branch} does not exist in the registry")
    target = target_of(settings, repo, unit)
    schema = _schema_at(settings, repo, target.commit)
    if not unit.is_auto_update_from_repo_unit:
        _check_env_example(settings, repo, target.commit)
    if repo.is_compilable_repo:
        names = [
            name for name, _ in available_platforms(session, settings, repo, target.commit, None)
        ]
        if unit.target_firmware_platform not in names:
            raise UnitError(
                f"Platform {unit.target_firmware_platform} is not among the target's "
                f"release assets ({', '.join(names) or 'none'})"
            )
    return target, schema


def target_of(settings: Settings, repo: Repo, unit: Unit) -> TargetVersion:
    """The commit (and tag) the unit should run: one read of its branch's history."""
    auto = unit.is_auto_update_from_repo_unit
    branch = repo.default_branch if auto else unit.repo_branch
    history = branch_history(settings, repo.repository_registry_uuid, branch or "")
    try:
        return target_unit_version(
            version_settings(repo),
            UnitVersionSettings(
                is_auto_update_from_repo_unit=auto,
                repo_branch=unit.repo_branch,
                repo_commit=unit.repo_commit,
            ),
            history,
        )
    except VersionError as error:
        raise UnitError(str(error)) from error


def _file(settings: Settings, repo: Repo, commit: str, name: str) -> bytes | None:
    path = registry.registry_clone_path(settings, repo.repository_registry_uuid)
    try:
        return registry.file_at(path, commit, name)
    except registry.GitError as error:
        raise UnitError(str(error)) from error


def _schema_at(settings: Settings, repo: Repo, commit: str) -> SchemaExample:
    content = _file(settings, repo, commit, SCHEMA_EXAMPLE_FILE)
    if content is None:
        raise UnitError(f"{SCHEMA_EXAMPLE_FILE} is missing at commit {commit}")
    try:
        return parse_schema_example(content)
    except SchemaExampleError as error:
        raise UnitError(str(error)) from error


def _check_env_example(settings: Settings, repo: Repo, commit: str) -> None:
    content = _file(settings, repo, commit, ENV_EXAMPLE_FILE)
    if content is None:
        return
    try:
        json.loads(content)
    except ValueError:
        raise UnitError(f"{ENV_EXAMPLE_FILE} is not valid JSON at commit {commit}") from None


def _raise_nodes_visibility(session: Session, unit: Unit) -> None:
    rank = VISIBILITY_RANK[unit.visibility_level]
    for node in session.scalars(select(UnitNode).where(UnitNode.unit_uuid == unit.uuid)):
        if VISIBILITY_RANK[node.visibility_level] < rank:
            node.visibility_level = unit.visibility_level


def own_unit(session: Session, user: User, uuid: UUID) -> Unit:
    """The unit, for its creator (NotFoundError if missing, NoAccessError for anyone else)."""
    unit = session.get(Unit, uuid)
    if unit is None:
        raise NotFoundError.of("Unit", uuid)
    if unit.creator_uuid != user.uuid:
        raise NoAccessError("Only the creator can change a unit")
    return unit


def _can_see(session: Session, agent: Agent, unit: Unit) -> bool:
    match agent.type, unit.visibility_level:
        case AgentType.BACKEND, _:
            return True
        case _, VisibilityLevel.PUBLIC:
            return True
        case AgentType.USER | AgentType.UNIT, VisibilityLevel.INTERNAL:
            return True
        case AgentType.USER | AgentType.UNIT, VisibilityLevel.PRIVATE:
            return unit.uuid in _permitted(session, agent, PermissionEntity.UNIT)
    return False


def _visible_to(agent: Agent, asked: list[VisibilityLevel]) -> ColumnElement[bool]:
    return _visibility_clause(
        Unit.visibility_level,
        Unit.uuid,
        agent,
        _permitted_select(agent, PermissionEntity.UNIT),
        asked,
    )


def _visibility_clause(
    level: InstrumentedAttribute[VisibilityLevel],
    uuid: InstrumentedAttribute[UUID],
    agent: Agent,
    permitted: Select[tuple[UUID | None]],
    asked: list[VisibilityLevel],
) -> ColumnElement[bool]:
    """`permitted` is a subquery, so the statement stays the same size however many
    permissions the agent has."""
    levels = set(asked or VisibilityLevel)
    if agent.type == AgentType.BACKEND:
        return level.in_(levels)
    if agent.type not in (AgentType.USER, AgentType.UNIT):
        return level.in_(levels & {VisibilityLevel.PUBLIC})
    private = (
        and_(level == VisibilityLevel.PRIVATE, uuid.in_(permitted))
        if VisibilityLevel.PRIVATE in levels
        else false()
    )
    return or_(level.in_(levels - {VisibilityLevel.PRIVATE}), private)


def _permitted(session: Session, agent: Agent, resource: PermissionEntity) -> set[UUID]:
    if agent.type not in (AgentType.USER, AgentType.UNIT):
        return set()
    return {uuid for uuid in session.scalars(_permitted_select(agent, resource)) if uuid}


def _permitted_select(agent: Agent, resource: PermissionEntity) -> Select[tuple[UUID | None]]:
    """The uuids of the `resource`s `agent` (a user or a unit) holds a permission on."""
    column = (
        Permission.resource_unit_uuid
        if resource == PermissionEntity.UNIT
        else Permission.resource_unit_node_uuid
    )
    agent_column = (
        Permission.agent_user_uuid if agent.type == AgentType.USER else Permission.agent_unit_uuid
    )
    return select(column).where(
        agent_column == agent.uuid, Permission.resource_type == resource, column.is_not(None)
    )


def _filtered(filters: UnitFilter) -> Select[tuple[Unit]]:
    statement = select(Unit)
    if filters.uuids:
        statement = statement.where(Unit.uuid.in_(filters.uuids))
    if filters.creator_uuid is not None:
        statement = statement.where(Unit.creator_uuid == filters.creator_uuid)
    if filters.repo_uuid is not None:
        statement = statement.where(Unit.repo_uuid == filters.repo_uuid)
    if filters.repos_uuids:
        statement = statement.where(Unit.repo_uuid.in_(filters.repos_uuids))
    if filters.is_auto_update_from_repo_unit is not None:
        statement = statement.where(
            Unit.is_auto_update_from_repo_unit == filters.is_auto_update_from_repo_unit
        )
    for word in (filters.search_string or "").split():
        statement = statement.where(Unit.name.icontains(word, autoescape=True))
    order = []
    if filters.order_by_unit_name is not None:
        by_name = asc if filters.order_by_unit_name == OrderByName.ASC else desc
        order.append(by_name(Unit.name))
    if filters.order_by_last_update is not None:
        by_update = asc if filters.order_by_last_update == OrderByDate.ASC else desc
        order.append(by_update(Unit.last_update_datetime))
    by_create = asc if filters.order_by_create_date == OrderByDate.ASC else desc
    return statement.order_by(*order, by_create(Unit.create_datetime), by_create(Unit.uuid))


def _ensure_name_free(session: Session, name: str) -> None:
    if session.scalar(select(exists().where(Unit.name == name))):
        raise UnitError(NAME_TAKEN)


def _commit_or_name_taken(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise UnitError(NAME_TAKEN) from None
