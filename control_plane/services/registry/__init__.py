"""Repository registry: git repositories cloned onto the instance, shared by all users.

`registry_service` is what the routes call; `git_repository` reads the local clones (branches,
commits, files at a commit, tree exports) for the other services; `refusals` turns their errors
into the services' refusals, `access` is the registry as an agent may see it.
"""

from .credentials import CredentialsEntry, CredentialsStatus
from .git_command import GitCredentials, InvalidCredentialsError
from .git_errors import (
    AuthenticationFailedError,
    GitError,
    GitUnavailableError,
    RepositoryNotFoundError,
    RepositoryTooLargeError,
    RevisionNotFoundError,
    UnsafeRepositoryContentError,
)
from .git_repository import (
    CommitInfo,
    checkout_tree,
    commit_is_on_branch,
    commits,
    file_at,
)
from .refusals import git_failures_as, registry_errors, registry_refusal
from .registry_service import (
    RegistryError,
    RegistryGitError,
    RegistryRefusal,
    check_usable,
    create_registry,
    delete_registry,
    get_credentials,
    get_registry,
    get_visible_registry,
    list_branches,
    list_commits,
    registry_clone_path,
    set_credentials,
    sync_missing_registries,
    sync_registry,
    visible_to_user,
)
from .repository_url import HTTPS_ONLY, WITH_LOCAL_SCHEMES, InvalidRepositoryUrlError

__all__ = [
    "HTTPS_ONLY",
    "WITH_LOCAL_SCHEMES",
    "AuthenticationFailedError",
    "CommitInfo",
    "CredentialsEntry",
    "CredentialsStatus",
    "GitCredentials",
    "GitError",
    "GitUnavailableError",
    "InvalidCredentialsError",
    "InvalidRepositoryUrlError",
    "RegistryError",
    "RegistryGitError",
    "RegistryRefusal",
    "RepositoryNotFoundError",
    "RepositoryTooLargeError",
    "RevisionNotFoundError",
    "UnsafeRepositoryContentError",
    "check_usable",
    "checkout_tree",
    "commit_is_on_branch",
    "commits",
    "create_registry",
    "delete_registry",
    "file_at",
    "get_credentials",
    "get_registry",
    "get_visible_registry",
    "git_failures_as",
    "list_branches",
    "list_commits",
    "registry_clone_path",
    "registry_errors",
    "registry_refusal",
    "set_credentials",
    "sync_missing_registries",
    "sync_registry",
    "visible_to_user",
]
