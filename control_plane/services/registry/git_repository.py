"""Local bare clones of registry repositories: clone, fetch, and read branches, commits and files.

A clone keeps the remote's branches as `refs/remotes/origin/*` and its tags as `refs/tags/*`,
like the reference. Its config holds the remote URL but never credentials: they are given to
each network command (see `git_command`).
"""

import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from git import Blob, Commit, Repo
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError
from gitdb.exc import BadName, BadObject

from .clone_cache import CloneReadCache, mark_fetched
from .directory_size import directory_size
from .git_command import (
    DEFAULT_TIMEOUT_SECONDS,
    GitCredentials,
    SizeLimit,
    run_remote_command,
    too_large,
)
from .git_errors import GitError, RevisionNotFoundError, UnsafeRepositoryContentError
from .remote_access import RemoteTarget

_BRANCH_REFS = "refs/remotes/origin/"
_FETCH_REFSPECS = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
_COMMIT_HASH = re.compile(r"[0-9a-f]{4,64}")
_SYMLINK_MODE = 0o120000
_EXECUTABLE_BIT = 0o100


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    summary: str
    datetime: datetime
    tags: tuple[str, ...]


_cache: CloneReadCache[CommitInfo] = CloneReadCache()


def clone(
    url: str,
    destination: Path,
    *,
    credentials: GitCredentials | None,
    max_size_bytes: int,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    target: RemoteTarget | None = None,
) -> int:
    """Clone every branch and tag of `url` into the new bare repository `destination`.

    The clone is built in a temporary directory next to `destination` and renamed into place
    once complete, so `destination` either is a whole clone or does not exist. Returns the
    clone's size in bytes.
    """
    if destination.exists():
        raise FileExistsError(f"{destination} already exists")
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}-", suffix=".cloning", dir=destination.parent)
    )
    try:
        with Repo.init(temporary, bare=True) as repository:
            repository.git.config("remote.origin.url", url)
            for refspec in _FETCH_REFSPECS:
                repository.git.config("--add", "remote.origin.fetch", refspec)
        size = fetch(
            temporary, credentials, max_size_bytes=max_size_bytes, timeout=timeout, target=target
        )
        temporary.rename(destination)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return size


def fetch(
    path: Path,
    credentials: GitCredentials | None,
    *,
    max_size_bytes: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    target: RemoteTarget | None = None,
) -> int:
    """Bring every branch and tag of the clone at `path` up to date with its remote, dropping
    those the remote no longer has. Returns the clone's size in bytes.

    With `max_size_bytes`, the transfer stops as soon as the clone outgrows it and
    `RepositoryTooLargeError` is raised; a fetch stopped that way has not moved any ref, but the
    clone may hold partial packs until git's next gc.
    """
    url = remote_url(path)
    size_limit = None if max_size_bytes is None else SizeLimit(path, max_size_bytes)
    # gc runs after the transfer, not inside it: a repack briefly doubles the size on disk,
    # which must not count against the limit.
    run_remote_command(
        ["--git-dir", str(path), "fetch", "--prune", "--quiet", "--no-auto-gc", "origin"],
        url=url,
        credentials=credentials,
        cwd=path,
        size_limit=size_limit,
        timeout=timeout,
        target=target,
    )
    with _open(path) as repository:
        # Detached, gc would still be writing when the size is measured.
        repository.git(c="gc.autoDetach=false").gc("--auto", "--quiet")
    mark_fetched(path)
    size = directory_size(path)
    if max_size_bytes is not None and size > max_size_bytes:
        raise too_large(url, max_size_bytes)
    return size


def check_remote(
    url: str,
    credentials: GitCredentials | None,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    target: RemoteTarget | None = None,
) -> None:
    """Raise a `GitError` unless the remote at `url` can be read with `credentials`."""
    run_remote_command(
        ["ls-remote", "--heads", "--", url],
        url=url,
        credentials=credentials,
        timeout=timeout,
        target=target,
    )


def is_clone(path: Path) -> bool:
    """Whether `path` holds a clone made by `clone` (a bare repository with a remote)."""
    try:
        remote_url(path)
    except GitError:
        return False
    return True


def remove_clone(path: Path) -> None:
    """Delete the clone at `path`, if any; it vanishes at once, its files are removed after."""
    if not path.exists():
        return
    doomed = Path(tempfile.mkdtemp(prefix=f".{path.name}-", suffix=".deleting", dir=path.parent))
    path.rename(doomed / path.name)
    shutil.rmtree(doomed, ignore_errors=True)


def remote_url(path: Path) -> str:
    with _open(path) as repository:
        try:
            return repository.remote("origin").url
        except ValueError as error:
            raise GitError("The local clone has no remote") from error


def branches(path: Path) -> list[str]:
    """The remote's branch names, sorted."""
    with _open(path) as repository:
        return sorted(_branch_refs(repository))


def commits(
    path: Path,
    branch: str,
    limit: int | None = None,
    *,
    offset: int = 0,
    only_tagged: bool = False,
) -> list[CommitInfo]:
    """Commits of `branch`, newest first (git rev-list order), from `offset` on, at most `limit`.

    Each carries the tags that point at it; `only_tagged` keeps only commits with tags.
    """
    history: Sequence[CommitInfo] = _cache.history(path, branch, lambda: _history(path, branch))
    if only_tagged:
        history = [commit for commit in history if commit.tags]
    return list(history[offset : None if limit is None else offset + limit])


def _history(path: Path, branch: str) -> tuple[CommitInfo, ...]:
    with _open(path) as repository:
        branch_ref = _branch_ref(repository, branch)
        tags = _tags_by_commit(repository)
        shas = _rev_list(repository, branch_ref)
        return tuple(_commit_info(repository, sha, tags.get(sha, ())) for sha in shas)


def file_at(path: Path, commit: str, relative_path: str) -> bytes | None:
    """The content of `relative_path` (slash-separated) at `commit`, or None if it has no such
    file."""
    return _cache.file(path, commit, relative_path, lambda: _file_at(path, commit, relative_path))


def _file_at(path: Path, commit: str, relative_path: str) -> bytes | None:
    with _open(path) as repository:
        tree = _commit(repository, commit).tree
        try:
            item = tree / relative_path.strip("/")
        except KeyError:
            return None
        if not isinstance(item, Blob):
            return None
        return item.data_stream.read()


def checkout_tree(path: Path, commit: str, destination: Path) -> None:
    """Write the files of `commit` into the empty or missing directory `destination`, without a
    worktree.

    Executable bits are kept and symbolic links stay links, with their targets as committed
    (which may point outside the tree: whoever reads the export must check before following
    one). Submodules are left out.
    """
    destination.mkdir(parents=True, exist_ok=True)
    if any(destination.iterdir()):
        raise FileExistsError(f"{destination} is not empty")
    root = destination.resolve()
    with _open(path) as repository:
        for item in _commit(repository, commit).tree.traverse():
            if not isinstance(item, Blob):
                continue
            target = _export_path(root, item.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.mode == _SYMLINK_MODE:
                target.symlink_to(item.data_stream.read().decode("utf-8", "surrogateescape"))
                continue
            target.write_bytes(item.data_stream.read())
            if item.mode & _EXECUTABLE_BIT:
                target.chmod(0o755)


def commit_is_on_branch(path: Path, commit: str, branch: str) -> bool:
    """Whether `commit` is `branch`'s head or one of its ancestors; False for an unknown commit."""
    with _open(path) as repository:
        branch_ref = _branch_ref(repository, branch)
        try:
            sha = _commit(repository, commit).hexsha
        except RevisionNotFoundError:
            return False
        return repository.is_ancestor(sha, branch_ref)


@contextmanager
def _open(path: Path) -> Iterator[Repo]:
    # Closing stops the `git cat-file` processes GitPython keeps running per repository.
    try:
        repository = Repo(path)
    except (NoSuchPathError, InvalidGitRepositoryError) as error:
        raise GitError("The repository has no local clone") from error
    with repository:
        yield repository


def _branch_refs(repository: Repo) -> dict[str, str]:
    output = repository.git.for_each_ref("--format=%(refname)", _BRANCH_REFS)
    refs = (line for line in output.splitlines() if line)
    return {ref.removeprefix(_BRANCH_REFS): ref for ref in refs if ref != f"{_BRANCH_REFS}HEAD"}


def _branch_ref(repository: Repo, branch: str) -> str:
    ref = _branch_refs(repository).get(branch)
    if ref is None:
        raise RevisionNotFoundError(f"Branch {branch!r} does not exist")
    return ref


def _commit(repository: Repo, commit: str) -> Commit:
    if not _COMMIT_HASH.fullmatch(commit):
        raise RevisionNotFoundError(f"{commit!r} is not a commit hash")
    try:
        resolved = repository.commit(commit)
        _ = resolved.tree  # a full hash resolves without a lookup: reading proves it exists
    except (BadName, BadObject, ValueError) as error:
        raise RevisionNotFoundError(f"Commit {commit} does not exist") from error
    return resolved


def _rev_list(repository: Repo, branch_ref: str) -> list[str]:
    try:
        return repository.git.rev_list(branch_ref, "--").split()
    except GitCommandError as error:
        raise GitError("Git could not list the commits") from error


def _tags_by_commit(repository: Repo) -> dict[str, tuple[str, ...]]:
    tags: dict[str, list[str]] = {}
    for tag in repository.tags:
        try:
            sha = tag.commit.hexsha
        except ValueError:
            continue  # a tag of a tree or blob marks no commit
        tags.setdefault(sha, []).append(tag.name)
    return {sha: tuple(sorted(names)) for sha, names in tags.items()}


def _commit_info(repository: Repo, sha: str, tags: tuple[str, ...]) -> CommitInfo:
    commit = repository.commit(sha)
    summary = commit.summary if isinstance(commit.summary, str) else commit.summary.decode()
    return CommitInfo(
        sha=sha,
        summary=summary,
        datetime=commit.committed_datetime.astimezone(UTC),
        tags=tags,
    )


def _export_path(root: Path, relative_path: str) -> Path:
    parts = relative_path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafeRepositoryContentError(f"The commit has an unsafe path: {relative_path!r}")
    return root.joinpath(*parts)
