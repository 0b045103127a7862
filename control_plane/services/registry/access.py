"""Registries as an agent may read them (docs/compatibility.md#user-routes,
docs/compatibility.md#access-model): public ones for everyone, private ones for their creator, the
users granted a repo built on them and the Backend agent (issue 11.4). Shared by the REST routes
and the Telegram bot.
"""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Select, asc, desc, select
from sqlalchemy.orm import Session

from control_plane.models.common import OrderByDate
from control_plane.models.repository_registry import (
    RepositoryRegistryFilter,
    RepositoryRegistryRead,
)
from control_plane.security import Agent, AgentType
from control_plane.services import registry as registry_service
from control_plane.services.errors import NoAccessError
from control_plane.services.paging import Page, paginate
from control_plane.services.registry.git_errors import GitError
from control_plane.services.registry.refusals import registry_errors
from control_plane.services.registry.registry_service import RegistryError
from pepeunit_core.db.models import RepositoryRegistry, User
from pepeunit_core.settings import Settings

REGISTRY_READERS = (AgentType.BOT, AgentType.USER, AgentType.BACKEND)
"""Who may read registries: anonymous callers see public ones only, users also the private
ones they may see; units have no access."""


def ensure_usable(session: Session, settings: Settings, registry_uuid: UUID, user: User) -> None:
    """Whether `user` may build a repo on the registry: a public one is open to every user, a
    private one to those who see it, once its creator's credentials are valid."""
    with registry_errors():
        registry_service.check_usable(session, settings, registry_uuid, user)


def synced_branches(session: Session, settings: Settings, registry_uuid: UUID) -> list[str]:
    """The branches of the registry's clone: none before a sync, or for a damaged clone."""
    try:
        return registry_service.list_branches(session, settings, registry_uuid)
    except (RegistryError, GitError):
        return []


def registry_read(
    session: Session, settings: Settings, registry: RepositoryRegistry
) -> RepositoryRegistryRead:
    """The registry with the branches of its local clone (none before a sync)."""
    branches = synced_branches(session, settings, registry.uuid)
    return RepositoryRegistryRead.model_validate(registry).model_copy(update={"branches": branches})


def visible_registry(session: Session, agent: Agent, uuid: UUID) -> RepositoryRegistry:
    with registry_errors():
        registry = registry_service.get_registry(session, uuid)
        if registry.is_public_repository or agent.type == AgentType.BACKEND:
            return registry
        if agent.type == AgentType.USER and agent.uuid is not None:
            return registry_service.get_visible_registry(session, uuid, agent.uuid)
    raise NoAccessError("Private registries are visible to logged-in users only")


def list_visible_registries(
    session: Session, agent: Agent, filters: RepositoryRegistryFilter, page: Page
) -> tuple[int, Sequence[RepositoryRegistry]]:
    return paginate(session, _filtered_registries(filters, agent), page)


def _filtered_registries(
    filters: RepositoryRegistryFilter, agent: Agent
) -> Select[tuple[RepositoryRegistry]]:
    statement = select(RepositoryRegistry)
    if agent.type == AgentType.USER and agent.uuid is not None:
        statement = statement.where(registry_service.visible_to_user(agent.uuid))
    elif agent.type != AgentType.BACKEND:
        statement = statement.where(RepositoryRegistry.is_public_repository.is_(True))
    if filters.uuids:
        statement = statement.where(RepositoryRegistry.uuid.in_(filters.uuids))
    if filters.creator_uuid is not None:
        statement = statement.where(RepositoryRegistry.creator_uuid == filters.creator_uuid)
    for word in (filters.search_string or "").split():
        statement = statement.where(
            RepositoryRegistry.repository_url.icontains(word, autoescape=True)
        )
    if filters.is_public_repository is not None:
        statement = statement.where(
            RepositoryRegistry.is_public_repository.is_(filters.is_public_repository)
        )
    by_create = asc if filters.order_by_create_date == OrderByDate.ASC else desc
    by_update = asc if filters.order_by_last_update == OrderByDate.ASC else desc
    return statement.order_by(
        by_create(RepositoryRegistry.create_datetime),
        by_update(RepositoryRegistry.last_update_datetime),
        by_create(RepositoryRegistry.uuid),
    )
