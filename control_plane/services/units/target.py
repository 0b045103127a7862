"""A unit's target version (docs/compatibility.md#version-resolution): resolved once per request,
with one read of its branch's history, and handed on to everything the request builds from it."""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.security import Agent
from control_plane.services import registry
from control_plane.services.errors import UnitError
from control_plane.services.repos.repos import branch_history, version_settings
from control_plane.services.repos.versions import (
    TargetVersion,
    UnitVersionSettings,
    VersionError,
    target_unit_version,
)
from control_plane.services.units.access import device_unit
from pepeunit_core.db.models import Repo, Unit
from pepeunit_core.settings import Settings


@dataclass(frozen=True)
class DeviceUnit:
    """A unit the caller may read device files of, with its repo and resolved target."""

    unit: Unit
    repo: Repo
    target: TargetVersion

    @property
    def commit(self) -> str:
        return self.target.commit


def device_target(session: Session, settings: Settings, agent: Agent, uuid: UUID) -> DeviceUnit:
    """Checks that `agent` may read the unit's device files and resolves its target."""
    unit = device_unit(session, agent, uuid)
    repo = session.get_one(Repo, unit.repo_uuid)
    return DeviceUnit(unit, repo, target_of(settings, repo, unit))


def target_of(settings: Settings, repo: Repo, unit: Unit) -> TargetVersion:
    """The commit (and tag) the unit should run: one read of its branch's history."""
    auto = unit.is_auto_update_from_repo_unit
    branch = repo.default_branch if auto else unit.repo_branch
    history = branch_history(settings, repo.repository_registry_uuid, branch or "")
    try:
        return target_unit_version(
            version_settings(repo),
            UnitVersionSettings(
                is_auto_update_from_repo_unit=auto,
                repo_branch=unit.repo_branch,
                repo_commit=unit.repo_commit,
            ),
            history,
        )
    except VersionError as error:
        raise UnitError(str(error)) from error


def file_at_target(settings: Settings, repo: Repo, commit: str, name: str) -> bytes | None:
    """The file `name` of the repo's registry at `commit` (None if it has none)."""
    path = registry.registry_clone_path(settings, repo.repository_registry_uuid)
    with registry.git_failures_as(UnitError):
        return registry.file_at(path, commit, name)
