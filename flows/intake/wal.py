"""A write-ahead log of received MQTT messages, one SQLite file per source partition.

The MQTT intake appends messages and only then acknowledges them to the broker; the bytewax
source reads them back by offset and snapshots the offset, so a crash replays exactly what was
not yet covered by a completed recovery epoch. Offsets are never reused (AUTOINCREMENT).
"""

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple


class ReceivedMessage(NamedTuple):
    """A tuple (one is made for every message) in the order of the log's INSERT."""

    received_ms: int
    """Receive time (epoch ms): the pipeline clock for this message, also on replay."""
    topic: str
    payload: bytes
    mid: int
    """The MQTT packet id the broker delivered it with (for redelivery deduplication)."""


LoggedRow = tuple[int, int, str, bytes]
"""(offset, received_ms, topic, payload): a logged message as read back, a plain tuple because
the dataflow reads every message through it."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    mid INTEGER NOT NULL
)
"""

_LAST_OFFSET = "SELECT seq FROM sqlite_sequence WHERE name = 'messages'"


class WriteAheadLog:
    """Thread-safe: the intake appends on one connection, the source reads on another."""

    def __init__(self, path: Path, *, durable_on_power_loss: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        # the intake process appends while the dataflow process reads and trims
        self._connection.execute("PRAGMA busy_timeout=30000")
        # NORMAL survives a process crash (what acknowledging needs); FULL also a power loss.
        self._connection.execute(
            f"PRAGMA synchronous={'FULL' if durable_on_power_loss else 'NORMAL'}"
        )
        self._connection.execute(_SCHEMA)

    def append(self, messages: Sequence[ReceivedMessage]) -> int:
        """Appends in one transaction; returns the offset of the last message."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(
                    "INSERT INTO messages (received_ms, topic, payload, mid) VALUES (?, ?, ?, ?)",
                    messages,
                )
                last = connection.execute(_LAST_OFFSET).fetchone()[0]
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            return int(last)

    def read_from(self, offset: int, limit: int) -> list[LoggedRow]:
        """Up to `limit` messages with offsets >= `offset`, in order."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT offset, received_ms, topic, payload FROM messages"
                " WHERE offset >= ? ORDER BY offset LIMIT ?",
                (offset, limit),
            ).fetchall()
        return rows

    def last_offset(self) -> int:
        """The offset of the newest message ever appended (0 when none)."""
        with self._lock:
            row = self._connection.execute(_LAST_OFFSET).fetchone()
        return int(row[0]) if row else 0

    def recent_deliveries(self, count: int) -> list[tuple[int, str, bytes]]:
        """(mid, topic, payload) of the newest `count` messages, oldest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT mid, topic, payload FROM messages ORDER BY offset DESC LIMIT ?", (count,)
            ).fetchall()
        return [(int(mid), topic, bytes(payload)) for mid, topic, payload in reversed(rows)]

    def trim_below(self, offset: int) -> int:
        """Deletes messages with offsets below `offset`; returns how many."""
        with self._lock:
            cursor = self._connection.execute("DELETE FROM messages WHERE offset < ?", (offset,))
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._connection.close()
