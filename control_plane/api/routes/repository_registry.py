"""`/repository_registry`: git repositories cloned onto the instance
(docs/compatibility.md#user-routes).

Public registries are visible to everyone; private ones (and their commits) only to their
creator, to users granted a repo built on them, and to the Backend agent. Units have no
access. Creating, syncing, reading commits and credentials need a user; setting credentials
and deleting, the creator. Git transfers are bounded per process and per user (503 / 429 when
all slots are taken). Service errors keep the reference's error shape.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from control_plane.api.deps import CurrentUser, SessionDep, SettingsDep, agent_of_types
from control_plane.api.error_responses import declared_errors
from control_plane.api.pagination import PageDep
from control_plane.models.repository_registry import (
    BranchName,
    CommitRead,
    Credentials,
    OneRepositoryRegistryCredentials,
    RepositoriesRegistryResult,
    RepositoryRegistryCreate,
    RepositoryRegistryFilter,
    RepositoryRegistryRead,
)
from control_plane.security import Agent, AgentType
from control_plane.services import registry as registry_service
from control_plane.services.errors import InputValidationError
from control_plane.services.paging import MAX_OFFSET, Page
from control_plane.services.registry import user_requests
from control_plane.services.registry.access import (
    REGISTRY_READERS,
    list_visible_registries,
    registry_read,
    visible_registry,
)

router = APIRouter(prefix="/repository_registry", tags=["repository_registry"])

Reader = Annotated[Agent, Depends(agent_of_types(*REGISTRY_READERS))]

BackendAgent = Annotated[Agent, Depends(agent_of_types(AgentType.BACKEND))]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_registry(
    data: RepositoryRegistryCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> RepositoryRegistryRead:
    """Register a repository and clone it at once (private ones need credentials)."""
    return user_requests.create(session, settings, user, data)


@router.patch("/backend_sync_registry", status_code=status.HTTP_204_NO_CONTENT)
def backend_sync_registry(_agent: BackendAgent, session: SessionDep, settings: SettingsDep) -> None:
    """Sync every registry that has no local clone (e.g. after a restore)."""
    registry_service.sync_missing_registries(session, settings)


@router.get("/branch_commits/{uuid}")
def get_branch_commits(
    uuid: UUID,
    repo_branch: Annotated[BranchName, Query()],
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    only_tag: bool = False,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=0)] = 10,
) -> list[CommitRead]:
    """Commits of `repo_branch`, newest first, with their tags; `only_tag`: tagged ones only."""
    if limit > settings.max_pagination_size:
        raise InputValidationError(f"limit must be at most {settings.max_pagination_size}")
    page = Page(offset, limit)
    return user_requests.branch_commits(session, settings, user, uuid, repo_branch, only_tag, page)


@router.patch("/set_credentials/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def set_credentials(
    uuid: UUID, data: Credentials, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> None:
    """Store or replace your own credentials for a private registry (checked with the remote)."""
    user_requests.set_credentials(session, settings, user, uuid, data)


@router.get("/get_credentials/{uuid}")
def get_credentials(
    uuid: UUID, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> OneRepositoryRegistryCredentials | None:
    """Your own credentials for the registry, token included, or null."""
    return user_requests.own_credentials(session, settings, user, uuid)


@router.patch(
    "/update_local_repository/{uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=declared_errors(429),
)
def update_local_repository(
    uuid: UUID, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> None:
    """Fetch the registry again; a private one needs your own valid credentials."""
    user_requests.sync(session, settings, user, uuid)


@router.get("")
def list_registries(
    filters: Annotated[RepositoryRegistryFilter, Query()],
    page: PageDep,
    agent: Reader,
    session: SessionDep,
    settings: SettingsDep,
) -> RepositoriesRegistryResult:
    """Anonymous callers get public registries only."""
    count, rows = list_visible_registries(session, agent, filters, page)
    return RepositoriesRegistryResult(
        count=count, repositories_registry=[registry_read(session, settings, row) for row in rows]
    )


@router.get("/{uuid}")
def get_registry(
    uuid: UUID, agent: Reader, session: SessionDep, settings: SettingsDep
) -> RepositoryRegistryRead:
    return registry_read(session, settings, visible_registry(session, agent, uuid))


@router.delete("/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_registry(
    uuid: UUID, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> None:
    """Only the creator, and only while no Repo uses the registry."""
    user_requests.delete(session, settings, user, uuid)
