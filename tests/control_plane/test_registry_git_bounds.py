"""Issue 11, finding 2: registry git transfers cannot freeze the API, and registry URLs cannot
reach the server's own network; finding 4: file:// registries only under the operator's roots.

The freeze is reproduced as found: 45 concurrent `POST /repository_registry` at
`https://127.0.0.1:<port>/hangN.git`, a port that accepts and never answers, against the API
served by uvicorn, while other routes are probed.
"""

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.services.registry import remote_access
from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_sources import UnitRepository
from tests.control_plane_registry.tcp_stubs import SilentListener
from tests.services.ports import LOOPBACK, free_loopback_port

from .conftest import (
    API,
    CHEAP_ARGON2,
    Actors,
    checked_client,
    login_token,
    make_settings,
    register,
)

REGISTRY = f"{API}/repository_registry"
GIT_TIMEOUT_S = 2.0
MAX_TRANSFERS = 4
STORM_USERS = 5
STORM_REQUESTS = 45
QUEUED_BEHIND_STORM_S = 0.5
"""Probes sent this soon after the storm began may wait behind its requests."""
PROBE_TIMEOUT_S = 10.0


def create(client: TestClient | httpx.Client, headers: dict, url: str) -> httpx.Response:
    body = {"platform": "Gitlab", "repository_url": url, "is_public_repository": True}
    return client.post(REGISTRY, json=body, headers=headers)


def git_processes(port: int) -> list[int]:
    """Pids of the git processes that talk to `port`: one `git-remote-https` per transfer (the
    `git fetch` that runs it names the remote, not its URL)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        program = os.path.basename(argv[0])
        if program == b"git-remote-https" and any(f":{port}/".encode() in part for part in argv):
            pids.append(int(entry.name))
    return pids


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The API under uvicorn (its real worker thread pool) on a free port; yields its URL."""
    port = free_loopback_port()
    app = create_app(settings, password_hasher=CHEAP_ARGON2)
    server = uvicorn.Server(
        uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hanging_registries_cannot_freeze_the_api(database_url: str, tmp_path: Path):
    settings = make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allow_private_addresses=True,  # the hanging port is on 127.0.0.1
        registry_git_timeout=GIT_TIMEOUT_S,
        registry_max_git_transfers=MAX_TRANSFERS,
    )
    with SilentListener() as silent, served(settings) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            users = []
            for index in range(STORM_USERS):
                login = f"storm{index}"
                register(client, login)  # type: ignore[arg-type]
                users.append({"x-auth-token": login_token(client, login)})  # type: ignore[arg-type]

        probes: list[tuple[float, float]] = []  # (s from the storm's start to the probe's, latency)
        most_git = 0
        storm_over = threading.Event()

        def probe() -> None:
            with httpx.Client(base_url=base, timeout=PROBE_TIMEOUT_S) as prober:
                while not storm_over.is_set():
                    for path in ("/pepeunit", REGISTRY):
                        began = time.monotonic()
                        try:
                            ok = prober.get(path, headers=users[0]).status_code == 200
                        except httpx.TimeoutException:
                            ok = False
                        latency = time.monotonic() - began if ok else 99.0
                        probes.append((began - storm_started, latency))
                    time.sleep(0.05)

        def watch_git() -> None:
            nonlocal most_git
            while not storm_over.is_set():
                most_git = max(most_git, len(git_processes(silent.port)))
                time.sleep(0.02)

        # One client made beforehand: 45 made at once would cost the server (same process,
        # same GIL) seconds of CPU.
        poster = httpx.Client(
            base_url=base,
            timeout=GIT_TIMEOUT_S + 15,
            limits=httpx.Limits(max_connections=STORM_REQUESTS),
        )

        def post(index: int) -> httpx.Response | None:
            url = f"https://{LOOPBACK}:{silent.port}/hang{index}.git"
            try:
                return create(poster, users[index % STORM_USERS], url)
            except httpx.TimeoutException:
                return None

        watchers = [threading.Thread(target=probe), threading.Thread(target=watch_git)]
        storm_started = started = time.monotonic()
        for watcher in watchers:
            watcher.start()
        try:
            with ThreadPoolExecutor(STORM_REQUESTS) as pool:
                responses = list(pool.map(post, range(STORM_REQUESTS)))
            storm_seconds = time.monotonic() - started
            time.sleep(0.3)
            left = git_processes(silent.port)
        finally:
            storm_over.set()
            poster.close()
            for watcher in watchers:
                watcher.join()
            for pid in git_processes(silent.port):  # only on failure: never leave them behind
                os.kill(pid, signal.SIGKILL)

    # Other routes kept answering: within 1 s each while the transfers hang (a probe sent with
    # the storm waits behind the 45 POSTs the server takes first, seconds on a busy machine).
    during_hang = [latency for began, latency in probes if began >= QUEUED_BEHIND_STORM_S]
    assert len(during_hang) >= 4, probes
    assert max(during_hang) < 1.0, probes
    assert max(latency for _, latency in probes) < PROBE_TIMEOUT_S, probes
    assert all(response is not None for response in responses), "a POST hung"
    statuses = sorted(response.status_code for response in responses if response is not None)
    ran = [r for r in responses if r is not None and r.status_code == 422]
    # Each user runs one transfer at a time, the process at most MAX_TRANSFERS: the others
    # are refused at once with a message.
    assert 1 <= len(ran) <= MAX_TRANSFERS, [(r.status_code, r.text) for r in responses if r]
    assert set(statuses) <= {422, 429, 503}, statuses
    for response in responses:
        assert response is not None
        detail = response.json()["detail"]
        if response.status_code == 422:
            assert f"did not answer within {GIT_TIMEOUT_S:g} s" in detail, detail
        elif response.status_code == 429:
            assert "You already run 1 git transfer" in detail, detail
        else:
            assert f"already runs {MAX_TRANSFERS} git transfers" in detail, detail
    # The git processes were bounded, then killed by the timeout.
    assert 1 <= most_git <= MAX_TRANSFERS, most_git
    assert left == []
    assert storm_seconds < GIT_TIMEOUT_S + 5


def test_private_addresses_are_refused_by_default(client: TestClient, actors: Actors):
    alice = actors.headers["alice"]
    with SilentListener() as silent:
        url = f"https://{LOOPBACK}:{silent.port}/repo.git"
        response = create(client, alice, url)
        assert silent.accepted == 0  # refused before anything connects
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("422: 13: ")
    assert url in detail and "loopback" in detail
    assert "PU_REGISTRY_ALLOW_PRIVATE_ADDRESSES" in detail
    assert client.get(REGISTRY, headers=alice).json()["count"] == 1  # the actors' fixture one


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("localhost", "a loopback address"),
        ("0x7f000001", "a loopback address"),
        ("[::1]", "a loopback address"),
        ("[::ffff:127.0.0.1]", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("192.168.0.10", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("[fe80::1]", "a link-local address"),
        ("0.0.0.0", "not a public address"),
        ("100.64.0.1", "not a public address"),
    ],
)
def test_every_kind_of_non_public_address_is_refused(host: str, reason: str, tmp_path: Path):
    policy = remote_access.RemotePolicy.from_settings(Settings(data_dir=tmp_path))
    url = f"https://{host}:9/repo.git"
    with pytest.raises(remote_access.RemoteNotAllowedError, match=reason) as raised:
        remote_access.prepare_remote(url, policy)
    assert url in str(raised.value)


@pytest.fixture
def unit_repository_template(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("file-roots-source"))


def test_file_registries_only_under_the_operators_roots(
    database_url: str, actors: Actors, tmp_path: Path, unit_repository_template: UnitRepository
):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    inside_repo = unit_repository_template.copy_to(allowed)
    outside_repo = unit_repository_template.copy_to(outside)
    (allowed / "sneaky.git").symlink_to(outside_repo.source.bare)
    settings = make_settings(
        database_url,
        data_dir=allowed / "data",
        registry_allowed_url_schemes=("https", "file"),
        registry_file_roots=(allowed,),
    )
    data_repo = unit_repository_template.copy_to(settings.data_dir)
    alice = actors.headers["alice"]
    with checked_client(create_app(settings, password_hasher=CHEAP_ARGON2)) as client:
        refusals = {
            outside_repo.url: "outside the directories allowed",
            (allowed / "sneaky.git").as_uri(): "outside the directories allowed",
            data_repo.url: "platform's own data or code",
            (remote_access._CODE_ROOT / "x.git").as_uri(): "outside the directories allowed",
        }
        for url, reason in refusals.items():
            response = create(client, alice, url)
            assert response.status_code == 422, (url, response.text)
            assert url in response.json()["detail"] and reason in response.json()["detail"]
        assert create(client, alice, inside_repo.url).status_code == 201

    # The platform's code is refused even under a root that holds it, and with no root listed
    # no file:// registry is accepted.
    for roots, reason in [
        ((Path("/"),), "platform's own data or code"),
        ((), "none is listed"),
    ]:
        settings = make_settings(
            database_url,
            data_dir=tmp_path / "data",
            registry_allowed_url_schemes=("https", "file"),
            registry_file_roots=roots,
        )
        with checked_client(create_app(settings, password_hasher=CHEAP_ARGON2)) as client:
            url = (remote_access._CODE_ROOT / "x.git").as_uri()
            response = create(client, alice, url)
        assert response.status_code == 422, response.text
        assert reason in response.json()["detail"]
