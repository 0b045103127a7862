"""Periodic clean-up of ClickHouse rows readers no longer see
(docs/compatibility.md#reads-honour-n-and-expiry): NRecords rows beyond each node's N and expired
TimeWindow rows. Reads already hide both; this reclaims space."""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from flows.storage.cleanup import delete_expired_window_rows, enforce_n_records_cap

logger = logging.getLogger("pepeunit.flow.janitor")


class StorageJanitor:
    def __init__(
        self,
        open_client: Callable[[], Client],
        interval_s: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._open_client = open_client
        self._interval_s = interval_s
        self._now = now
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="storage-janitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def clean_once(self, client: Client) -> tuple[int, int]:
        beyond_cap = enforce_n_records_cap(client)
        expired = delete_expired_window_rows(client, self._now())
        if beyond_cap or expired:
            logger.info("removed %d NRecords rows beyond N, %d expired window rows",
                        beyond_cap, expired)  # fmt: skip
        return beyond_cap, expired

    def _run(self) -> None:
        client = self._open_client()
        while not self._stop.wait(self._interval_s):
            try:
                self.clean_once(client)
            except Exception:
                logger.exception("storage clean-up failed; trying again next interval")
