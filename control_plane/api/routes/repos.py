"""`/repos`: create (users with access to the registry), read and list (by visibility), update
or delete and update the units' firmware (the creator); the fleet-wide update (Admins)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from control_plane.api.deps import (
    ContextDep,
    CurrentAdmin,
    CurrentUser,
    SessionDep,
    SettingsDep,
    agent_of_types,
)
from control_plane.api.pagination import PageDep
from control_plane.models.repo import (
    CommitHash,
    PlatformRead,
    RepoCreate,
    RepoFilter,
    RepoRead,
    ReposResult,
    RepoUpdate,
    RepoVersionsRead,
    TagName,
)
from control_plane.security import Agent, AgentType
from control_plane.services.repos import access as repo_access
from control_plane.services.repos import repos, user_requests
from control_plane.services.repos.access import REPO_READERS

router = APIRouter(prefix="/repos", tags=["repos"])

RepoReader = Annotated[Agent, Depends(agent_of_types(*REPO_READERS))]

UserAgent = Annotated[Agent, Depends(agent_of_types(AgentType.USER))]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_repo(
    data: RepoCreate, user: CurrentUser, settings: SettingsDep, session: SessionDep
) -> RepoRead:
    """A repo on a registry; it starts updating automatically, by tags only."""
    return RepoRead.model_validate(repos.create_repo(session, settings, user, data))


@router.get("")
def list_repos(
    filters: Annotated[RepoFilter, Query()], page: PageDep, agent: RepoReader, session: SessionDep
) -> ReposResult:
    count, rows = repos.list_repos(session, agent, filters, page)
    return ReposResult(count=count, repos=[RepoRead.model_validate(row) for row in rows])


@router.get("/{uuid}")
def get_repo(uuid: UUID, agent: RepoReader, session: SessionDep) -> RepoRead:
    return RepoRead.model_validate(repo_access.visible_repo(session, agent, uuid))


@router.get("/versions/{uuid}")
def get_versions(
    uuid: UUID, agent: RepoReader, settings: SettingsDep, session: SessionDep
) -> RepoVersionsRead:
    """Which commits the repo's units report running, most common first."""
    return user_requests.versions(session, settings, agent, uuid)


@router.get("/available_platforms/{uuid}")
def get_available_platforms(
    uuid: UUID,
    agent: UserAgent,
    settings: SettingsDep,
    session: SessionDep,
    target_commit: Annotated[CommitHash | None, Query()] = None,
    target_tag: Annotated[TagName | None, Query()] = None,
) -> list[PlatformRead]:
    """Release assets of `target_tag`, else of `target_commit`'s tag, else of the repo's
    target tag; always empty for interpretable repos."""
    return user_requests.platforms(session, settings, agent, uuid, target_commit, target_tag)


@router.patch("/update_units_firmware/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def update_units_firmware(
    uuid: UUID, user: CurrentUser, context: ContextDep, session: SessionDep
) -> None:
    """Every auto-updating unit of the repo follows its target and is sent an Update."""
    user_requests.update_units_firmware(session, context.settings, context.publisher, user, uuid)


@router.post("/bulk_update", status_code=status.HTTP_204_NO_CONTENT)
def bulk_update(_admin: CurrentAdmin, context: ContextDep) -> None:
    """The hourly fleet update, now, in the background: every auto-updating repo's units."""
    user_requests.start_bulk_update(context.session_factory, context.settings, context.publisher)


@router.patch("/{uuid}")
def update_repo(
    uuid: UUID, data: RepoUpdate, user: CurrentUser, context: ContextDep, session: SessionDep
) -> RepoRead:
    """A change of the manual commit sends the repo's auto-updating units an Update."""
    return user_requests.update(session, context.settings, context.publisher, user, uuid, data)


@router.delete("/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_repo(uuid: UUID, user: CurrentUser, session: SessionDep) -> None:
    """Only a repo without units."""
    repos.delete_repo(session, user, uuid)
