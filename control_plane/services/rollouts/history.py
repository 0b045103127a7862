"""A rollout's history: every change of its status or stage becomes an event."""

from uuid import UUID

from sqlalchemy.orm import Session

from pepeunit_core.db.enums import DeliveryStatus, RolloutStatus
from pepeunit_core.db.models import Rollout, RolloutEvent
from pepeunit_core.db.types import utc_now


def record_transition(
    session: Session,
    rollout: Rollout,
    status: RolloutStatus,
    stage: int,
    reason: str | None,
    actor: UUID | None = None,
    *,
    notify: bool = False,
) -> None:
    """Moves the rollout to `status` at `stage` and keeps the event (not committed);
    `notify`: the notifier tells the creator on Telegram."""
    now = utc_now()
    session.add(
        RolloutEvent(
            rollout_uuid=rollout.uuid,
            from_status=rollout.status,
            to_status=status,
            stage=stage,
            reason=reason,
            actor_uuid=actor,
            event_datetime=now,
            delivery_status=DeliveryStatus.PENDING if notify else None,
        )
    )
    rollout.status = status
    rollout.current_stage = stage
    rollout.status_reason = reason
    rollout.last_update_datetime = now
