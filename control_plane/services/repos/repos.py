"""Repos: a user's product on a registry (a branch plus an update policy); who may see and change
them is `repos.access`."""

import json
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    UnaryExpression,
    asc,
    desc,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from control_plane.models.common import OrderByDate
from control_plane.models.repo import RepoCreate, RepoFilter, RepoUpdate
from control_plane.security import Agent
from control_plane.services import registry
from control_plane.services.errors import RepoError
from control_plane.services.paging import Page, paginate
from control_plane.services.registry import git_failures_as, registry_errors
from control_plane.services.registry.access import ensure_usable, synced_branches
from control_plane.services.repos.access import own_repo, visible_repos
from control_plane.services.repos.versions import (
    CommitLike,
    RepoVersionSettings,
    VersionError,
    commit_tag,
    find_commit,
    target_repo_version,
)
from control_plane.services.visibility import VISIBILITY_RANK
from pepeunit_core.db.enums import PermissionEntity, VisibilityLevel
from pepeunit_core.db.models import Permission, Repo, RepositoryRegistry, Unit, User
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings

NAME_TAKEN = "Name is not unique"


def create_repo(session: Session, settings: Settings, user: User, data: RepoCreate) -> Repo:
    """A repo on a registry the user may use, following it by tags (forced, as 1.x does)."""
    ensure_usable(session, settings, data.repository_registry_uuid, user)
    if data.default_branch not in _branches(session, settings, data.repository_registry_uuid):
        raise RepoError(f"Branch {data.default_branch} does not exist in the registry")
    _ensure_name_free(session, data.name)
    repo = Repo(
        **data.model_dump(),
        is_auto_update_repo=True,
        is_only_tag_update=True,
        creator_uuid=user.uuid,
    )
    session.add(repo)
    session.flush()
    session.add(
        Permission(
            agent_type=PermissionEntity.USER,
            agent_user_uuid=user.uuid,
            resource_type=PermissionEntity.REPO,
            resource_repo_uuid=repo.uuid,
        )
    )
    _commit_or_name_taken(session)
    return repo


def list_repos(
    session: Session, agent: Agent, filters: RepoFilter, page: Page
) -> tuple[int, Sequence[Repo]]:
    statement = _filtered(filters).where(visible_repos(agent, filters.visibility_level))
    return paginate(session, statement, page)


def update_repo(
    session: Session, settings: Settings, user: User, uuid: UUID, data: RepoUpdate
) -> Repo:
    """Change the creator's repo; the result must be a valid update policy
    (docs/compatibility.md#version-resolution)."""
    repo = own_repo(session, user, uuid)
    changes = data.model_dump(exclude_none=True)
    if "name" in changes and changes["name"] != repo.name:
        _ensure_name_free(session, changes["name"])
    if "default_branch" in changes and changes["default_branch"] != repo.default_branch:
        branches = _branches(session, settings, repo.repository_registry_uuid)
        if changes["default_branch"] not in branches:
            raise RepoError(f"Branch {changes['default_branch']} does not exist in the registry")
    if "visibility_level" in changes:
        _check_children_visibility(session, repo, changes["visibility_level"])
    for field, value in changes.items():
        setattr(repo, field, value)
    _check_update_policy(settings, repo)
    repo.last_update_datetime = utc_now()
    _commit_or_name_taken(session)
    return repo


def delete_repo(session: Session, user: User, uuid: UUID) -> None:
    repo = own_repo(session, user, uuid)
    if session.scalar(select(exists().where(Unit.repo_uuid == repo.uuid))):
        raise RepoError("The repo has units; delete them first")
    session.delete(repo)
    session.commit()


def unit_versions(
    session: Session, settings: Settings, repo: Repo
) -> tuple[int, list[tuple[str, int, str | None]]]:
    """The number of units of `repo` and, per reported commit, its unit count and tag (most
    common first)."""
    unit_count = session.scalar(select(func.count()).where(Unit.repo_uuid == repo.uuid)) or 0
    rows = session.execute(
        select(Unit.current_commit_version, func.count())
        .where(Unit.repo_uuid == repo.uuid, Unit.current_commit_version.is_not(None))
        .group_by(Unit.current_commit_version)
    ).all()
    tags = _registry_tags(session, settings, repo.repository_registry_uuid) if rows else {}
    versions = [(commit, count, tags.get(commit)) for commit, count in rows if commit]
    return unit_count, sorted(versions, key=lambda version: (-version[1], version[0]))


def available_platforms(
    session: Session,
    settings: Settings,
    repo: Repo,
    target_commit: str | None,
    target_tag: str | None,
) -> list[tuple[str, str]]:
    """Release assets `(name, link)` of `target_tag`, else of `target_commit`'s tag, else of the
    repo's target tag; none for interpretable repos or untagged targets."""
    if not repo.is_compilable_repo:
        return []
    tag = target_tag
    if tag is None and target_commit is not None:
        tag = _registry_tags(session, settings, repo.repository_registry_uuid).get(target_commit)
    elif tag is None:
        history = branch_history(settings, repo.repository_registry_uuid, repo.default_branch or "")
        try:
            tag = target_repo_version(version_settings(repo), history).tag
        except VersionError as error:
            raise RepoError(str(error)) from error
    with registry_errors():
        registry_row = registry.get_registry(session, repo.repository_registry_uuid)
    return _release_assets(registry_row.releases_data).get(tag or "", [])


def version_settings(repo: Repo) -> RepoVersionSettings:
    return RepoVersionSettings(
        default_branch=repo.default_branch,
        is_auto_update_repo=repo.is_auto_update_repo,
        is_only_tag_update=repo.is_only_tag_update,
        is_compilable_repo=repo.is_compilable_repo,
        default_commit=repo.default_commit,
    )


def _release_assets(releases_data: str | None) -> dict[str, list[tuple[str, str]]]:
    """`{tag: [[name, url], ...]}` as stored by the sync; anything malformed counts as none."""
    try:
        releases = json.loads(releases_data or "{}")
    except ValueError:
        return {}
    if not isinstance(releases, dict):
        return {}
    return {
        tag: [
            (asset[0], asset[1])
            for asset in assets
            if isinstance(asset, list)
            and len(asset) == 2
            and all(isinstance(part, str) for part in asset)
        ]
        for tag, assets in releases.items()
        if isinstance(assets, list)
    }


def _registry_tags(session: Session, settings: Settings, registry_uuid: UUID) -> dict[str, str]:
    """The tag of every tagged commit on any branch of the registry's clone (none unsynced)."""
    tags: dict[str, str] = {}
    for name in synced_branches(session, settings, registry_uuid):
        for commit in branch_history(settings, registry_uuid, name):
            tag = commit_tag(commit)
            if tag is not None:
                tags[commit.sha] = tag
    return tags


def branch_history(settings: Settings, registry_uuid: UUID, branch: str) -> list[CommitLike]:
    """Every commit of `branch` in the registry's clone, newest first, with their tags."""
    with git_failures_as(RepoError):
        return list(registry.commits(registry.registry_clone_path(settings, registry_uuid), branch))


def _check_update_policy(settings: Settings, repo: Repo) -> None:
    if repo.is_compilable_repo and repo.is_auto_update_repo and not repo.is_only_tag_update:
        raise RepoError("A compilable repo updating automatically must update by tags only")
    if repo.is_auto_update_repo:
        return
    if not repo.default_branch or not repo.default_commit:
        raise RepoError("Without auto-update the repo needs a default branch and commit")
    history = branch_history(settings, repo.repository_registry_uuid, repo.default_branch)
    if find_commit(history, repo.default_commit) is None:
        raise RepoError(f"Commit {repo.default_commit} is not on branch {repo.default_branch}")


def _check_children_visibility(session: Session, repo: Repo, level: VisibilityLevel) -> None:
    """Units must stay at least as restricted as their repo."""
    lower = [name for name, rank in VISIBILITY_RANK.items() if rank < VISIBILITY_RANK[level]]
    if lower and session.scalar(
        select(exists().where(Unit.repo_uuid == repo.uuid, Unit.visibility_level.in_(lower)))
    ):
        raise RepoError(f"Units of the repo are less restricted than {level}")


def _filtered(filters: RepoFilter) -> Select[tuple[Repo]]:
    statement = select(Repo)
    if filters.repository_registry_uuid is not None:
        statement = statement.where(
            Repo.repository_registry_uuid == filters.repository_registry_uuid
        )
    if filters.uuids:
        statement = statement.where(Repo.uuid.in_(filters.uuids))
    if filters.creator_uuid is not None:
        statement = statement.where(Repo.creator_uuid == filters.creator_uuid)
    if filters.creators_uuids:
        statement = statement.where(Repo.creator_uuid.in_(filters.creators_uuids))
    if filters.is_auto_update_repo is not None:
        statement = statement.where(Repo.is_auto_update_repo == filters.is_auto_update_repo)
    words = (filters.search_string or "").split()
    if words:
        statement = statement.join(
            RepositoryRegistry, RepositoryRegistry.uuid == Repo.repository_registry_uuid
        )
    for word in words:
        statement = statement.where(
            or_(
                Repo.name.icontains(word, autoescape=True),
                RepositoryRegistry.repository_url.icontains(word, autoescape=True),
                Repo.default_branch.icontains(word, autoescape=True),
            )
        )
    order = []
    if filters.order_by_last_update is not None:
        order.append(_direction(filters.order_by_last_update)(Repo.last_update_datetime))
    by_create = _direction(filters.order_by_create_date)
    return statement.order_by(*order, by_create(Repo.create_datetime), by_create(Repo.uuid))


def _direction(order: OrderByDate) -> Callable[[ColumnElement[Any]], UnaryExpression[Any]]:
    return asc if order == OrderByDate.ASC else desc


def _branches(session: Session, settings: Settings, registry_uuid: UUID) -> list[str]:
    with registry_errors():
        return registry.list_branches(session, settings, registry_uuid)


def _ensure_name_free(session: Session, name: str) -> None:
    if session.scalar(select(exists().where(Repo.name == name))):
        raise RepoError(NAME_TAKEN)


def _commit_or_name_taken(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise RepoError(NAME_TAKEN) from None
