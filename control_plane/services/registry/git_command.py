"""Runs git commands that talk to a remote.

Never interactive, credentials handed over in memory only, optionally stopped as soon as the
repository on disk outgrows a size limit, and failures turned into `GitError`s.

Credentials reach git through an inline credential helper (a shell function given with `-c`)
that prints two environment variables of the git process: the secrets are neither in a command
line (visible to every local user through `ps`) nor in any file, and every helper configured
elsewhere is switched off, so none can store them.
"""

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .directory_size import directory_size
from .git_errors import GitError, GitUnavailableError, RepositoryTooLargeError, classify_failure
from .remote_access import RemoteTarget
from .repository_url import url_scheme

DEFAULT_TIMEOUT_SECONDS = 600.0
_POLL_SECONDS = 0.05
_USERNAME_VARIABLE = "PEPEUNIT_GIT_USERNAME"
_PAT_TOKEN_VARIABLE = "PEPEUNIT_GIT_PAT_TOKEN"
# Git runs it as `f get` (or `store`, `erase`) with the request on stdin.
_CREDENTIAL_HELPER = " ".join(
    (
        '!f() { cat >/dev/null; if [ "$1" = get ]; then',
        r"printf 'username=%s\npassword=%s\n'",
        f'"${_USERNAME_VARIABLE}" "${_PAT_TOKEN_VARIABLE}";',
        "fi; }; f",
    )
)
_CONFIG_ARGUMENTS = (
    # An empty value drops every helper configured so far (system, global, repository).
    "-c",
    "credential.helper=",
    "-c",
    "core.askPass=",
    # Give up on a transfer that stalls (under 1 kB/s for 60 s).
    "-c",
    "http.lowSpeedLimit=1000",
    "-c",
    "http.lowSpeedTime=60",
)
# Inherited variables that would point git at another repository, config or askpass program.
_DROPPED_VARIABLES = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
    }
)
_MAX_CREDENTIAL_LENGTH = 1000


class InvalidCredentialsError(ValueError):
    """Credentials git cannot pass on (empty, too long, or with control characters)."""


@dataclass(frozen=True)
class GitCredentials:
    """A username and personal access token for an HTTPS remote."""

    username: str
    pat_token: str = field(repr=False)

    def __post_init__(self) -> None:
        for name, value in (("username", self.username), ("pat_token", self.pat_token)):
            if not value or len(value) > _MAX_CREDENTIAL_LENGTH or not value.isprintable():
                raise InvalidCredentialsError(
                    f"The {name} must be 1-{_MAX_CREDENTIAL_LENGTH} printable characters"
                )


@dataclass(frozen=True)
class SizeLimit:
    """Stop the command once `directory` holds more than `max_bytes`."""

    directory: Path
    max_bytes: int


def run_remote_command(
    arguments: list[str],
    *,
    url: str,
    credentials: GitCredentials | None,
    cwd: Path | None = None,
    size_limit: SizeLimit | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    target: RemoteTarget | None = None,
) -> None:
    """Run `git <arguments>` against the remote at `url`; raise a `GitError` if it fails.

    The whole process group is killed after `timeout` s; `target` pins the addresses git may
    connect to and whether it follows redirects.
    """
    with tempfile.TemporaryDirectory(prefix="pepeunit-git-") as scratch:
        scratch_path = Path(scratch)
        environment = _environment(url, credentials, scratch_path)
        helper = [] if credentials is None else ["-c", f"credential.helper={_CREDENTIAL_HELPER}"]
        helper += _target_arguments(target)
        with (scratch_path / "stderr").open("w+b") as stderr:
            try:
                process = subprocess.Popen(
                    ["git", *_CONFIG_ARGUMENTS, *helper, *arguments],
                    cwd=cwd or scratch_path,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,
                )
            except FileNotFoundError as error:
                raise GitUnavailableError("Git is not installed on the server") from error
            _wait(process, url, size_limit, timeout)
            stderr.seek(0)
            output = stderr.read().decode("utf-8", "replace")
    if process.returncode != 0:
        raise classify_failure(redact(output, credentials), url)


def _target_arguments(target: RemoteTarget | None) -> list[str]:
    if target is None:
        return []
    arguments = ["-c", f"http.followRedirects={'initial' if target.follow_redirects else 'false'}"]
    for entry in target.resolve:
        arguments += ["-c", f"http.curloptResolve={entry}"]
    return arguments


def redact(text: str, credentials: GitCredentials | None) -> str:
    """`text` without the credentials in it."""
    if credentials is not None:
        text = text.replace(credentials.pat_token, "***")
    return text


def _wait(
    process: subprocess.Popen[bytes], url: str, size_limit: SizeLimit | None, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            process.wait(timeout=_POLL_SECONDS)
            return
        except subprocess.TimeoutExpired:
            pass
        if size_limit and directory_size(size_limit.directory) > size_limit.max_bytes:
            _kill(process)
            raise too_large(url, size_limit.max_bytes)
        if time.monotonic() > deadline:
            _kill(process)
            raise GitUnavailableError(f"Repository {url} did not answer within {timeout:g} s")


def too_large(url: str, max_bytes: int) -> GitError:
    return RepositoryTooLargeError(
        f"Repository {url} is larger than the limit of {max_bytes / 2**20:g} MB"
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    # git runs helpers (remote-https, index-pack) in its process group: stop them all.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _environment(url: str, credentials: GitCredentials | None, scratch: Path) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if name not in _DROPPED_VARIABLES
    }
    environment.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ALLOW_PROTOCOL=url_scheme(url),
        # Commands run outside a repository must not pick up one that encloses the scratch dir.
        GIT_CEILING_DIRECTORIES=str(scratch.parent),
        LC_ALL="C",
        LANGUAGE="C",
    )
    environment.pop(_USERNAME_VARIABLE, None)
    environment.pop(_PAT_TOKEN_VARIABLE, None)
    if credentials is not None:
        environment[_USERNAME_VARIABLE] = credentials.username
        environment[_PAT_TOKEN_VARIABLE] = credentials.pat_token
    return environment
