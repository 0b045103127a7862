"""Git failures as a small hierarchy whose messages are safe to show to users.

A message never holds credentials or local paths; git's own output, scrubbed of credentials,
travels in `details` for the logs.
"""


class GitError(Exception):
    """A git operation failed."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class RepositoryNotFoundError(GitError):
    """The remote repository does not exist, or the credentials cannot see it."""


class AuthenticationFailedError(GitError):
    """The remote refused the credentials, or asked for credentials that were not given."""


class RepositoryTooLargeError(GitError):
    """The repository is larger than the instance allows."""


class GitUnavailableError(GitError):
    """The remote could not be reached (network, TLS, timeout) or git itself is missing."""


class RevisionNotFoundError(GitError):
    """A branch or commit that the local clone does not have."""


class UnsafeRepositoryContentError(GitError):
    """A tree entry whose path would land outside the export (`..`, empty or `.` parts)."""


def classify_failure(details: str, url: str) -> GitError:
    """The error a failed network command stands for, from its (C-locale, redacted) stderr."""
    text = details.lower()
    if any(marker in text for marker in _AUTHENTICATION_MARKERS):
        return AuthenticationFailedError(f"Authentication failed for {url}", details)
    if any(marker in text for marker in _NOT_FOUND_MARKERS):
        return RepositoryNotFoundError(f"Repository {url} was not found", details)
    if any(marker in text for marker in _UNREACHABLE_MARKERS):
        return GitUnavailableError(f"Repository {url} could not be reached", details)
    return GitError(f"Git could not fetch {url}", details)


_AUTHENTICATION_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "returned error: 401",
    "returned error: 403",
)
_NOT_FOUND_MARKERS = (
    "not found",
    "does not appear to be a git repository",
    "returned error: 404",
    "no such file or directory",
)
_UNREACHABLE_MARKERS = (
    "could not resolve",
    "failed to connect",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "timed out",
    "ssl",
    "certificate",
    "unable to access",
    "returned error: 5",
)
