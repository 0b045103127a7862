"""A bounded pool of ClickHouse clients kept open for the life of the process.

Opening a client per request is what leaked: with chdb, closing the last open handle shuts the
embedded engine down and the next one starts it again, and every restart leaves about five
threads and some memory behind. Clients that stay open keep one engine for the whole process.

A client runs one call at a time (the chdb backend serializes calls on a handle, and a query
issued while a stream is open on it returns nothing), so each caller borrows a client of its
own for the length of its work, and gives it back.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from clickhouse_connect.driver.client import Client

from pepeunit_core.clickhouse.client import make_clickhouse_client

DEFAULT_POOL_SIZE = 4
DEFAULT_WAIT_SECONDS = 30.0


class ClickHouseBusyError(RuntimeError):
    """Every client of the pool stayed borrowed for longer than the caller may wait."""


class ClickHousePool:
    def __init__(
        self,
        url: str,
        size: int = DEFAULT_POOL_SIZE,
        *,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        open_client: Callable[[str], Client] = make_clickhouse_client,
    ) -> None:
        if size < 1:
            raise ValueError(f"a ClickHouse pool needs at least one client, not {size}")
        self.url = url
        self.size = size
        self._wait_seconds = wait_seconds
        self._open_client = open_client
        self._idle: list[Client] = []
        self._opened = 0
        self._closed = False
        self._changed = threading.Condition()

    @contextmanager
    def client(self) -> Iterator[Client]:
        """A client for this thread alone until the block ends (opened on first need)."""
        borrowed = self._borrow()
        try:
            yield borrowed
        finally:
            self._give_back(borrowed)

    def close(self) -> None:
        """Closes the idle clients now and borrowed ones when they come back."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            self._changed.notify_all()
        for client in idle:
            client.close()

    def _borrow(self) -> Client:
        with self._changed:
            while True:
                if self._closed:
                    raise ClickHouseBusyError("the ClickHouse pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._opened < self.size:
                    self._opened += 1
                    break
                if not self._changed.wait(self._wait_seconds):
                    raise ClickHouseBusyError(
                        f"all {self.size} ClickHouse clients stayed busy for "
                        f"{self._wait_seconds:g} s"
                    )
        try:
            return self._open_client(self.url)
        except BaseException:
            with self._changed:
                self._opened -= 1
                self._changed.notify()
            raise

    def _give_back(self, client: Client) -> None:
        with self._changed:
            if not self._closed:
                self._idle.append(client)
                self._changed.notify()
                return
            self._opened -= 1
        client.close()


_shared: dict[str, ClickHousePool] = {}
_shared_lock = threading.Lock()


def shared_clickhouse_pool(url: str, size: int = DEFAULT_POOL_SIZE) -> ClickHousePool:
    """The process's pool for `url`: the API, the bot and the services beside them in one
    process (`pepeunit up`) share it, so the process holds at most `size` clients of `url` (the
    size of the first call wins). Its clients stay open until the process ends."""
    with _shared_lock:
        pool = _shared.get(url)
        if pool is None:
            pool = _shared[url] = ClickHousePool(url, size)
        return pool
