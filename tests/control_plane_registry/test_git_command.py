"""A network git command that hangs is stopped by the timeout or by the size limit, at once."""

import socket
import time
from collections.abc import Iterator

import pytest

from control_plane.services.registry.git_command import SizeLimit, run_remote_command
from control_plane.services.registry.git_errors import GitUnavailableError, RepositoryTooLargeError
from tests.services.ports import LOOPBACK


@pytest.fixture
def silent_server_url() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(8)
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}/unit.git"


def test_a_hanging_remote_times_out(silent_server_url):
    started = time.monotonic()
    with pytest.raises(GitUnavailableError, match=r"did not answer within 0\.5 s"):
        run_remote_command(
            ["ls-remote", silent_server_url], url=silent_server_url, credentials=None, timeout=0.5
        )
    assert time.monotonic() - started < 5


def test_a_transfer_is_stopped_once_the_directory_outgrows_the_limit(silent_server_url, tmp_path):
    (tmp_path / "pack").write_bytes(b"x" * 2048)
    started = time.monotonic()
    with pytest.raises(RepositoryTooLargeError):
        run_remote_command(
            ["ls-remote", silent_server_url],
            url=silent_server_url,
            credentials=None,
            size_limit=SizeLimit(tmp_path, 1024),
        )
    assert time.monotonic() - started < 5
