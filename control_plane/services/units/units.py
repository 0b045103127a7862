"""Units: devices built from a Repo at a target version (docs/compatibility.md#version-resolution);
who may see and change them is `units.access`, their target `units.target`."""

import json
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import ColumnElement, Select, asc, desc, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.models.common import OrderByDate
from control_plane.models.unit import OrderByName, UnitCreate, UnitFilter, UnitUpdate
from control_plane.security import Agent, AgentType
from control_plane.services import registry
from control_plane.services.broker.changes import broker_access_changed
from control_plane.services.errors import NotFoundError, UnitError
from control_plane.services.firmware import SchemaExample, SchemaExampleError, parse_schema_example
from control_plane.services.nodes import access as node_access
from control_plane.services.nodes.sync import sync_unit_nodes
from control_plane.services.paging import Page, paginate
from control_plane.services.repos.access import visible_repo
from control_plane.services.repos.repos import available_platforms
from control_plane.services.repos.versions import TargetVersion
from control_plane.services.units.access import own_unit, visible_units
from control_plane.services.units.target import file_at_target, target_of
from control_plane.services.visibility import VISIBILITY_RANK
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity, UnitNodeType
from pepeunit_core.db.models import Permission, Repo, Unit, UnitNode, UnitNodeEdge, User
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings

NAME_TAKEN = "Name is not unique"
SCHEMA_EXAMPLE_FILE = "schema_example.json"
ENV_EXAMPLE_FILE = "env_example.json"


def create_unit(session: Session, settings: Settings, user: User, data: UnitCreate) -> Unit:
    """Only from a repo the user may see: a unit's firmware carries the repo's whole tree."""
    try:
        repo = visible_repo(session, Agent(AgentType.USER, user.uuid, user), data.repo_uuid)
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


def list_units(
    session: Session, agent: Agent, filters: UnitFilter, page: Page
) -> tuple[int, Sequence[Unit]]:
    statement = _filtered(filters).where(visible_units(agent, filters.visibility_level))
    if filters.is_include_output_unit_nodes and filters.unit_node_input_uuid is not None:
        linked = _outputs_linked_to(filters.unit_node_input_uuid)
        statement = statement.where(Unit.uuid.in_(select(UnitNode.unit_uuid).where(linked)))
    return paginate(session, statement, page)


def _outputs_linked_to(input_uuid: UUID) -> ColumnElement[bool]:
    """Nodes with an edge to the Input node `input_uuid`."""
    edges = select(UnitNodeEdge.node_output_uuid).where(UnitNodeEdge.node_input_uuid == input_uuid)
    return UnitNode.uuid.in_(edges)


def included_nodes(
    session: Session, agent: Agent, units: Sequence[Unit], filters: UnitFilter
) -> dict[UUID, list[UnitNode]]:
    """The visible nodes of `units` a list asked for (`is_include_output_unit_nodes`): Output
    nodes unless `unit_node_type` says otherwise, limited to `unit_node_uuids` if given and
    to those linked to `unit_node_input_uuid` if given; one query for all `units`."""
    if not filters.is_include_output_unit_nodes or not units:
        return {}
    types = filters.unit_node_type or [UnitNodeType.OUTPUT]
    linked = (
        None
        if filters.unit_node_input_uuid is None
        else _outputs_linked_to(filters.unit_node_input_uuid)
    )
    return visible_nodes(session, agent, units, types, filters.unit_node_uuids, linked)


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
    condition: ColumnElement[bool] | None = None,
) -> dict[UUID, list[UnitNode]]:
    """Per unit, its nodes of `types` (limited to `uuids` and `condition` if given) that
    `agent` may see, oldest first."""
    if not units:
        return {}
    statement = select(UnitNode).where(
        UnitNode.unit_uuid.in_([unit.uuid for unit in units]), UnitNode.type.in_(types)
    )
    if uuids:
        statement = statement.where(UnitNode.uuid.in_(uuids))
    if condition is not None:
        statement = statement.where(condition)
    statement = statement.where(node_access.visible_nodes(agent, ()))
    found: dict[UUID, list[UnitNode]] = {}
    for node in session.scalars(statement.order_by(UnitNode.create_datetime, UnitNode.uuid)):
        found.setdefault(node.unit_uuid, []).append(node)
    return found


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
    with registry.registry_errors():
        branches = registry.list_branches(session, settings, repo.repository_registry_uuid)
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


def _schema_at(settings: Settings, repo: Repo, commit: str) -> SchemaExample:
    content = file_at_target(settings, repo, commit, SCHEMA_EXAMPLE_FILE)
    if content is None:
        raise UnitError(f"{SCHEMA_EXAMPLE_FILE} is missing at commit {commit}")
    try:
        return parse_schema_example(content)
    except SchemaExampleError as error:
        raise UnitError(str(error)) from error


def _check_env_example(settings: Settings, repo: Repo, commit: str) -> None:
    content = file_at_target(settings, repo, commit, ENV_EXAMPLE_FILE)
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
