"""Rollouts as Prometheus metrics (docs/operations.md#rollout-metrics): a textfile the schedule
process rewrites after each rollout step, as scheduled backups write theirs, for
node_exporter's textfile collector or any scraper of files.

Every number is counted from the database, not kept in memory, so it is right whichever
process runs the schedules and after any restart; the `_total` ones only grow (a deleted repo
takes its rollouts and their counts with it, which Prometheus reads as a counter reset)."""

from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from pepeunit_core.db.enums import RolloutStatus, RolloutUnitOutcome
from pepeunit_core.db.models import Rollout, RolloutEvent, RolloutStage, RolloutUnit

METRICS_FILE = "pepeunit_rollouts.prom"


def rollout_metrics(session: Session, now: datetime) -> CollectorRegistry:
    registry = CollectorRegistry()
    by_status = _counts(session, Rollout.status)
    rollouts = Gauge("pepeunit_rollouts", "Rollouts by status.", ["status"], registry=registry)
    for status in RolloutStatus:
        rollouts.labels(status.value).set(by_status.get(status, 0))
    by_outcome = _counts(session, RolloutUnit.outcome)
    units = Gauge(
        "pepeunit_rollout_units",
        "Units of rollouts by their outcome now (a failed unit that was sent back is RolledBack).",
        ["outcome"],
        registry=registry,
    )
    for outcome in RolloutUnitOutcome:
        units.labels(outcome.value).set(by_outcome.get(outcome, 0))
    sent = session.scalar(select(func.count()).where(RolloutUnit.update_sent_datetime.is_not(None)))
    Counter(
        "pepeunit_rollout_updates_sent",
        "Units a rollout has sent its Update to (rolled back ones included).",
        registry=registry,
    ).inc(sent or 0)
    passed = session.scalar(select(func.count()).where(RolloutStage.passed_datetime.is_not(None)))
    Counter(
        "pepeunit_rollout_stages_passed",
        "Rollout stages whose gates passed.",
        registry=registry,
    ).inc(passed or 0)
    transitions = Counter(
        "pepeunit_rollout_transitions",
        "Changes of a rollout's status or stage, by the status moved to (a stage passing is "
        "Running; a halt Halted or RolledBack).",
        ["to_status"],
        registry=registry,
    )
    by_transition = _counts(session, RolloutEvent.to_status, RolloutEvent.from_status.is_not(None))
    for status in RolloutStatus:
        transitions.labels(status.value).inc(by_transition.get(status, 0))
    Gauge(
        "pepeunit_rollout_metrics_timestamp_seconds",
        "When these rollout metrics were counted (Unix time): the last rollout step.",
        registry=registry,
    ).set(now.timestamp())
    return registry


def write_rollout_metrics(session: Session, directory: Path, now: datetime) -> Path:
    """Replaces `directory`/pepeunit_rollouts.prom at once (a scraper never reads half a
    file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / METRICS_FILE
    write_to_textfile(str(path), rollout_metrics(session, now))
    return path


def _counts(
    session: Session, column: ColumnElement[Any], *where: ColumnElement[bool]
) -> dict[Any, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    return {value: count for value, count in rows}
