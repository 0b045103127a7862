"""A private PostgreSQL cluster on a free loopback port, and fixtures that use it."""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from .ports import LOOPBACK, free_loopback_port
from .processes import (
    ServiceError,
    log_tail,
    stop_process,
    wait_until_ready,
    with_parent_death_signal,
)

DEBIAN_INSTALL_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
STARTUP_TIMEOUT_S = 20.0
TEST_DATABASE_PREFIX = "pytest_"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    data_dir: Path

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq conninfo, for psycopg.connect()."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL with the psycopg 3 driver."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"


@dataclass(frozen=True)
class PostgresDatabase:
    server: PostgresServer
    name: str

    @property
    def dsn(self) -> str:
        return self.server.dsn(self.name)

    @property
    def url(self) -> str:
        return self.server.url(self.name)


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    version = bin_dir.parent.name
    return tuple(int(part) for part in version.split(".")) if version[:1].isdigit() else (0,)


def find_postgres_bin_dir(install_root: Path = DEBIAN_INSTALL_ROOT) -> Path:
    """The bin dir of the newest installed PostgreSQL that has initdb and postgres."""
    bin_dirs = [
        initdb.parent
        for initdb in install_root.glob("*/bin/initdb")
        if (initdb.parent / "postgres").is_file()
    ]
    if bin_dirs:
        return max(bin_dirs, key=_version_key)
    initdb = shutil.which("initdb")
    if initdb is not None and (Path(initdb).resolve().parent / "postgres").is_file():
        return Path(initdb).resolve().parent
    raise ServiceError(
        "PostgreSQL's initdb/postgres not found: install the Debian package `postgresql` "
        "(apt-get install postgresql)"
    )


def _unprivileged_identity() -> dict[str, Any]:
    """Popen arguments that run PostgreSQL as the `postgres` user when we are root.

    initdb and postgres refuse to run as root.
    """
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise ServiceError(
            "running as root, PostgreSQL needs the `postgres` OS user: install the Debian "
            "package `postgresql` (apt-get install postgresql)"
        ) from None
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _accepts_queries(server: PostgresServer) -> bool:
    try:
        with psycopg.connect(server.dsn(), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _init_cluster(bin_dir: Path, data_dir: Path, log_path: Path, identity: dict[str, Any]) -> None:
    command = [
        str(bin_dir / "initdb"),
        *("-D", str(data_dir), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--locale=C"),
        *("--no-sync", "--no-instructions"),
    ]
    with log_path.open("ab") as log:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir.parent,
            timeout=60,
            check=False,
            **identity,
        )
    if result.returncode != 0:
        raise ServiceError(
            f"initdb failed with code {result.returncode}; log {log_path}:\n{log_tail(log_path)}"
        )


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Initialise and run a throw-away cluster until the block exits."""
    bin_dir = find_postgres_bin_dir()
    identity = _unprivileged_identity()
    # Not under pytest's basetemp: that dir is private to root, and the `postgres` user
    # must reach the data and socket dirs.
    base_dir = Path(tempfile.mkdtemp(prefix="pepeunit-postgres-"))
    try:
        if identity:
            os.chown(base_dir, identity["user"], identity["group"])
        server = PostgresServer(LOOPBACK, free_loopback_port(), SUPERUSER, base_dir / "data")
        log_path = base_dir / "postgres.log"
        _init_cluster(bin_dir, server.data_dir, log_path, identity)
        settings = {
            "listen_addresses": server.host,
            "port": str(server.port),
            "unix_socket_directories": str(base_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        command = [str(bin_dir / "postgres"), "-D", str(server.data_dir)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                with_parent_death_signal(command, "QUIT"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base_dir,
                **identity,
            )
        try:
            wait_until_ready(
                process,
                lambda: _accepts_queries(server),
                what=f"postgres on {server.host}:{server.port}",
                log_path=log_path,
                timeout=STARTUP_TIMEOUT_S,
            )
            yield server
        finally:
            # SIGINT is PostgreSQL's "fast" shutdown: cancels sessions, skips waiting for clients.
            stop_process(process, signal.SIGINT)
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)


@contextmanager
def fresh_database(server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A new, uniquely named database that is dropped when the block exits."""
    database = PostgresDatabase(server, f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}")
    name = sql.Identifier(database.name)
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield database
    finally:
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One cluster shared by the whole session; connect as the trusted superuser."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A database of its own for one test, dropped afterwards."""
    with fresh_database(postgres_server) as database:
        yield database
