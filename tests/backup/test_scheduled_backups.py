"""Scheduled backups (docs/operations.md#scheduled-backups): the API's schedules process writes
an archive every PU_BACKUP_INTERVAL s through its own ClickHouse pool (on chdb no other process
could), keeps the PU_BACKUP_KEEP newest, and writes the last one's time and size as metrics."""

import logging
import re
from pathlib import Path

import pytest

from control_plane.app import create_app
from pepeunit_core.backup.archive import verify_archive
from pepeunit_core.backup.scheduled import METRICS_FILE, prune_backups
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.migrate import migrate_sql
from tests.control_plane.conftest import CHEAP_ARGON2, checked_client, make_settings, register
from tests.control_plane.test_schedules import LOGGER, wait_until
from tests.services.clickhouse import ClickHouseDatabase


def test_only_the_oldest_scheduled_backups_are_removed(tmp_path: Path):
    names = [f"pepeunit-backup-2026120{day}T000000Z.tar" for day in range(1, 6)]
    for name in [*names, "pepeunit-backup-manual.tar", "notes.txt"]:
        (tmp_path / name).write_bytes(b"x")
    removed = prune_backups(tmp_path, keep=2)
    assert sorted(path.name for path in removed) == names[:3]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [*names[3:], "notes.txt", "pepeunit-backup-manual.tar"]
    )


def test_the_schedules_back_up_keep_the_newest_and_write_metrics(
    tmp_path: Path, clickhouse_database: ClickHouseDatabase, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger=LOGGER)
    sql_url = f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
    migrate_sql(sql_url)
    apply_clickhouse_migrations(clickhouse_database.client)
    backups = tmp_path / "backups"
    settings = make_settings(
        sql_url,
        data_dir=tmp_path,
        clickhouse_database_url=clickhouse_database.dsn,
        schedules_enabled=True,
        schedules_poll_interval=0.1,
        backup_interval=1.1,
        backup_keep=2,
        backup_dir=backups,
    )
    with checked_client(create_app(settings, password_hasher=CHEAP_ARGON2)) as client:
        register(client, "admin")
        wait_until(lambda: caplog.text.count("backup done") >= 3, "three scheduled backups", 30)
    archives = sorted(backups.glob("pepeunit-backup-*.tar"))
    assert len(archives) == 2
    manifest, _ = verify_archive(archives[-1])
    assert manifest.sql_row_counts["users"] == 1
    metrics = (backups / METRICS_FILE).read_text()
    size = re.search(r"^pepeunit_backup_last_size_bytes (\S+)$", metrics, re.M)
    assert size is not None and float(size.group(1)) > 0
    assert "pepeunit_backup_last_success_timestamp_seconds" in metrics
    assert oct(backups.stat().st_mode & 0o777) == "0o700"
