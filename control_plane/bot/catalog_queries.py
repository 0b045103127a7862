"""What `/registry`, `/repo` and `/dashboard` read or do, through the API's services, as the
chat's agent (docs/operations.md#telegram): the same visibility rules as REST, so a chat never sees
more than its user could read with a token (anonymous chats: public registries and repos only).

Blocking functions of a session, run off the event loop by `BotServices.run`; they return plain
data for `catalog_views` and raise the services' `ServiceError`s unchanged.
"""

import math
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from control_plane.bot.chats import chat_agent
from control_plane.bot.services import BotServices
from control_plane.models.dashboard import DashboardFilter, DashboardRead
from control_plane.models.repo import RepoFilter, RepoRead
from control_plane.models.repository_registry import (
    CredentialsStatus,
    RepositoryRegistryFilter,
    RepositoryRegistryRead,
)
from control_plane.models.unit import OrderByName, UnitFilter, UnitRead
from control_plane.security import Agent, AgentType
from control_plane.services import registry as registry_service
from control_plane.services.dashboards import dashboards
from control_plane.services.errors import InputValidationError, NoAccessError, ServiceError
from control_plane.services.paging import Page
from control_plane.services.registry import access as registry_access
from control_plane.services.repos import access as repo_access
from control_plane.services.repos import firmware_updates, repos
from control_plane.services.repos.versions import TargetVersion, VersionError, target_repo_version
from control_plane.services.units import units
from pepeunit_core.db.models import Repo, RepositoryRegistry, User
from pepeunit_core.settings import Settings

SEARCH_MAX_BYTES = 40
"""A search travels in the paging buttons, and Telegram lets a button carry 64 bytes."""


@dataclass(frozen=True)
class Listing:
    """Which page of a list, of what the chat may see."""

    page: int
    """0-based, within the pages there are."""
    pages: int
    count: int
    mine: bool
    search: str


@dataclass(frozen=True)
class RegistriesPageView:
    registries: list[RepositoryRegistryRead]
    listing: Listing


@dataclass(frozen=True)
class RegistryDetailView:
    registry: RepositoryRegistryRead
    linked: bool
    """A linked chat may ask for a sync."""
    credentials: CredentialsStatus | None
    """The linked user's own credentials for a private registry (None: none stored)."""
    repo_count: int
    """Repos on the registry that the chat may see."""


@dataclass(frozen=True)
class ReposPageView:
    repos: list[RepoRead]
    listing: Listing
    registry_uuid: UUID | None = None
    """The repos of this registry only."""


@dataclass(frozen=True)
class RepoVersion:
    commit: str
    unit_count: int
    tag: str | None


@dataclass(frozen=True)
class RepoDetailView:
    repo: RepoRead
    registry_url: str
    is_owner: bool
    target: TargetVersion | None
    """None when the registry cannot tell now (not synced, no tags...)."""
    unit_count: int
    versions: list[RepoVersion]
    """Per reported commit, most common first."""


@dataclass(frozen=True)
class RepoUnitsPageView:
    repo_uuid: UUID
    repo_name: str
    units: list[UnitRead]
    page: int
    pages: int
    count: int


@dataclass(frozen=True)
class DashboardsPageView:
    dashboards: list[DashboardRead]
    linked: bool
    page: int
    pages: int
    count: int


def search_words(text: str) -> str:
    """The search as the buttons carry it: words, no `:` (aiogram's separator; words match as
    substrings, so `https://host` still finds the same as `https //host`), bounded."""
    words = " ".join(text.replace(":", " ").split())
    if len(words.encode()) > SEARCH_MAX_BYTES:
        raise InputValidationError(f"A search is at most {SEARCH_MAX_BYTES} bytes long")
    return words


def _pages(count: int, per_page: int) -> int:
    return max(1, math.ceil(count / per_page))


def _own_user(agent: Agent) -> User | None:
    return agent.user if agent.type == AgentType.USER else None


def _listing_page(page: int, count: int, per_page: int) -> int | None:
    """The page to show again when `page` went past the end (rows went away), else None."""
    pages = _pages(count, per_page)
    return pages - 1 if page >= pages else None


# --- registries -------------------------------------------------------------------------------


def registries_page(
    session: Session, settings: Settings, chat_id: int, page: int, mine: bool, search: str
) -> RegistriesPageView:
    """The registries the chat may see (public ones for a chat nobody linked), newest first;
    `mine`: the linked user's own; `search`: words of the URL."""
    agent = chat_agent(session, chat_id)
    search = search_words(search)
    per_page, page = settings.telegram_items_per_page, max(page, 0)
    user = _own_user(agent)
    if mine and user is None:
        return RegistriesPageView([], Listing(0, 1, 0, mine, search))
    filters = RepositoryRegistryFilter(
        creator_uuid=user.uuid if mine and user else None, search_string=search or None
    )
    count, rows = registry_access.list_visible_registries(
        session, agent, filters, Page(page * per_page, per_page)
    )
    if (last := _listing_page(page, count, per_page)) is not None:
        page = last
        count, rows = registry_access.list_visible_registries(
            session, agent, filters, Page(page * per_page, per_page)
        )
    found = [RepositoryRegistryRead.model_validate(row) for row in rows]
    return RegistriesPageView(found, Listing(page, _pages(count, per_page), count, mine, search))


def find_registry(session: Session, chat_id: int, reference: str) -> UUID | None:
    """The registry `reference` names by uuid (one the chat may see); None for anything else."""
    try:
        uuid = UUID(reference)
    except ValueError:
        return None
    return registry_access.visible_registry(session, chat_agent(session, chat_id), uuid).uuid


def registry_detail(
    session: Session, settings: Settings, chat_id: int, uuid: UUID
) -> RegistryDetailView:
    agent = chat_agent(session, chat_id)
    registry = registry_access.visible_registry(session, agent, uuid)
    user = _own_user(agent)
    credentials = None
    if user is not None and not registry.is_public_repository:
        with registry_service.registry_errors():
            entry = registry_service.get_credentials(session, settings, uuid, user)
        credentials = entry.status if entry is not None else None
    repo_count, _ = repos.list_repos(
        session, agent, RepoFilter(repository_registry_uuid=uuid), Page(0, 0)
    )
    return RegistryDetailView(
        registry_access.registry_read(session, settings, registry),
        user is not None,
        credentials,
        repo_count,
    )


def sync_registry(session: Session, settings: Settings, chat_id: int, uuid: UUID) -> str:
    """Fetches the registry again (a linked user who may see it; a private one with its
    creator's valid credentials, as over REST); returns its URL."""
    agent = chat_agent(session, chat_id)
    user = _own_user(agent)
    if user is None:
        raise NoAccessError("Link this chat to your account to sync a registry")
    registry = registry_access.visible_registry(session, agent, uuid)
    with registry_service.registry_errors():
        registry_service.sync_registry(session, settings, registry.uuid, user)
    return registry.repository_url


# --- repos ------------------------------------------------------------------------------------


def repos_page(
    session: Session,
    settings: Settings,
    chat_id: int,
    page: int,
    mine: bool,
    search: str,
    registry_uuid: UUID | None = None,
) -> ReposPageView:
    """The repos the chat may see, newest first; `mine`: the linked user's own; `search`: words
    of the name, registry URL or branch; `registry_uuid`: that registry's only."""
    agent = chat_agent(session, chat_id)
    search = search_words(search)
    per_page, page = settings.telegram_items_per_page, max(page, 0)
    user = _own_user(agent)
    if registry_uuid is not None:  # a registry hidden from the chat lists nothing
        registry_access.visible_registry(session, agent, registry_uuid)
    if mine and user is None:
        return ReposPageView([], Listing(0, 1, 0, mine, search), registry_uuid)
    filters = RepoFilter(
        creator_uuid=user.uuid if mine and user else None,
        search_string=search or None,
        repository_registry_uuid=registry_uuid,
    )
    count, rows = repos.list_repos(session, agent, filters, Page(page * per_page, per_page))
    if (last := _listing_page(page, count, per_page)) is not None:
        page = last
        count, rows = repos.list_repos(session, agent, filters, Page(page * per_page, per_page))
    found = [RepoRead.model_validate(row) for row in rows]
    listing = Listing(page, _pages(count, per_page), count, mine, search)
    return ReposPageView(found, listing, registry_uuid)


def find_repo(session: Session, chat_id: int, reference: str) -> UUID | None:
    """The repo `reference` names (uuid or exact name), if the chat may see it; None when no
    repo has that name (the text is a search then)."""
    agent = chat_agent(session, chat_id)
    try:
        uuid: UUID | None = UUID(reference)
    except ValueError:
        uuid = session.scalar(select(Repo.uuid).where(Repo.name == reference))
    if uuid is None:
        return None
    return repo_access.visible_repo(session, agent, uuid).uuid


def repo_detail(session: Session, settings: Settings, chat_id: int, uuid: UUID) -> RepoDetailView:
    agent = chat_agent(session, chat_id)
    repo = repo_access.visible_repo(session, agent, uuid)
    user = _own_user(agent)
    registry = session.get_one(RepositoryRegistry, repo.repository_registry_uuid)
    unit_count, versions = repos.unit_versions(session, settings, repo)
    return RepoDetailView(
        RepoRead.model_validate(repo),
        registry.repository_url,
        user is not None and user.uuid == repo.creator_uuid,
        _target(settings, repo),
        unit_count,
        [RepoVersion(commit, count, tag) for commit, count, tag in versions],
    )


def _target(settings: Settings, repo: Repo) -> TargetVersion | None:
    try:
        history = (
            repos.branch_history(settings, repo.repository_registry_uuid, repo.default_branch)
            if repo.default_branch
            else []
        )
        return target_repo_version(repos.version_settings(repo), history)
    except (ServiceError, VersionError):
        return None


def update_repo_units(
    session: Session, services: BotServices, chat_id: int, uuid: UUID
) -> tuple[str, int, int]:
    """Sends Update to the repo's auto-updating units (the repo's creator only); returns the
    repo's name, the units asked and how many of them could not be."""
    agent = chat_agent(session, chat_id)
    user = _own_user(agent)
    if user is None:
        raise NoAccessError("Only the repo's creator can do this")
    repo = repo_access.own_repo(session, user, uuid)
    report = firmware_updates.update_repo_units(
        session, services.settings, services.publisher, repo
    )
    return repo.name, report.units, report.failed


def repo_units_page(
    session: Session, settings: Settings, chat_id: int, uuid: UUID, page: int
) -> RepoUnitsPageView:
    """The repo's units the chat may see, by name."""
    agent = chat_agent(session, chat_id)
    repo = repo_access.visible_repo(session, agent, uuid)
    per_page, page = settings.telegram_items_per_page, max(page, 0)
    filters = UnitFilter(order_by_unit_name=OrderByName.ASC, repo_uuid=repo.uuid)
    count, rows = units.list_units(session, agent, filters, Page(page * per_page, per_page))
    if (last := _listing_page(page, count, per_page)) is not None:
        page = last
        count, rows = units.list_units(session, agent, filters, Page(page * per_page, per_page))
    found = [UnitRead.model_validate(row) for row in rows]
    return RepoUnitsPageView(repo.uuid, repo.name, found, page, _pages(count, per_page), count)


# --- dashboards -------------------------------------------------------------------------------


def dashboards_page(
    session: Session, settings: Settings, chat_id: int, page: int
) -> DashboardsPageView:
    """The linked user's own dashboards, newest first (dashboards are their creator's alone)."""
    agent = chat_agent(session, chat_id)
    user = _own_user(agent)
    if user is None:
        return DashboardsPageView([], False, 0, 1, 0)
    per_page, page = settings.telegram_items_per_page, max(page, 0)
    filters = DashboardFilter()
    count, rows = dashboards.list_dashboards(
        session, user, filters, Page(page * per_page, per_page)
    )
    if (last := _listing_page(page, count, per_page)) is not None:
        page = last
        count, rows = dashboards.list_dashboards(
            session, user, filters, Page(page * per_page, per_page)
        )
    found = [DashboardRead.model_validate(row) for row in rows]
    return DashboardsPageView(found, True, page, _pages(count, per_page), count)
