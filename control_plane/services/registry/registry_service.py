"""What the repository registry routes do: create, sync, read and delete registries, and keep
the credentials of private ones (only their creator sets them).

A private registry, its branches and commits are visible to its creator, to users granted a
Repo built on it, and to the platform itself. Every git transfer takes one of the process's
transfer slots, is checked against the operator's rules for remotes (`remote_access`) and is
killed after `registry_git_timeout` s.

Transactions: `create_registry` and `sync_registry` commit the session themselves, once before
the git transfer (so other workers see the sync in progress and no SQLite write lock is held
for its duration) and once after it (to record the outcome). The other functions only flush;
the caller commits.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pepeunit_core.crypto import Cipher
from pepeunit_core.db.enums import PermissionEntity, RepositoryPlatform, SyncStatus
from pepeunit_core.db.models import Permission, Repo, RepositoryRegistry, User
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings

from .credentials import (
    CredentialsEntry,
    CredentialsStatus,
    CredentialsStoreError,
    get_user_credentials,
    set_user_credentials,
    verify_credentials,
)
from .git_command import GitCredentials
from .git_errors import GitError, RepositoryTooLargeError, RevisionNotFoundError
from .git_repository import (
    CommitInfo,
    branches,
    check_remote,
    clone,
    commits,
    fetch,
    is_clone,
    remove_clone,
)
from .remote_access import (
    RemoteNotAllowedError,
    RemotePolicy,
    RemoteTarget,
    check_file_url,
    prepare_remote,
)
from .repository_url import (
    HTTPS_ONLY,
    InvalidRepositoryUrlError,
    url_scheme,
    validate_repository_url,
)
from .transfer_slots import TransfersBusyError, transfer_slots


class RegistryRefusal(StrEnum):
    """Why the registry refuses a request."""

    NOT_FOUND = "not found"
    FORBIDDEN = "forbidden"
    INVALID = "invalid"
    BUSY = "busy"
    """The registry is being synced, or the caller's git transfers are all running."""
    NO_TRANSFER_SLOT = "no transfer slot"
    """The server runs as many git transfers as it allows."""


FORBIDDEN = RegistryRefusal.FORBIDDEN
NOT_FOUND = RegistryRefusal.NOT_FOUND
INVALID = RegistryRefusal.INVALID


class RegistryError(Exception):
    """A request the registry cannot fulfil; `detail` is safe to show to the caller."""

    def __init__(self, reason: RegistryRefusal, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class RegistryGitError(RegistryError):
    """A git transfer failed: unreachable or unknown remote, refused credentials, too large."""


def registry_clone_path(settings: Settings, registry_uuid: UUID) -> Path:
    return settings.resolved_repo_path / str(registry_uuid)


def max_repository_bytes(settings: Settings) -> int:
    return settings.max_external_repo_size * 2**20


def get_registry(session: Session, registry_uuid: UUID) -> RepositoryRegistry:
    registry = session.get(RepositoryRegistry, registry_uuid)
    if registry is None:
        raise RegistryError(NOT_FOUND, f"Repository registry {registry_uuid}: not found")
    return registry


def visible_to_user(user_uuid: UUID) -> ColumnElement[bool]:
    """Registries `user_uuid` may see: public ones, their own, and private ones on which a
    Repo was granted to them."""
    granted_repos = select(Repo.repository_registry_uuid).join(
        Permission,
        and_(
            Permission.resource_type == PermissionEntity.REPO,
            Permission.resource_repo_uuid == Repo.uuid,
            Permission.agent_type == PermissionEntity.USER,
            Permission.agent_user_uuid == user_uuid,
        ),
    )
    return or_(
        RepositoryRegistry.is_public_repository.is_(True),
        RepositoryRegistry.creator_uuid == user_uuid,
        RepositoryRegistry.uuid.in_(granted_repos),
    )


def get_visible_registry(
    session: Session, registry_uuid: UUID, user_uuid: UUID | None
) -> RepositoryRegistry:
    """The registry if `user_uuid` may see it (None: the platform itself, which sees all)."""
    registry = get_registry(session, registry_uuid)
    if user_uuid is None or registry.is_public_repository or registry.creator_uuid == user_uuid:
        return registry
    visible = exists().where(RepositoryRegistry.uuid == registry_uuid, visible_to_user(user_uuid))
    if not session.scalar(select(visible)):
        raise RegistryError(
            FORBIDDEN,
            "This private registry is visible only to its creator and to users granted a repo "
            "built on it",
        )
    return registry


def check_usable(session: Session, settings: Settings, registry_uuid: UUID, user: User) -> None:
    """Whether `user` may build on the registry: see it and, for a private one, its creator's
    credentials are valid."""
    registry = get_visible_registry(session, registry_uuid, user.uuid)
    if not registry.is_public_repository:
        _creator_credentials(registry, settings)


def create_registry(
    session: Session,
    settings: Settings,
    creator: User,
    url: str,
    platform: RepositoryPlatform,
    is_public: bool,
    credentials: GitCredentials | None,
    *,
    allowed_url_schemes: frozenset[str] = HTTPS_ONLY,
) -> RepositoryRegistry:
    """Register `url` and clone it at once. Nothing is left behind when this fails.

    A private repository needs `credentials`; they are checked with the remote first and
    stored as the creator's. Credentials given for a public repository are ignored.
    """
    try:
        url = validate_repository_url(url, allowed_url_schemes)
        if url_scheme(url) == "file":
            check_file_url(url, RemotePolicy.from_settings(settings))
    except (InvalidRepositoryUrlError, RemoteNotAllowedError) as error:
        raise RegistryError(INVALID, str(error)) from error
    if session.scalar(select(exists().where(RepositoryRegistry.repository_url == url))):
        raise RegistryError(INVALID, "A registry for this URL already exists")
    if not is_public and credentials is None:
        raise RegistryError(INVALID, "A private repository needs credentials")
    registry = RepositoryRegistry(
        platform=platform,
        repository_url=url,
        is_public_repository=is_public,
        creator_uuid=creator.uuid,
    )
    clone_credentials = None if is_public else credentials
    with git_transfer(settings, url, creator.uuid) as target:
        if clone_credentials is not None:
            try:
                check_remote(
                    url, clone_credentials, timeout=settings.registry_git_timeout, target=target
                )
            except GitError as error:
                raise RegistryGitError(INVALID, str(error)) from error
            entry = CredentialsEntry(clone_credentials, CredentialsStatus.VALID)
            _store_credentials(registry, settings, creator.uuid, entry)
        _mark_sync_started(registry)
        session.add(registry)
        try:
            session.commit()
        except IntegrityError as error:
            session.rollback()
            raise RegistryError(INVALID, "A registry for this URL already exists") from error

        try:
            size = clone(
                url,
                registry_clone_path(settings, registry.uuid),
                credentials=clone_credentials,
                max_size_bytes=max_repository_bytes(settings),
                timeout=settings.registry_git_timeout,
                target=target,
            )
        except Exception as error:
            session.delete(registry)
            session.commit()
            if isinstance(error, GitError):
                raise RegistryGitError(INVALID, str(error)) from error
            raise
    # Creation is not a sync that a following one has to wait for (reference).
    _mark_sync_succeeded(registry, size)
    session.commit()
    return registry


def sync_registry(
    session: Session,
    settings: Settings,
    registry_uuid: UUID,
    caller: User | None,
    *,
    wait_for_slot: bool = False,
) -> RepositoryRegistry:
    """Fetch every branch and tag of the registry (clone it if it has no local clone).

    `caller` None is the backend itself (scheduled syncs); a user must see the registry. A
    private registry is fetched with its creator's credentials, which must be valid. A sync is
    refused while another one of the same registry still runs (one marked running for longer
    than the git timeout plus `min_interval_sync_repository` s is taken as dead). A repository
    that has grown too large loses its local clone.
    """
    registry = get_visible_registry(session, registry_uuid, None if caller is None else caller.uuid)
    credentials = _sync_credentials(registry, settings, caller)
    url = registry.repository_url
    with git_transfer(
        settings, url, None if caller is None else caller.uuid, wait=wait_for_slot
    ) as target:
        _claim_sync(session, registry, settings)
        session.commit()
        path = registry_clone_path(settings, registry.uuid)
        try:
            size = _clone_or_fetch(url, path, credentials, settings, target)
        except GitError as error:
            if isinstance(error, RepositoryTooLargeError):
                remove_clone(path)
                registry.local_repository_size = 0
            _mark_sync_failed(registry, str(error))
            session.commit()
            raise RegistryGitError(INVALID, str(error)) from error
        except Exception:
            _mark_sync_failed(registry, "Internal error")
            session.commit()
            raise
    _mark_sync_succeeded(registry, size)
    session.commit()
    return registry


@contextmanager
def git_transfer(
    settings: Settings, url: str, user_uuid: UUID | None, *, wait: bool = False
) -> Iterator[RemoteTarget]:
    """A transfer slot for `user_uuid` and the way git may reach `url`, checked now."""
    try:
        with transfer_slots(settings).hold(user_uuid, wait=wait):
            try:
                target = prepare_remote(url, RemotePolicy.from_settings(settings))
            except RemoteNotAllowedError as error:
                raise RegistryError(INVALID, str(error)) from error
            except GitError as error:
                raise RegistryGitError(INVALID, str(error)) from error
            yield target
    except TransfersBusyError as error:
        reason = RegistryRefusal.BUSY if error.per_user else RegistryRefusal.NO_TRANSFER_SLOT
        raise RegistryError(reason, str(error)) from error


def sync_missing_registries(session: Session, settings: Settings) -> dict[UUID, str | None]:
    """Sync, as the backend, every registry without a local clone (e.g. after a restore).

    Returns each one's error message, None for those that synced.
    """
    missing = [
        registry.uuid
        for registry in session.scalars(select(RepositoryRegistry))
        if not is_clone(registry_clone_path(settings, registry.uuid))
    ]
    outcome: dict[UUID, str | None] = {}
    for registry_uuid in missing:
        try:
            sync_registry(session, settings, registry_uuid, caller=None)
            outcome[registry_uuid] = None
        except RegistryError as error:
            outcome[registry_uuid] = error.detail
    return outcome


def list_branches(session: Session, settings: Settings, registry_uuid: UUID) -> list[str]:
    return branches(_local_clone(session, settings, registry_uuid))


def list_commits(
    session: Session,
    settings: Settings,
    registry_uuid: UUID,
    branch: str,
    *,
    only_tags: bool = False,
    offset: int = 0,
    limit: int = 10,
) -> list[CommitInfo]:
    """Commits of `branch`, newest first, each with the tags pointing at it."""
    if offset < 0 or limit < 0:
        raise RegistryError(INVALID, "offset and limit must not be negative")
    path = _local_clone(session, settings, registry_uuid)
    try:
        return commits(path, branch, limit, offset=offset, only_tagged=only_tags)
    except RevisionNotFoundError as error:
        raise RegistryError(INVALID, str(error)) from error


def delete_registry(
    session: Session, settings: Settings, registry_uuid: UUID, caller: User
) -> None:
    """Delete the registry and its local clone: only its creator, only when no Repo uses it.

    Should the caller's commit fail afterwards, the registry stays without a clone, which its
    next sync makes again.
    """
    registry = get_registry(session, registry_uuid)
    if registry.creator_uuid != caller.uuid:
        raise RegistryError(FORBIDDEN, "Only the creator can delete a repository registry")
    if session.scalar(select(exists().where(Repo.repository_registry_uuid == registry.uuid))):
        raise RegistryError(INVALID, "The repository registry is used by repos; delete them first")
    session.delete(registry)
    session.flush()
    remove_clone(registry_clone_path(settings, registry.uuid))


def set_credentials(
    session: Session,
    settings: Settings,
    registry_uuid: UUID,
    caller: User,
    credentials: GitCredentials,
) -> CredentialsStatus:
    """Store or replace the credentials of a private registry (its creator only), checked with
    the remote first; returns the status stored with them."""
    registry = get_registry(session, registry_uuid)
    if registry.creator_uuid != caller.uuid:
        raise RegistryError(FORBIDDEN, "Only the registry's creator can set its credentials")
    if registry.is_public_repository:
        raise RegistryError(INVALID, "Only private registries take credentials")
    with git_transfer(settings, registry.repository_url, caller.uuid) as target:
        status = verify_credentials(
            registry.repository_url,
            credentials,
            timeout=settings.registry_git_timeout,
            target=target,
        )
    session.refresh(registry, with_for_update=True)
    _store_credentials(registry, settings, caller.uuid, CredentialsEntry(credentials, status))
    session.flush()
    return status


def get_credentials(
    session: Session, settings: Settings, registry_uuid: UUID, caller: User
) -> CredentialsEntry | None:
    """The caller's own entry, token included, or None."""
    registry = get_visible_registry(session, registry_uuid, caller.uuid)
    try:
        return get_user_credentials(registry, _cipher(settings), caller.uuid)
    except CredentialsStoreError as error:
        raise RegistryError(INVALID, str(error)) from error


def _sync_credentials(
    registry: RepositoryRegistry, settings: Settings, caller: User | None
) -> GitCredentials | None:
    if registry.is_public_repository:
        return None
    return _creator_credentials(registry, settings)


def _creator_credentials(registry: RepositoryRegistry, settings: Settings) -> GitCredentials:
    """The private registry's credentials: its creator's, which must be valid (entries other
    users could store before only creators could are never used)."""
    entry = None
    if registry.creator_uuid is not None:
        try:
            entry = get_user_credentials(registry, _cipher(settings), registry.creator_uuid)
        except CredentialsStoreError as error:
            raise RegistryError(INVALID, str(error)) from error
    if entry is None or entry.status is not CredentialsStatus.VALID:
        raise RegistryError(
            FORBIDDEN, "This private registry has no valid credentials; its creator must set them"
        )
    return entry.credentials


def _claim_sync(session: Session, registry: RepositoryRegistry, settings: Settings) -> None:
    """Mark the sync as started, unless another one still runs.

    A conditional UPDATE, so that of two workers racing for the same registry only one wins.
    """
    now = utc_now()
    presumed_dead = now - timedelta(
        seconds=settings.registry_git_timeout + settings.min_interval_sync_repository
    )
    claimed = session.execute(
        update(RepositoryRegistry)
        .where(
            RepositoryRegistry.uuid == registry.uuid,
            or_(
                RepositoryRegistry.sync_status != SyncStatus.PROCESSING,
                RepositoryRegistry.sync_last_datetime.is_(None),
                RepositoryRegistry.sync_last_datetime <= presumed_dead,
            ),
        )
        .values(sync_status=SyncStatus.PROCESSING, sync_error=None, sync_last_datetime=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:
        raise RegistryError(
            RegistryRefusal.BUSY, "The registry is being synced right now; try again when it ends"
        )
    session.refresh(registry)


def _clone_or_fetch(
    url: str,
    path: Path,
    credentials: GitCredentials | None,
    settings: Settings,
    target: RemoteTarget,
) -> int:
    max_size_bytes = max_repository_bytes(settings)
    timeout = settings.registry_git_timeout
    if is_clone(path):
        return fetch(
            path, credentials, max_size_bytes=max_size_bytes, timeout=timeout, target=target
        )
    remove_clone(path)
    return clone(
        url,
        path,
        credentials=credentials,
        max_size_bytes=max_size_bytes,
        timeout=timeout,
        target=target,
    )


def _local_clone(session: Session, settings: Settings, registry_uuid: UUID) -> Path:
    registry = get_registry(session, registry_uuid)
    path = registry_clone_path(settings, registry.uuid)
    if not is_clone(path):
        raise RegistryError(INVALID, "The repository registry has not been synced yet")
    return path


def _store_credentials(
    registry: RepositoryRegistry, settings: Settings, user_uuid: UUID, entry: CredentialsEntry
) -> None:
    try:
        set_user_credentials(
            registry, _cipher(settings), user_uuid, entry, max_length=settings.max_cipher_length
        )
    except CredentialsStoreError as error:
        raise RegistryError(INVALID, str(error)) from error


def _mark_sync_started(registry: RepositoryRegistry) -> None:
    registry.sync_status = SyncStatus.PROCESSING
    registry.sync_error = None
    registry.sync_last_datetime = utc_now()


def _mark_sync_succeeded(registry: RepositoryRegistry, size: int) -> None:
    registry.sync_status = SyncStatus.UPDATED
    registry.sync_error = None
    registry.local_repository_size = size


def _mark_sync_failed(registry: RepositoryRegistry, message: str) -> None:
    registry.sync_status = SyncStatus.ERROR
    registry.sync_error = message


def _cipher(settings: Settings) -> Cipher:
    return Cipher(settings.resolved_encrypt_key)
