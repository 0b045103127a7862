"""Who runs the schedules: a lock that at most one process holds, wherever the processes run.

PostgreSQL: a session-level advisory lock held on a connection of its own. It lasts as long as
that session: when the holder dies or its connection drops, the server ends the session and the
lock is free for the next process that asks. It needs a direct connection to the server (a
proxy pooling transactions would hand the session to someone else).

SQLite (one machine): `flock` on a file next to the database. The kernel frees it when the
holder's process ends. flock locks belong to an open file, so two holders in one process also
exclude each other.
"""

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.api.schedules")

# pg_try_advisory_lock(int, int): a namespace for Pepeunit ("PEPE") and the schedules' number.
ADVISORY_LOCK_NAMESPACE = 0x50455045
SCHEDULES_LOCK_ID = 1
_KEY = "CAST(:namespace AS integer), CAST(:lock_id AS integer)"
# A leader whose server vanished must notice before the server frees its lock for another:
# give up on an unanswered connection after ~30 s instead of TCP's default ~15 min.
_POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


class LeaderLock(Protocol):
    """Held by at most one holder at a time; every method may be called from one thread only."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits. False when someone else holds it."""
        ...

    def is_held(self) -> bool:
        """Whether this holder still has the lock (it may lose it, e.g. with its connection)."""
        ...

    def release(self) -> None:
        """Give the lock up, if held, and free what holding it took; safe to call anytime."""
        ...

    def describe(self) -> str: ...


class PostgresAdvisoryLock:
    def __init__(self, url: str, lock_id: int = SCHEDULES_LOCK_ID) -> None:
        self._lock_id = lock_id
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",  # never left idle in a transaction
            connect_args=_POSTGRES_CONNECT_ARGS,
        )
        self._connection: Connection | None = None
        self._held = False

    def try_acquire(self) -> bool:
        if self._held and self.is_held():
            return True
        connection = self._open()
        try:
            acquired = connection.scalar(
                text(f"SELECT pg_try_advisory_lock({_KEY})"), self._parameters()
            )
        except Exception:
            self._close()
            raise
        self._held = bool(acquired)
        return self._held

    def is_held(self) -> bool:
        if not self._held or self._connection is None:
            return False
        try:
            held = self._connection.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = CAST(:namespace AS oid)"
                    " AND objid = CAST(:lock_id AS oid) AND objsubid = 2"
                ),
                self._parameters(),
            )
        except Exception as error:
            logger.warning("the schedule lock's connection failed: %s", error)
            self._close()
            return False
        if not held:
            self._held = False
        return self._held

    def release(self) -> None:
        if self._held and self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(
                    text(f"SELECT pg_advisory_unlock({_KEY})"), self._parameters()
                )
        self._close()

    def describe(self) -> str:
        return "PostgreSQL advisory lock"

    def _open(self) -> Connection:
        if self._connection is None or self._connection.invalidated:
            self._close()
            self._connection = self._engine.connect()
        return self._connection

    def _close(self) -> None:
        self._held = False
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def _parameters(self) -> dict[str, int]:
        return {"namespace": ADVISORY_LOCK_NAMESPACE, "lock_id": self._lock_id}


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor: int | None = None

    def try_acquire(self) -> bool:
        if self._descriptor is not None:
            return self.is_held()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return False
        except BaseException:
            os.close(descriptor)
            raise
        self._descriptor = descriptor
        return self.is_held()

    def is_held(self) -> bool:
        """False, and the lock given up, if the file was deleted or replaced meanwhile: a new
        holder could lock the new file."""
        if self._descriptor is None:
            return False
        try:
            same_file = os.stat(self.path).st_ino == os.fstat(self._descriptor).st_ino
        except FileNotFoundError:
            same_file = False
        if not same_file:
            self.release()
        return same_file

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the last descriptor drops the flock
            self._descriptor = None

    def describe(self) -> str:
        return f"file lock {self.path}"


def make_leader_lock(settings: Settings) -> PostgresAdvisoryLock | FileLock:
    """The schedules' lock for `settings`' SQL database."""
    url = make_url(settings.resolved_sqlalchemy_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PostgresAdvisoryLock(settings.resolved_sqlalchemy_url)
    if backend == "sqlite":
        return FileLock(_sqlite_lock_path(url.database, settings.data_dir))
    raise ValueError(f"Schedules cannot elect a runner on a {backend} database")


def _sqlite_lock_path(database: str | None, data_dir: Path) -> Path:
    if not database or database == ":memory:" or database.startswith("file:"):
        return (data_dir / "schedules.lock").resolve()
    database_path = Path(database).resolve()
    return database_path.with_name(f"{database_path.name}.schedules.lock")
