"""What the repos pages show, read through the services with the signed-in agent: a page of
repos with their registries, and one repo with its update policy, the versions its branch
offers (as `GET /repository_registry/branch_commits` lists them), its units' current and
target versions, and, for its creator, who has access to it."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.console.access_view import Access, access_list
from control_plane.console.unit_rows import UnitRow, version_rows
from control_plane.models.permission import ResourceKind
from control_plane.models.repo import RepoFilter
from control_plane.models.repository_registry import RepositoryRegistryFilter
from control_plane.models.unit import OrderByName, UnitFilter
from control_plane.security import Agent
from control_plane.services import registry as registry_service
from control_plane.services.errors import ServiceError
from control_plane.services.paging import Page
from control_plane.services.registry import GitError, registry_errors
from control_plane.services.registry.access import list_visible_registries
from control_plane.services.repos import access as repo_access
from control_plane.services.repos import repos
from control_plane.services.units import units
from pepeunit_core.db.models import Repo, RepositoryRegistry
from pepeunit_core.settings import Settings

VERSIONS_SHOWN = 20
UNITS_SHOWN = 200


@dataclass(frozen=True)
class RepoRow:
    repo: Repo
    registry_url: str | None
    """None when the registry is not visible to the caller."""

    @property
    def policy(self) -> str:
        return policy_of(self.repo)


@dataclass(frozen=True)
class Version:
    commit: str
    summary: str
    tags: tuple[str, ...]
    moment: datetime


@dataclass(frozen=True)
class RepoDetail:
    repo: Repo
    registry: RepositoryRegistry | None
    versions: list[Version]
    versions_problem: str | None
    units: list[UnitRow]
    unit_count: int
    access: list[Access] | None
    """Who has access, for the repo's creator only (None for anyone else)."""

    @property
    def policy(self) -> str:
        return policy_of(self.repo)

    @property
    def owned(self) -> bool:
        return self.access is not None


def policy_of(repo: Repo) -> str:
    mode = "automatic" if repo.is_auto_update_repo else "manual"
    if repo.is_auto_update_repo:
        return f"{mode}, {'tags only' if repo.is_only_tag_update else 'tags and commits'}"
    return f"{mode}, commit {repo.default_commit[:8] if repo.default_commit else 'not set'}"


def repos_page(session: Session, agent: Agent, number: int, size: int) -> tuple[int, list[RepoRow]]:
    count, found = repos.list_repos(session, agent, RepoFilter(), Page((number - 1) * size, size))
    urls = _registry_urls(session, agent, {repo.repository_registry_uuid for repo in found})
    return count, [RepoRow(repo, urls.get(repo.repository_registry_uuid)) for repo in found]


def repo_detail(session: Session, settings: Settings, agent: Agent, uuid: UUID) -> RepoDetail:
    repo = repo_access.visible_repo(session, agent, uuid)
    registry = _visible_registry(session, agent, repo.repository_registry_uuid)
    versions, problem = _versions(session, settings, agent, repo, registry)
    unit_count, found = units.list_units(
        session,
        agent,
        UnitFilter(repo_uuid=repo.uuid, order_by_unit_name=OrderByName.ASC),
        Page(0, UNITS_SHOWN),
    )
    rows = version_rows(session, settings, agent, found, datetime.now(UTC))
    owned = agent.user is not None and repo.creator_uuid == agent.user.uuid
    access = (
        access_list(session, agent.user, ResourceKind.REPO, repo.uuid, repo.creator_uuid)
        if owned and agent.user
        else None
    )
    return RepoDetail(repo, registry, versions, problem, rows, unit_count, access)


def _registry_urls(session: Session, agent: Agent, uuids: set[UUID]) -> dict[UUID, str]:
    if not uuids:
        return {}
    _, found = list_visible_registries(
        session, agent, RepositoryRegistryFilter(uuids=list(uuids)), Page(0, len(uuids))
    )
    return {registry.uuid: registry.repository_url for registry in found}


def _visible_registry(session: Session, agent: Agent, uuid: UUID) -> RepositoryRegistry | None:
    _, found = list_visible_registries(
        session, agent, RepositoryRegistryFilter(uuids=[uuid]), Page(0, 1)
    )
    return found[0] if found else None


def _versions(
    session: Session,
    settings: Settings,
    agent: Agent,
    repo: Repo,
    registry: RepositoryRegistry | None,
) -> tuple[list[Version], str | None]:
    """The newest commits of the repo's branch (tagged ones only for a tags-only repo)."""
    if registry is None or agent.user is None:
        return [], "The registry is not visible to you"
    if not repo.default_branch:
        return [], "The repo has no branch"
    try:
        with registry_errors():
            registry_service.get_visible_registry(session, registry.uuid, agent.user.uuid)
            found = registry_service.list_commits(
                session,
                settings,
                registry.uuid,
                repo.default_branch,
                only_tags=repo.is_only_tag_update,
                limit=VERSIONS_SHOWN,
            )
    except (ServiceError, GitError) as error:
        return [], error.message if isinstance(error, ServiceError) else str(error)
    return [Version(item.sha, item.summary, item.tags, item.datetime) for item in found], None
