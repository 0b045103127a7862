"""A private Mosquitto broker on a free loopback port, and fixtures that start one."""

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from .ports import LOOPBACK, accepts_connections, free_loopback_port
from .processes import find_binary, stop_process, wait_until_ready, with_parent_death_signal

STARTUP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class MosquittoServer:
    host: str
    port: int
    config_path: Path
    log_path: Path


def mosquitto_config(
    server: MosquittoServer, extra_config_lines: Sequence[str], *, allow_anonymous: bool
) -> str:
    lines = [
        f"listener {server.port} {server.host}",
        f"allow_anonymous {'true' if allow_anonymous else 'false'}",
        "persistence false",
        f"log_dest file {server.log_path}",
        *_run_as_lines(),
    ]
    return "\n".join([*lines, *extra_config_lines]) + "\n"


def _run_as_lines() -> list[str]:
    # Started as root, mosquitto 2 switches to the `mosquitto` user, which cannot read
    # the test's files (pytest's tmp dirs are private to root).
    return ["user root"] if os.geteuid() == 0 else []


ConfigText = Callable[[MosquittoServer], str]
"""A whole configuration for the server's port and log file (the fixture adds `user root`
when the tests run as root)."""


@contextmanager
def running_mosquitto(
    work_dir: Path,
    extra_config_lines: Sequence[str] = (),
    *,
    allow_anonymous: bool = True,
    port: int | None = None,
    config_text: ConfigText | None = None,
) -> Iterator[MosquittoServer]:
    """Run a broker configured in `work_dir` (on `port`, else a free one) until the block
    exits; `config_text` replaces the test configuration and `extra_config_lines`."""
    binary = find_binary("mosquitto", [Path("/usr/sbin/mosquitto")], debian_package="mosquitto")
    work_dir.mkdir(parents=True, exist_ok=True)
    server = MosquittoServer(
        host=LOOPBACK,
        port=port or free_loopback_port(),
        config_path=work_dir / "mosquitto.conf",
        log_path=work_dir / "mosquitto.log",
    )
    if config_text is None:
        text = mosquitto_config(server, extra_config_lines, allow_anonymous=allow_anonymous)
    else:
        text = config_text(server) + "\n".join(_run_as_lines()) + "\n"
    server.config_path.write_text(text)
    command = with_parent_death_signal([str(binary), "-c", str(server.config_path)], "TERM")
    with server.log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until_ready(
            process,
            lambda: accepts_connections(server.host, server.port),
            what=f"mosquitto on {server.host}:{server.port}",
            log_path=server.log_path,
            timeout=STARTUP_TIMEOUT_S,
        )
        yield server
    finally:
        stop_process(process)


class StartMosquitto(Protocol):
    def __call__(
        self, extra_config_lines: Sequence[str] = (), *, allow_anonymous: bool = True
    ) -> MosquittoServer: ...


@pytest.fixture(scope="session")
def mosquitto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoServer]:
    """One broker shared by the whole session, anonymous access allowed."""
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as server:
        yield server


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[StartMosquitto]:
    """Starts brokers with extra config lines (ACL file, ...); all stop after the test."""
    with ExitStack() as brokers:

        def start(
            extra_config_lines: Sequence[str] = (), *, allow_anonymous: bool = True
        ) -> MosquittoServer:
            work_dir = Path(tempfile.mkdtemp(prefix="mosquitto-", dir=tmp_path))
            return brokers.enter_context(
                running_mosquitto(work_dir, extra_config_lines, allow_anonymous=allow_anonymous)
            )

        yield start
