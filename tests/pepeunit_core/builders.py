"""Rows of the SQL data model with valid defaults, for tests that only care about a few fields."""

from uuid import uuid4

from sqlalchemy.orm import Session

from pepeunit_core.db.enums import (
    OfflineUnitPolicy,
    PermissionEntity,
    RepositoryPlatform,
    RollbackScope,
    RolloutStageSize,
    RolloutTargetKind,
    UnitNodeType,
    UserRole,
)
from pepeunit_core.db.models import (
    Permission,
    Repo,
    RepositoryRegistry,
    Rollout,
    RolloutStage,
    RolloutUnit,
    Unit,
    UnitNode,
    User,
)


def short_name(prefix: str) -> str:
    """A unique name within the reference's 4-20 character rule."""
    return f"{prefix}-{uuid4().hex[:8]}"


def add_user(session: Session, login: str | None = None) -> User:
    user = User(
        role=UserRole.USER,
        login=login or short_name("user"),
        hashed_password="hash",
        cipher_dynamic_salt="salt",
    )
    session.add(user)
    session.flush()
    return user


def add_registry(session: Session, creator: User, url: str | None = None) -> RepositoryRegistry:
    registry = RepositoryRegistry(
        platform=RepositoryPlatform.GITHUB,
        repository_url=url or f"https://github.com/pepeunit/{uuid4().hex}.git",
        creator_uuid=creator.uuid,
    )
    session.add(registry)
    session.flush()
    return registry


def add_repo(
    session: Session, creator: User, registry: RepositoryRegistry, name: str | None = None
) -> Repo:
    repo = Repo(
        name=name or short_name("repo"),
        creator_uuid=creator.uuid,
        repository_registry_uuid=registry.uuid,
    )
    session.add(repo)
    session.flush()
    return repo


def add_unit(session: Session, creator: User, repo: Repo, name: str | None = None) -> Unit:
    unit = Unit(name=name or short_name("unit"), creator_uuid=creator.uuid, repo_uuid=repo.uuid)
    session.add(unit)
    session.flush()
    return unit


def add_node(session: Session, unit: Unit, node_type: UnitNodeType, topic: str) -> UnitNode:
    node = UnitNode(
        type=node_type, topic_name=topic, creator_uuid=unit.creator_uuid, unit_uuid=unit.uuid
    )
    session.add(node)
    session.flush()
    return node


def add_unit_tree(session: Session) -> tuple[User, Unit]:
    """A user owning a registry, a repo and a unit."""
    user = add_user(session)
    registry = add_registry(session, user)
    repo = add_repo(session, user, registry)
    return user, add_unit(session, user, repo)


def grant(session: Session, agent: User | Unit, resource: Repo | Unit | UnitNode) -> Permission:
    """A permission row of `agent` on `resource`."""
    agent_column = "agent_user_uuid" if isinstance(agent, User) else "agent_unit_uuid"
    resource_type, resource_column = {
        Repo: (PermissionEntity.REPO, "resource_repo_uuid"),
        Unit: (PermissionEntity.UNIT, "resource_unit_uuid"),
        UnitNode: (PermissionEntity.UNIT_NODE, "resource_unit_node_uuid"),
    }[type(resource)]
    permission = Permission(
        agent_type=PermissionEntity.USER if isinstance(agent, User) else PermissionEntity.UNIT,
        resource_type=resource_type,
        **{agent_column: agent.uuid, resource_column: resource.uuid},
    )
    session.add(permission)
    session.flush()
    return permission


def add_rollout(session: Session, creator: User, unit: Unit) -> Rollout:
    """A Pending rollout of `creator` over `unit` to tag v2: one stage of 100 %."""
    rollout = Rollout(
        repo_uuid=unit.repo_uuid,
        target_kind=RolloutTargetKind.TAG,
        target_branch="main",
        target_ref="v2",
        target_commit="c" * 40,
        offline_policy=OfflineUnitPolicy.WAIT,
        rollback_on_halt=RollbackScope.FAILED_UNITS,
        creator_uuid=creator.uuid,
    )
    session.add(rollout)
    session.flush()
    session.add(
        RolloutStage(
            rollout_uuid=rollout.uuid,
            position=0,
            size_kind=RolloutStageSize.PERCENT,
            size_value=100,
            soak_seconds=60,
            confirm_deadline_seconds=120,
        )
    )
    session.add(RolloutUnit(rollout_uuid=rollout.uuid, unit_uuid=unit.uuid, stage=0))
    session.flush()
    return rollout
