"""Scheduled backups: a new archive in PU_BACKUP_DIR, the PU_BACKUP_KEEP newest kept, and
the last one's time, size and duration written as Prometheus metrics beside them
(`pepeunit_backup.prom`, for node_exporter's textfile collector or any scraper of files)."""

import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from pepeunit_core.backup.create import create_backup, default_backup_name
from pepeunit_core.settings import Settings

SCHEDULED_NAME = re.compile(r"^pepeunit-backup-\d{8}T\d{6}Z\.tar$")
METRICS_FILE = "pepeunit_backup.prom"
DIRECTORY_MODE = 0o700


@dataclass(frozen=True)
class ScheduledBackup:
    path: Path
    size: int
    seconds: float
    removed: list[Path]

    def __str__(self) -> str:
        return (
            f"{self.path.name}, {self.size} bytes in {self.seconds:.1f} s, "
            f"{len(self.removed)} old backup(s) removed"
        )


def run_scheduled_backup(
    settings: Settings, now: datetime, clickhouse: Client | None = None
) -> ScheduledBackup:
    directory = settings.resolved_backup_dir
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    path = directory / default_backup_name(now)
    started = time.monotonic()
    create_backup(settings, path, clickhouse=clickhouse)
    done = ScheduledBackup(
        path,
        path.stat().st_size,
        time.monotonic() - started,
        prune_backups(directory, settings.backup_keep),
    )
    write_backup_metrics(directory, now, done)
    return done


def prune_backups(directory: Path, keep: int) -> list[Path]:
    """Deletes all but the `keep` newest scheduled backups (by the time in their names);
    other files are left alone."""
    scheduled = sorted(path for path in directory.iterdir() if SCHEDULED_NAME.match(path.name))
    doomed = scheduled[:-keep] if keep else scheduled
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def write_backup_metrics(directory: Path, now: datetime, done: ScheduledBackup) -> None:
    registry = CollectorRegistry()
    Gauge(
        "pepeunit_backup_last_success_timestamp_seconds",
        "When the last scheduled backup finished (Unix time).",
        registry=registry,
    ).set(now.timestamp() + done.seconds)
    Gauge(
        "pepeunit_backup_last_size_bytes", "Size of the last scheduled backup.", registry=registry
    ).set(done.size)
    Gauge(
        "pepeunit_backup_last_duration_seconds",
        "How long the last scheduled backup took.",
        registry=registry,
    ).set(done.seconds)
    write_to_textfile(str(directory / METRICS_FILE), registry)
