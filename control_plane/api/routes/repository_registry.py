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
from control_plane.services.paging import MAX_OFFSET
from control_plane.services.registry import GitCredentials, InvalidCredentialsError, registry_errors
from control_plane.services.registry.access import (
    list_visible_registries,
    registry_read,
    visible_registry,
)

router = APIRouter(prefix="/repository_registry", tags=["repository_registry"])

Reader = Annotated[Agent, Depends(agent_of_types(AgentType.BOT, AgentType.USER, AgentType.BACKEND))]
"""Who may read registries: anonymous callers see public ones only, users also the private
ones they may see."""

BackendAgent = Annotated[Agent, Depends(agent_of_types(AgentType.BACKEND))]


def _git_credentials(credentials: Credentials | None) -> GitCredentials | None:
    if credentials is None:
        return None
    try:
        return GitCredentials(credentials.username, credentials.pat_token)
    except InvalidCredentialsError as error:
        raise InputValidationError(str(error)) from None


@router.post("", status_code=status.HTTP_201_CREATED)
def create_registry(
    data: RepositoryRegistryCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> RepositoryRegistryRead:
    """Register a repository and clone it at once (private ones need credentials)."""
    credentials = None if data.is_public_repository else _git_credentials(data.credentials)
    with registry_errors():
        registry = registry_service.create_registry(
            session,
            settings,
            user,
            data.repository_url,
            data.platform,
            data.is_public_repository,
            credentials,
            allowed_url_schemes=frozenset(settings.registry_allowed_url_schemes),
        )
    return registry_read(session, settings, registry)


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
    with registry_errors():
        registry_service.get_visible_registry(session, uuid, user.uuid)
        commits = registry_service.list_commits(
            session, settings, uuid, repo_branch, only_tags=only_tag, offset=offset, limit=limit
        )
    return [
        CommitRead(
            commit=item.sha,
            summary=item.summary,
            tag=item.tags[0] if item.tags else None,
            tags=list(item.tags),
        )
        for item in commits
    ]


@router.patch("/set_credentials/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def set_credentials(
    uuid: UUID, data: Credentials, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> None:
    """Store or replace your own credentials for a private registry (checked with the remote)."""
    credentials = _git_credentials(data)
    assert credentials is not None
    with registry_errors():
        registry_service.set_credentials(session, settings, uuid, user, credentials)
    session.commit()


@router.get("/get_credentials/{uuid}")
def get_credentials(
    uuid: UUID, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> OneRepositoryRegistryCredentials | None:
    """Your own credentials for the registry, token included, or null."""
    with registry_errors():
        entry = registry_service.get_credentials(session, settings, uuid, user)
    if entry is None:
        return None
    credentials = Credentials(
        username=entry.credentials.username, pat_token=entry.credentials.pat_token
    )
    return OneRepositoryRegistryCredentials(credentials=credentials, status=entry.status)


@router.patch(
    "/update_local_repository/{uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=declared_errors(429),
)
def update_local_repository(
    uuid: UUID, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> None:
    """Fetch the registry again; a private one needs your own valid credentials."""
    with registry_errors():
        registry_service.sync_registry(session, settings, uuid, user)


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
    with registry_errors():
        registry_service.delete_registry(session, settings, uuid, user)
    session.commit()
