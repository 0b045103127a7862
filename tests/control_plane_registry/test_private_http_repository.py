"""A private repository served over HTTP with basic auth: credentials work, are refused when
wrong, and never end up on disk or in an error message."""

import pytest

from control_plane.services.registry.git_errors import (
    AuthenticationFailedError,
    GitUnavailableError,
    RepositoryNotFoundError,
)
from control_plane.services.registry.git_repository import (
    branches,
    check_remote,
    clone,
    commits,
    fetch,
    file_at,
)
from tests.control_plane_registry.conftest import HTTP_PASSWORD
from tests.control_plane_registry.git_sources import SCHEMA_EXAMPLE, files_under
from tests.services.ports import LOOPBACK, free_loopback_port

MB = 2**20


@pytest.fixture
def private_url(unit_repository, git_http_server) -> str:
    return git_http_server.url("unit")


def test_clone_with_the_right_credentials(unit_repository, private_url, clones, right_credentials):
    path = clones / "private"
    clone(private_url, path, credentials=right_credentials, max_size_bytes=MB)

    assert branches(path) == ["dev", "feature/x", "main"]
    assert commits(path, "main")[0].sha == unit_repository.fix
    assert file_at(path, unit_repository.initial, "schema_example.json") == SCHEMA_EXAMPLE


def test_credentials_are_not_stored_in_the_clone(
    private_url, clones, right_credentials, git_http_server
):
    path = clones / "private"
    clone(private_url, path, credentials=right_credentials, max_size_bytes=MB)
    fetch(path, right_credentials)

    assert f"url = {private_url}" in (path / "config").read_text()
    for file, content in files_under(path).items():
        assert HTTP_PASSWORD.encode() not in content, file
        assert git_http_server.expected_authorization.encode() not in content, file
    assert git_http_server.expected_authorization in git_http_server.authorizations


@pytest.mark.parametrize("credentials", ["wrong", "none"])
def test_clone_with_wrong_or_no_credentials_fails_and_leaves_nothing(
    private_url, clones, wrong_credentials, credentials
):
    given = wrong_credentials if credentials == "wrong" else None
    with pytest.raises(AuthenticationFailedError) as raised:
        clone(private_url, clones / "private", credentials=given, max_size_bytes=MB)

    assert str(raised.value) == f"Authentication failed for {private_url}"
    assert wrong_credentials.pat_token not in raised.value.details
    assert wrong_credentials.pat_token not in repr(wrong_credentials)
    assert list(clones.iterdir()) == []


def test_fetch_needs_the_credentials_every_time(
    unit_repository, private_url, clones, right_credentials, wrong_credentials
):
    path = clones / "private"
    clone(private_url, path, credentials=right_credentials, max_size_bytes=MB)
    newer = unit_repository.source.commit("Newer", {"new.txt": b"new\n"})
    unit_repository.source.publish()

    with pytest.raises(AuthenticationFailedError):
        fetch(path, None)
    with pytest.raises(AuthenticationFailedError):
        fetch(path, wrong_credentials)
    fetch(path, right_credentials)

    assert commits(path, "main")[0].sha == newer


def test_check_remote(private_url, right_credentials, wrong_credentials, git_http_server):
    check_remote(private_url, right_credentials)
    with pytest.raises(AuthenticationFailedError):
        check_remote(private_url, wrong_credentials)
    with pytest.raises(RepositoryNotFoundError):
        check_remote(git_http_server.url("missing"), right_credentials)


def test_an_unreachable_server(clones, right_credentials):
    url = f"http://{LOOPBACK}:{free_loopback_port()}/unit.git"
    with pytest.raises(GitUnavailableError, match="could not be reached"):
        clone(url, clones / "private", credentials=right_credentials, max_size_bytes=MB)
    assert list(clones.iterdir()) == []


def test_configured_credential_helpers_never_see_the_credentials(
    private_url, clones, right_credentials, tmp_path, monkeypatch
):
    stored = tmp_path / "stored-credentials"
    global_config = tmp_path / "gitconfig"
    global_config.write_text(f"[credential]\n\thelper = store --file {stored}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_config))

    clone(private_url, clones / "private", credentials=right_credentials, max_size_bytes=MB)

    assert not stored.exists()
