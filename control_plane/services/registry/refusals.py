"""The one place where the registry's errors and git's become the services' refusals: a registry
error keeps its reason (not found, forbidden, busy, ...); a failure reading a clone becomes the
refusal of the resource being read (a repo's, a unit's)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from control_plane.services.errors import (
    GitRepoError,
    GitTransfersBusyError,
    NoAccessError,
    NotFoundError,
    RegistryBusyError,
    RepositoryRegistryError,
    ServiceError,
)
from control_plane.services.registry.git_errors import GitError
from control_plane.services.registry.registry_service import (
    RegistryError,
    RegistryGitError,
    RegistryRefusal,
)


def registry_refusal(error: RegistryError) -> ServiceError:
    if isinstance(error, RegistryGitError):
        return GitRepoError(error.detail)
    match error.reason:
        case RegistryRefusal.FORBIDDEN:
            return NoAccessError(error.detail)
        case RegistryRefusal.NOT_FOUND:
            return NotFoundError(error.detail)
        case RegistryRefusal.BUSY:
            return RegistryBusyError(error.detail)
        case RegistryRefusal.NO_TRANSFER_SLOT:
            return GitTransfersBusyError(error.detail)
        case _:
            return RepositoryRegistryError(error.detail)


@contextmanager
def registry_errors() -> Iterator[None]:
    """Turns the registry service's errors into the services' refusals."""
    try:
        yield
    except RegistryError as error:
        raise registry_refusal(error) from None


@contextmanager
def git_failures_as(refusal: Callable[[str], ServiceError]) -> Iterator[None]:
    """Turns a failure reading a registry's clone (a missing commit, a damaged clone) into
    `refusal`, e.g. `UnitError` while building a unit's files."""
    try:
        yield
    except GitError as error:
        raise refusal(str(error)) from error
