"""The API's timetable (docs/operations.md#schedules), run by one API process among all workers and
machines that share the SQL database:

- on election: clone every registry whose local clone is missing (e.g. after a restore);
- every `PU_REGISTRY_SYNC_INTERVAL` s: sync every registry as the Backend agent;
- every `PU_FIRMWARE_UPDATE_INTERVAL` s, the first half an interval after the election (so
  that updates fall between syncs): move the auto-updating units to their target firmware;
- every `PU_BACKUP_INTERVAL` s (when set): a backup of the instance into `PU_BACKUP_DIR`.
- every `PU_ROLLOUT_STEP_INTERVAL` s: one step of every pending or running rollout, then (with
  `PU_ROLLOUT_METRICS_DIR`) their Prometheus metrics rewritten.
"""

import logging
import threading
from datetime import UTC, datetime

from control_plane.context import ControlPlaneContext
from control_plane.services.rollouts.driver import step_rollouts
from control_plane.services.rollouts.error_logs import clickhouse_error_log_counter
from control_plane.services.rollouts.metrics import write_rollout_metrics
from pepeunit_core.backup.scheduled import run_scheduled_backup
from pepeunit_core.db.types import utc_now

from .jobs import sync_registries, update_fleet
from .leader_lock import make_leader_lock
from .scheduler import Job, PeriodicJob, Scheduler


def make_api_scheduler(context: ControlPlaneContext) -> Scheduler:
    settings = context.settings

    def sync_missing(stop: threading.Event) -> str:
        report = sync_registries(context.session_factory, settings, stop, only_missing=True)
        return f"registries without a clone: {report}"

    def sync_all(stop: threading.Event) -> str:
        report = sync_registries(context.session_factory, settings, stop, only_missing=False)
        return f"registries: {report}"

    def update_firmware(_stop: threading.Event) -> str:
        report = update_fleet(context.session_factory, settings, context.publisher)
        return f"{report.units} auto-updating units, {report.failed} failed"

    def back_up(_stop: threading.Event) -> str:
        # A client of the process's pool: on chdb this process holds the directory.
        with context.clickhouse.client() as client:
            return str(run_scheduled_backup(settings, datetime.now(UTC), client))

    backups = (
        [
            PeriodicJob(
                Job("backup", back_up),
                interval=settings.backup_interval,
                first_after=settings.backup_interval,
            )
        ]
        if settings.backup_interval
        else []
    )
    count_error_logs = clickhouse_error_log_counter(settings)
    elected: list[datetime] = []

    def take_rollouts_over(_stop: threading.Event) -> str:
        # A unit's silence while no process listened (a restart) is not held against it.
        elected[:] = [utc_now()]
        return f"driving rollouts from {elected[0].isoformat()}"

    def step_running_rollouts(stop: threading.Event) -> str:
        report = step_rollouts(
            context.session_factory,
            settings,
            context.publisher,
            stop,
            count_error_logs,
            listening_since=elected[0] if elected else None,
        )
        if settings.rollout_metrics_dir is not None:
            with context.session_factory() as session:
                write_rollout_metrics(session, settings.rollout_metrics_dir, utc_now())
        return f"{report.rollouts} rollouts, {report.failed} failed"

    return Scheduler(
        make_leader_lock(settings),
        on_election=[
            Job("rollouts", take_rollouts_over, logging.DEBUG),
            Job("missing registry clones", sync_missing),
        ],
        periodic=[
            *backups,
            PeriodicJob(
                Job("registry sync", sync_all),
                interval=settings.registry_sync_interval,
                first_after=settings.registry_sync_interval,
            ),
            PeriodicJob(
                Job("firmware update", update_firmware),
                interval=settings.firmware_update_interval,
                first_after=settings.firmware_update_interval / 2,
            ),
            PeriodicJob(
                # Every few seconds: its own actions are logged by the driver.
                Job("rollout step", step_running_rollouts, logging.DEBUG),
                interval=settings.rollout_step_interval,
                first_after=0,
            ),
        ],
        poll_interval=settings.schedules_poll_interval,
    )
