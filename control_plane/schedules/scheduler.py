"""Runs jobs on a timetable in exactly one process: the one holding a `LeaderLock`.

Every process with a scheduler keeps trying to take the lock (every `poll_interval` s). The
one that gets it runs the election jobs at once, then each periodic job every `interval` s,
counted from its election, the first `first_after` s after it. While leading it checks every
`poll_interval` s, and again before each job, that it still holds the lock; a leader that has
lost it stops running jobs and waits to be elected again. A failing job is logged and the
timetable goes on; a job never runs twice at the same time, and a run that is still going when
the next one is due makes the missed ones be skipped.

Jobs run one after another in the scheduler's own thread and get the stop event: a long job
should give up soon after it is set.
"""

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .leader_lock import LeaderLock

logger = logging.getLogger("pepeunit.api.schedules")

DEFAULT_STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[threading.Event], str]
    """Does the work; returns a one-line summary for the log. Gets the scheduler's stop event."""
    log_level: int = logging.INFO
    """Of the started/done lines (a job that runs every few seconds logs them at DEBUG)."""


@dataclass(frozen=True)
class PeriodicJob:
    job: Job
    interval: float
    first_after: float
    """Seconds between the election and the first run."""

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.first_after < 0:
            raise ValueError(f"{self.job.name}: needs interval > 0 and first_after >= 0")

    def next_run(self, elected_at: float, now: float) -> float:
        """The first time of the timetable after `now`."""
        first = elected_at + self.first_after
        if now < first:
            return first
        return first + (math.floor((now - first) / self.interval) + 1) * self.interval


class Scheduler:
    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_election: Sequence[Job] = (),
        periodic: Sequence[PeriodicJob] = (),
        poll_interval: float,
        name: str = "schedules",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self._lock = lock
        self._on_election = tuple(on_election)
        self._periodic = tuple(periodic)
        self._poll_interval = poll_interval
        self._name = name
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leading = False

    @property
    def is_leader(self) -> bool:
        """Whether this scheduler believes it holds the lock (checked every poll interval)."""
        return self._leading

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the scheduler was started already")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
        """Stop after the running job (if any) and give the lock up; False if the job was still
        running after `timeout` s (the thread is then left to end on its own)."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning(
                "%s: a job is still running after %g s; not waiting", self._name, timeout
            )
            return False
        return True

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._try_to_lead():
                    self._lead()
                else:
                    self._stop.wait(self._poll_interval)
        finally:
            self._leading = False
            self._lock.release()

    def _try_to_lead(self) -> bool:
        try:
            acquired = self._lock.try_acquire()
        except Exception as error:
            logger.warning(
                "%s: cannot ask for the %s: %s", self._name, self._lock.describe(), error
            )
            return False
        if acquired:
            logger.info("%s: this process runs them now (%s)", self._name, self._lock.describe())
        return acquired

    def _lead(self) -> None:
        """Run the timetable until stopped or the lock is lost."""
        self._leading = True
        elected_at = self._clock()
        for job in self._on_election:
            if self._stop.is_set() or not self._still_leading():
                return
            self._run_job(job)
        due = [elected_at + job.first_after for job in self._periodic]
        while not self._stop.is_set():
            if not due:
                if not self._wait_checking(self._clock() + self._poll_interval):
                    return
                continue
            index = min(range(len(due)), key=due.__getitem__)
            if not self._wait_checking(due[index]):
                return
            periodic = self._periodic[index]
            self._run_job(periodic.job)
            due[index] = periodic.next_run(elected_at, self._clock())

    def _wait_checking(self, until: float) -> bool:
        """Wait until `until`, checking the lock every poll interval; False if stopped or the
        lock is lost."""
        while True:
            remaining = until - self._clock()
            if remaining > 0 and self._stop.wait(min(remaining, self._poll_interval)):
                return False
            if not self._still_leading():
                return False
            if remaining <= self._poll_interval:
                return not self._stop.is_set()

    def _still_leading(self) -> bool:
        try:
            held = self._lock.is_held()
        except Exception as error:
            logger.warning("%s: cannot check the %s: %s", self._name, self._lock.describe(), error)
            held = False
        if not held:
            logger.warning(
                "%s: lost the %s; waiting to be elected again", self._name, self._lock.describe()
            )
            self._leading = False
            self._lock.release()
            # Let another process take over rather than race it for the lock at once.
            self._stop.wait(self._poll_interval)
        return held

    def _run_job(self, job: Job) -> None:
        logger.log(job.log_level, "%s: %s started", self._name, job.name)
        started = self._clock()
        try:
            summary = job.run(self._stop)
        except Exception:
            logger.exception(
                "%s: %s failed after %.1f s", self._name, job.name, self._clock() - started
            )
            return
        logger.log(
            job.log_level,
            "%s: %s done in %.1f s: %s",
            self._name,
            job.name,
            self._clock() - started,
            summary,
        )
