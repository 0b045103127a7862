"""Another process competing for the schedules of a database, for the tests:

    python -m tests.control_plane.schedule_holder DATABASE_URL DATA_DIR RECORD_FILE

It runs a scheduler on the real leader lock whose jobs append `<job> <unix time>` lines to
RECORD_FILE (`elected` once per election, `tick` every 0.2 s), and stops cleanly on SIGTERM.
"""

import os
import signal
import sys
import threading
import time
from pathlib import Path

from control_plane.schedules import Job, PeriodicJob, Scheduler, make_leader_lock
from pepeunit_core.settings import Settings

POLL_S = 0.1
TICK_S = 0.2


def recording_job(name: str, record_file: Path) -> Job:
    def run(_stop: threading.Event) -> str:
        line = f"{name} {time.time():.6f}\n".encode()
        descriptor = os.open(record_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)
        return "recorded"

    return Job(name, run)


def main(database_url: str, data_dir: str, record_file: str) -> None:
    settings = Settings(sqlalchemy_database_url=database_url, data_dir=Path(data_dir))
    record = Path(record_file)
    scheduler = Scheduler(
        make_leader_lock(settings),
        on_election=[recording_job("elected", record)],
        periodic=[PeriodicJob(recording_job("tick", record), interval=TICK_S, first_after=TICK_S)],
        poll_interval=POLL_S,
        name="holder",
    )
    terminated = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: terminated.set())
    scheduler.start()
    terminated.wait()
    scheduler.stop()


if __name__ == "__main__":
    main(*sys.argv[1:4])
