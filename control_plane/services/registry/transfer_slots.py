"""How many git transfers (clone, fetch, credential check) run at once in this process.

Requests never wait for a slot: with all taken they are refused at once, so the threads that
serve the API are never all stuck in git (each transfer holds one for at most the git
timeout). Background work (scheduled syncs) may wait.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from pepeunit_core.settings import Settings


class TransfersBusyError(Exception):
    """No slot is free; `per_user` says whether the caller's own limit is what is reached."""

    def __init__(self, message: str, *, per_user: bool) -> None:
        super().__init__(message)
        self.per_user = per_user


class TransferSlots:
    def __init__(self, max_total: int, max_per_user: int) -> None:
        self._max_total = max_total
        self._max_per_user = max_per_user
        self._condition = threading.Condition()
        self._running = 0
        self._per_user: dict[UUID, int] = {}

    @property
    def running(self) -> int:
        with self._condition:
            return self._running

    @contextmanager
    def hold(self, user: UUID | None, *, wait: bool = False) -> Iterator[None]:
        """A slot for one transfer on behalf of `user` (None: the platform itself); with
        `wait`, block until one is free instead of raising `TransfersBusyError`."""
        with self._condition:
            while True:
                busy = self._refusal(user)
                if busy is None:
                    break
                if not wait:
                    raise busy
                self._condition.wait()
            self._running += 1
            if user is not None:
                self._per_user[user] = self._per_user.get(user, 0) + 1
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                if user is not None:
                    left = self._per_user[user] - 1
                    if left:
                        self._per_user[user] = left
                    else:
                        del self._per_user[user]
                self._condition.notify_all()

    def _refusal(self, user: UUID | None) -> TransfersBusyError | None:
        if user is not None and self._per_user.get(user, 0) >= self._max_per_user:
            return TransfersBusyError(
                f"You already run {self._max_per_user} git transfer(s) (clone, sync or "
                "credentials check); wait for them to end",
                per_user=True,
            )
        if self._running >= self._max_total:
            return TransfersBusyError(
                f"The server already runs {self._max_total} git transfers; try again shortly",
                per_user=False,
            )
        return None


_slots: dict[tuple[int, int], TransferSlots] = {}
_slots_lock = threading.Lock()


def transfer_slots(settings: Settings) -> TransferSlots:
    """The process's slots for these limits."""
    key = (settings.registry_max_git_transfers, settings.registry_max_git_transfers_per_user)
    with _slots_lock:
        if key not in _slots:
            _slots[key] = TransferSlots(*key)
        return _slots[key]
