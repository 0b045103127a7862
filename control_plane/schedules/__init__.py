"""Periodic work of the control plane, run by exactly one process among all that share the SQL
database: `scheduler` runs a timetable while holding a `leader_lock`; `jobs` is the work and
`api_schedule` the API's timetable (imported from there: it needs the whole API)."""

from .leader_lock import FileLock, LeaderLock, PostgresAdvisoryLock, make_leader_lock
from .scheduler import Job, PeriodicJob, Scheduler

__all__ = [
    "FileLock",
    "Job",
    "LeaderLock",
    "PeriodicJob",
    "PostgresAdvisoryLock",
    "Scheduler",
    "make_leader_lock",
]
