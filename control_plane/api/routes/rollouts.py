"""`/rollouts`: staged, health-gated firmware updates (docs/api.md#rollouts). Users only; a
rollout is seen and changed by its creator, over units of a repo they created."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from control_plane.api.deps import ContextDep, CurrentUser, SessionDep, SettingsDep
from control_plane.api.pagination import PageDep
from control_plane.models.rollout import RolloutCreate, RolloutDetail, RolloutsResult
from control_plane.services.rollouts import rollouts
from control_plane.services.rollouts.transitions import RolloutCommand

router = APIRouter(prefix="/rollouts", tags=["rollouts"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_rollout(
    data: RolloutCreate, user: CurrentUser, settings: SettingsDep, session: SessionDep
) -> RolloutDetail:
    """A Pending rollout: its target resolved to one commit, its units assigned to stages.
    The schedule starts it at its next step."""
    return rollouts.create_rollout(session, settings, user, data)


@router.get("")
def list_rollouts(
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    repo_uuid: Annotated[UUID | None, Query()] = None,
) -> RolloutsResult:
    """The caller's rollouts, newest first."""
    return rollouts.list_rollouts(session, user, repo_uuid, page)


@router.get("/{uuid}")
def get_rollout(uuid: UUID, user: CurrentUser, session: SessionDep) -> RolloutDetail:
    """The rollout with its stages, units and history."""
    return rollouts.get_rollout(session, user, uuid)


@router.post("/{uuid}/{command}")
def command_rollout(
    uuid: UUID,
    command: RolloutCommand,
    user: CurrentUser,
    context: ContextDep,
    session: SessionDep,
) -> RolloutDetail:
    """`pause`, `resume`, `abort`, or `rollback` (every unit the rollout updated goes back to
    the version it ran before)."""
    return rollouts.command_rollout(
        session, context.settings, context.publisher, user, uuid, command
    )
