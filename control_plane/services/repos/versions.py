"""Version resolution (docs/compatibility.md#version-resolution): which commit (and tag) a Repo or a
Unit should run.

Pure functions over the repo's update settings and a branch's history, so they are testable
without git: the history is the branch's commits newest first (git rev-list order), each with
the tags pointing at it, as `registry.commits(path, branch)` returns them.

- Repo, auto-update, compilable or only-tag: the newest tagged commit of `default_branch`.
- Repo, auto-update otherwise: the head of `default_branch`.
- Repo, manual: `default_commit`, which must be on `default_branch`.
- Unit, auto-update: the repo's target. Unit, manual: `repo_commit` on `repo_branch`.
- A compilable repo's target must carry a tag (binaries come from that tag's release).

The tag reported for a commit with several tags is the last in name order, as the reference
(which maps each commit to its tags one by one, in name order) ends up with.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class CommitLike(Protocol):
    @property
    def sha(self) -> str: ...

    @property
    def tags(self) -> tuple[str, ...]: ...


class VersionError(ValueError):
    """No version can be resolved; the message says why (safe to show)."""


TAGS_MISSING = "Version is missing: The tags are not in the repository"


@dataclass(frozen=True)
class RepoVersionSettings:
    default_branch: str | None
    is_auto_update_repo: bool
    is_only_tag_update: bool
    is_compilable_repo: bool
    default_commit: str | None


@dataclass(frozen=True)
class UnitVersionSettings:
    is_auto_update_from_repo_unit: bool
    repo_branch: str | None
    repo_commit: str | None


@dataclass(frozen=True)
class TargetVersion:
    commit: str
    tag: str | None


def commit_tag(commit: CommitLike) -> str | None:
    return commit.tags[-1] if commit.tags else None


def find_commit(history: Sequence[CommitLike], sha: str) -> CommitLike | None:
    return next((commit for commit in history if commit.sha == sha), None)


def target_repo_version(
    repo: RepoVersionSettings, default_branch_history: Sequence[CommitLike]
) -> TargetVersion:
    """The repo's target; `default_branch_history` is `repo.default_branch`'s commits."""
    if not repo.default_branch:
        raise VersionError("Version is missing: The repo has no default branch")
    if repo.is_auto_update_repo:
        if repo.is_compilable_repo or repo.is_only_tag_update:
            return newest_tagged(default_branch_history)
        if not default_branch_history:
            raise VersionError("Version is missing: The branch has no commits")
        head = default_branch_history[0]
        return TargetVersion(head.sha, commit_tag(head))
    if not repo.default_commit:
        raise VersionError("Version is missing: The repo has no default commit")
    return pinned_commit(
        default_branch_history, repo.default_commit, repo.default_branch, repo.is_compilable_repo
    )


def target_unit_version(
    repo: RepoVersionSettings,
    unit: UnitVersionSettings,
    history: Sequence[CommitLike],
) -> TargetVersion:
    """The unit's target. `history` is the repo's default branch when the unit auto-updates,
    else the unit's `repo_branch`."""
    if unit.is_auto_update_from_repo_unit:
        return target_repo_version(repo, history)
    if not unit.repo_branch or not unit.repo_commit:
        raise VersionError("Version is missing: The unit has no branch or commit")
    return pinned_commit(history, unit.repo_commit, unit.repo_branch, repo.is_compilable_repo)


def newest_tagged(history: Sequence[CommitLike]) -> TargetVersion:
    for commit in history:
        if commit.tags:
            return TargetVersion(commit.sha, commit_tag(commit))
    raise VersionError(TAGS_MISSING)


def pinned_commit(
    history: Sequence[CommitLike], sha: str, branch: str, needs_tag: bool
) -> TargetVersion:
    commit = find_commit(history, sha)
    if commit is None:
        raise VersionError(f"Commit {sha} is not on branch {branch}")
    tag = commit_tag(commit)
    if needs_tag and tag is None:
        raise VersionError(f"Commit {sha} has no tag; a compilable repo needs a tagged commit")
    return TargetVersion(commit.sha, tag)
