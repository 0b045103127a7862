"""Each user's own credentials for a private registry.

All users' entries are kept together as one AES-256-GCM encrypted JSON text in
`RepositoryRegistry.cipher_credentials_private_repository`, in the reference's format:
`{"<user uuid>": {"credentials": {"username": …, "pat_token": …}, "status": "Valid"}}`.
"""

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from control_plane.models.repository_registry import CredentialsStatus
from pepeunit_core.crypto import Cipher, DecryptionError
from pepeunit_core.db.models import RepositoryRegistry

from .git_command import DEFAULT_TIMEOUT_SECONDS, GitCredentials
from .git_errors import AuthenticationFailedError, GitError, RepositoryNotFoundError
from .git_repository import check_remote
from .remote_access import RemoteTarget


@dataclass(frozen=True)
class CredentialsEntry:
    credentials: GitCredentials
    status: CredentialsStatus


class CredentialsStoreError(Exception):
    """The stored credentials cannot be read (other key, damaged) or would be too long."""


def get_user_credentials(
    registry: RepositoryRegistry, cipher: Cipher, user_uuid: UUID
) -> CredentialsEntry | None:
    return load_credentials(registry, cipher).get(user_uuid)


def set_user_credentials(
    registry: RepositoryRegistry,
    cipher: Cipher,
    user_uuid: UUID,
    entry: CredentialsEntry,
    *,
    max_length: int,
) -> None:
    """Store or replace `user_uuid`'s entry; the other users' entries are kept."""
    entries = load_credentials(registry, cipher)
    entries[user_uuid] = entry
    plaintext = json.dumps({str(uuid): _entry_json(entry) for uuid, entry in entries.items()})
    if len(plaintext) > max_length:
        raise CredentialsStoreError("Too many credentials are stored for this registry")
    registry.cipher_credentials_private_repository = cipher.encrypt(plaintext)


def first_valid_credentials(registry: RepositoryRegistry, cipher: Cipher) -> GitCredentials | None:
    """What the backend itself uses for a private registry: the first valid entry of anyone."""
    for entry in load_credentials(registry, cipher).values():
        if entry.status is CredentialsStatus.VALID:
            return entry.credentials
    return None


def verify_credentials(
    url: str,
    credentials: GitCredentials,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    target: RemoteTarget | None = None,
) -> CredentialsStatus:
    """Valid if git can read the remote with them, Error if the remote refuses them, and
    NotVerified if the remote could not be asked."""
    try:
        check_remote(url, credentials, timeout=timeout, target=target)
    except (AuthenticationFailedError, RepositoryNotFoundError):
        return CredentialsStatus.ERROR
    except GitError:
        return CredentialsStatus.NOT_VERIFIED
    return CredentialsStatus.VALID


def load_credentials(registry: RepositoryRegistry, cipher: Cipher) -> dict[UUID, CredentialsEntry]:
    text = registry.cipher_credentials_private_repository
    if not text:
        return {}
    try:
        stored = json.loads(cipher.decrypt(text))
        return {UUID(uuid): _entry_from_json(entry) for uuid, entry in stored.items()}
    except (DecryptionError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CredentialsStoreError("The stored credentials cannot be read") from error


def _entry_json(entry: CredentialsEntry) -> dict[str, Any]:
    return {
        "credentials": {
            "username": entry.credentials.username,
            "pat_token": entry.credentials.pat_token,
        },
        "status": entry.status.value,
    }


def _entry_from_json(stored: dict[str, Any]) -> CredentialsEntry:
    credentials = stored["credentials"]
    return CredentialsEntry(
        credentials=GitCredentials(credentials["username"], credentials["pat_token"]),
        status=CredentialsStatus(stored["status"]),
    )
