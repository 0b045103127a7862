"""Moving a rollout's unit to the rollout's commit and back, through the ordinary update path:
the unit's own target is pinned (manual update, the rollout's branch and commit), then it
follows it and is sent an Update; a rollback restores the target settings it had before.

The unit's rollout record is committed before the Update goes out, so a restart in between can
lose an Update (the confirmation deadline then fails the unit) but never send it twice."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from control_plane.services.broker.publisher import BrokerPublisher
from control_plane.services.repos.firmware_updates import update_unit_firmware
from pepeunit_core.db.enums import RolloutUnitOutcome
from pepeunit_core.db.models import Rollout, RolloutUnit, Unit, UnitNode
from pepeunit_core.pipe_rejections import RejectionLog
from pepeunit_core.settings import Settings


def rejection_count(session: Session, unit: Unit) -> int:
    """Messages the pipelines of the unit's nodes have rejected so far."""
    total = session.scalar(
        select(func.coalesce(func.sum(UnitNode.data_pipe_rejected_count), 0)).where(
            UnitNode.unit_uuid == unit.uuid
        )
    )
    return int(total or 0)


def rejections_between(session: Session, unit: Unit, since: datetime, until: datetime) -> int:
    """Messages the unit's nodes' pipelines rejected in [since, until), as each node's record
    of its last MAX_RECENT_REJECTIONS rejections shows them: a node that rejected more since
    `since` has lost the older ones, so this may count fewer, never more."""
    nodes = session.scalars(
        select(UnitNode).where(
            UnitNode.unit_uuid == unit.uuid, UnitNode.data_pipe_rejected_count > 0
        )
    )
    count = 0
    for node in nodes:
        log = RejectionLog.from_stored(node.data_pipe_rejected_count, node.data_pipe_rejections)
        count += sum(since <= entry.received_datetime < until for entry in log.recent)
    return count


def send_rollout_update(
    session: Session,
    settings: Settings,
    publisher: BrokerPublisher,
    rollout: Rollout,
    record: RolloutUnit,
    now: datetime,
) -> None:
    unit = session.get_one(Unit, record.unit_uuid)
    record.previous_is_auto_update = unit.is_auto_update_from_repo_unit
    record.previous_repo_branch = unit.repo_branch
    record.previous_repo_commit = unit.repo_commit
    record.previous_commit_version = unit.current_commit_version
    record.rejections_before = rejection_count(session, unit)
    record.outcome = RolloutUnitOutcome.SENT
    record.update_sent_datetime = now
    record.outcome_datetime = now
    unit.is_auto_update_from_repo_unit = False
    unit.repo_branch = rollout.target_branch
    unit.repo_commit = rollout.target_commit
    session.commit()
    update_unit_firmware(session, settings, publisher, unit)


def roll_back_unit(
    session: Session,
    settings: Settings,
    publisher: BrokerPublisher,
    record: RolloutUnit,
    reason: str | None,
    now: datetime,
) -> None:
    """Restores the unit's target settings from before the rollout and sends it an Update."""
    unit = session.get_one(Unit, record.unit_uuid)
    unit.is_auto_update_from_repo_unit = bool(record.previous_is_auto_update)
    unit.repo_branch = record.previous_repo_branch
    unit.repo_commit = record.previous_repo_commit
    record.outcome = RolloutUnitOutcome.ROLLED_BACK
    record.outcome_reason = reason or record.outcome_reason
    record.outcome_datetime = now
    session.commit()
    update_unit_firmware(session, settings, publisher, unit)
