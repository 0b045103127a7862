"""The one commit a rollout sends, resolved from how its creator named it (pure)."""

from collections.abc import Sequence

from control_plane.services.errors import RolloutError
from control_plane.services.repos.versions import (
    CommitLike,
    TargetVersion,
    VersionError,
    pinned_commit,
)
from pepeunit_core.db.enums import RolloutTargetKind


def resolve_rollout_target(
    kind: RolloutTargetKind,
    ref: str,
    branch: str,
    history: Sequence[CommitLike],
    needs_tag: bool,
) -> TargetVersion:
    """`history` is `branch`'s commits, newest first; `needs_tag` for compilable repos, whose
    binaries come from a tag's release."""
    if kind is RolloutTargetKind.TAG:
        sha = next((commit.sha for commit in history if ref in commit.tags), None)
        if sha is None:
            raise RolloutError(f"Tag {ref} is not on branch {branch}")
    elif kind is RolloutTargetKind.BRANCH_HEAD:
        if not history:
            raise RolloutError(f"Branch {branch} has no commits")
        sha = history[0].sha
    else:
        sha = ref
    try:
        return pinned_commit(history, sha, branch, needs_tag)
    except VersionError as error:
        raise RolloutError(str(error)) from error
