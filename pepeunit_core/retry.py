"""Retrying a storage write with exponential back-off until it succeeds or the writer stops."""

import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

logger = logging.getLogger("pepeunit.storage")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_delay_s: float = 0.1
    factor: float = 2.0
    max_delay_s: float = 10.0
    jitter: float = 0.2
    """Fraction of each delay drawn at random, so processes that failed together retry apart."""

    def __post_init__(self) -> None:
        if not 0 < self.initial_delay_s <= self.max_delay_s:
            raise ValueError("RetryPolicy needs 0 < initial_delay_s <= max_delay_s")
        if self.factor < 1:
            raise ValueError("RetryPolicy.factor must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be between 0 and 1")

    def delay_s(self, failures: int, draw: Callable[[], float] = random.random) -> float:
        """The pause after the `failures`-th consecutive failure (1 for the first)."""
        growth_needed = math.log(self.max_delay_s / self.initial_delay_s)
        if self.factor == 1 or (failures - 1) * math.log(self.factor) < growth_needed:
            nominal = self.initial_delay_s * self.factor ** (failures - 1)
        else:  # computed apart so that a long outage cannot overflow the power
            nominal = self.max_delay_s
        return nominal * (1 - self.jitter * draw())


DEFAULT_RETRY = RetryPolicy()


class BatchNotStoredError(RuntimeError):
    """A batch was given up because the writer was stopped while its write kept failing."""

    def __init__(self, table: str, rows: int, attempts: int, last_error: Exception) -> None:
        super().__init__(
            f"{rows} rows for {table} were NOT stored: the writer was stopped after "
            f"{attempts} failed attempts; last error: {last_error!r}"
        )
        self.table = table
        self.rows = rows
        self.attempts = attempts


class Retrier:
    """Runs writes until they succeed; `stop()` (from any thread) makes a failing write give up.

    Only errors that the database may heal (`retryable`: unreachable, table missing, locked,
    ...) are retried; others, such as a row the driver cannot encode, would fail the same way
    forever, so they are raised at once. `sleep` defaults to waiting on the stop event, so
    `stop()` also cuts a pause short. A write started after `stop()` still gets one attempt,
    so a final flush on shutdown can go through.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        retryable: Callable[[Exception], bool],
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.policy = policy
        self._retryable = retryable
        self._stopped = threading.Event()
        self._sleep = sleep if sleep is not None else self._stopped.wait

    def stop(self) -> None:
        self._stopped.set()

    def run(
        self,
        write: Callable[[], T],
        *,
        table: str,
        rows: int,
        on_failure: Callable[[], None] = lambda: None,
        on_retry: Callable[[], None] = lambda: None,
    ) -> T:
        failures = 0
        while True:
            try:
                return write()
            except Exception as error:
                failures += 1
                on_failure()
                if not self._retryable(error):
                    raise
                if not self._stopped.is_set():
                    delay = self.policy.delay_s(failures)
                    logger.warning(
                        "writing %d rows to %s failed (attempt %d), retrying in %.2f s: %r",
                        rows,
                        table,
                        failures,
                        delay,
                        error,
                    )
                    self._sleep(delay)
                if self._stopped.is_set():
                    raise BatchNotStoredError(table, rows, failures, error) from error
                on_retry()
