"""Registries as an agent may read them (docs/compatibility.md#user-routes,
docs/compatibility.md#access-model): public ones for everyone, private ones for their creator, the
users granted a repo built on them and the Backend agent (issue 11.4); the registry service's errors
as the services' refusals. Shared by the REST routes and the Telegram bot.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
from control_plane.services.errors import (
    GitRepoError,
    GitTransfersBusyError,
    NoAccessError,
    NotFoundError,
    RegistryBusyError,
    RepositoryRegistryError,
    ServiceError,
)
from control_plane.services.paging import Page, paginate
from control_plane.services.registry import (
    GitError,
    RegistryError,
    RegistryGitError,
    RegistryRefusal,
)
from pepeunit_core.db.models import RepositoryRegistry
from pepeunit_core.settings import Settings


@contextmanager
def registry_errors() -> Iterator[None]:
    """Turns the registry service's errors into the services' refusals."""
    try:
        yield
    except RegistryError as error:
        raise _refusal(error) from None


def _refusal(error: RegistryError) -> ServiceError:
    if isinstance(error, RegistryGitError):
        return GitRepoError(error.detail)
    match error.reason:
        case RegistryRefusal.FORBIDDEN:
            return NoAccessError(error.detail)
        case RegistryRefusal.NOT_FOUND:
            return NotFoundError(error.detail)
        case RegistryRefusal.BUSY:
            return RegistryBusyError(error.detail)
        case RegistryRefusal.NO_TRANSFER_SLOT:
            return GitTransfersBusyError(error.detail)
        case _:
            return RepositoryRegistryError(error.detail)


def registry_read(
    session: Session, settings: Settings, registry: RepositoryRegistry
) -> RepositoryRegistryRead:
    """The registry with the branches of its local clone (none before a sync)."""
    try:
        branches = registry_service.list_branches(session, settings, registry.uuid)
    except (RegistryError, GitError):  # not synced yet, or a damaged clone
        branches = []
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
