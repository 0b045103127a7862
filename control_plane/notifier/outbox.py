"""The notifier's outboxes (`alert_events`, and the `rollout_events` a rollout's creator is
told about): claiming due events, and recording how a send went.

A claim counts an attempt and leases the event for a while, with a compare-and-set on the
attempt count, so several notifier processes never send the same event at the same time; a
notifier that dies mid-send leaves the event to be sent again once the lease runs out (at least
once). Events of one chat are handed out in the order they were raised.
"""

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from pepeunit_core.db.enums import AlertEventKind, DeliveryStatus, RolloutStatus
from pepeunit_core.db.models import AlertEvent, Repo, Rollout, RolloutEvent, Unit, UnitNode, User

LEASE = timedelta(seconds=60)
LONGEST_BACKOFF = timedelta(minutes=5)
REASON_SHOWN_CHARACTERS = 3000
"""Telegram takes 4096 characters a message; a halt of many units has a long reason."""

Outbox = type[AlertEvent] | type[RolloutEvent]


@dataclass(frozen=True, slots=True)
class DueEvent:
    uuid: UUID
    chat_id: str | None
    text: str
    attempts: int
    """Including the attempt this claim is for."""
    outbox: Outbox = AlertEvent


def alert_text(event: AlertEvent, unit_name: str, topic: str) -> str:
    """The message, as HTML (the bot's parse mode): what, where, which value, when."""
    alert = event.kind == AlertEventKind.ALERT
    head = "🔴 <b>Alert</b>" if alert else "🟢 <b>Recovered</b>"
    value = f" — value <code>{html.escape(event.value)}</code>" if event.value is not None else ""
    when = event.event_datetime.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"{head}: {html.escape(event.rule_name)}\n"
        f"{html.escape(unit_name)}@{html.escape(topic)}: {html.escape(event.message)}{value}\n"
        f"{when}"
    )


_ROLLOUT_HEADS = {
    RolloutStatus.RUNNING: "✅ <b>Rollout stage passed</b>",
    RolloutStatus.COMPLETED: "✅ <b>Rollout completed</b>",
    RolloutStatus.HALTED: "⛔ <b>Rollout halted</b>",
    RolloutStatus.ROLLED_BACK: "↩️ <b>Rollout rolled back</b>",
}


def rollout_text(event: RolloutEvent, repo_name: str, target_ref: str) -> str:
    """A stage passed, the rollout completed, halted or rolled back: which repo, which
    version, why."""
    head = _ROLLOUT_HEADS.get(event.to_status, f"<b>Rollout {event.to_status.value}</b>")
    reason = (event.reason or "")[:REASON_SHOWN_CHARACTERS]
    when = event.event_datetime.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"{head}: {html.escape(repo_name)} → {html.escape(target_ref)}\n"
        f"{html.escape(reason)}\n{when}"
    )


def claim_due(session: Session, now: datetime, limit: int) -> list[DueEvent]:
    """Alerts first, then rollout events, at most `limit` in all."""
    alerts = _claim_alerts(session, now, limit)
    rollout_events = _claim_rollout_events(session, now, limit - len(alerts))
    session.commit()
    return alerts + rollout_events


def _due(outbox: Outbox, now: datetime) -> list:
    return [
        outbox.delivery_status == DeliveryStatus.PENDING,
        or_(outbox.next_attempt_datetime.is_(None), outbox.next_attempt_datetime <= now),
    ]


def _claim(session: Session, outbox: Outbox, uuid: UUID, attempts: int, now: datetime) -> bool:
    """Counts an attempt and leases the event, unless another notifier did first."""
    won = session.execute(
        update(outbox)
        .where(outbox.uuid == uuid, outbox.attempts == attempts)
        .values(attempts=attempts + 1, next_attempt_datetime=now + LEASE)
    ).rowcount
    return bool(won)


def _claim_alerts(session: Session, now: datetime, limit: int) -> list[DueEvent]:
    rows = session.execute(
        select(AlertEvent, Unit.name, UnitNode.topic_name, User.telegram_chat_id)
        .join(UnitNode, UnitNode.uuid == AlertEvent.unit_node_uuid)
        .join(Unit, Unit.uuid == UnitNode.unit_uuid)
        .outerjoin(User, User.uuid == Unit.creator_uuid)
        .where(*_due(AlertEvent, now))
        .order_by(AlertEvent.event_datetime, AlertEvent.sequence, AlertEvent.uuid)
        .limit(limit)
    ).all()
    return [
        DueEvent(event.uuid, chat_id, alert_text(event, unit_name, topic), event.attempts + 1)
        for event, unit_name, topic, chat_id in rows
        if _claim(session, AlertEvent, event.uuid, event.attempts, now)
    ]


def _claim_rollout_events(session: Session, now: datetime, limit: int) -> list[DueEvent]:
    if limit <= 0:
        return []
    rows = session.execute(
        select(RolloutEvent, Repo.name, Rollout.target_ref, User.telegram_chat_id)
        .join(Rollout, Rollout.uuid == RolloutEvent.rollout_uuid)
        .join(Repo, Repo.uuid == Rollout.repo_uuid)
        .outerjoin(User, User.uuid == Rollout.creator_uuid)
        .where(*_due(RolloutEvent, now))
        .order_by(RolloutEvent.event_datetime, RolloutEvent.uuid)
        .limit(limit)
    ).all()
    return [
        DueEvent(
            event.uuid,
            chat_id,
            rollout_text(event, repo_name, target_ref),
            event.attempts + 1,
            RolloutEvent,
        )
        for event, repo_name, target_ref, chat_id in rows
        if _claim(session, RolloutEvent, event.uuid, event.attempts, now)
    ]


def mark_sent(session: Session, event: DueEvent, now: datetime) -> None:
    _set(session, event, delivery_status=DeliveryStatus.SENT, sent_datetime=now, last_error=None)


def mark_no_recipient(session: Session, event: DueEvent, reason: str) -> None:
    _set(session, event, delivery_status=DeliveryStatus.NO_RECIPIENT, last_error=reason)


def retry_later(session: Session, event: DueEvent, now: datetime, error: str,
                wait: timedelta | None = None) -> None:  # fmt: skip
    """Back to pending: after `wait` (Telegram's retry_after), else an exponential backoff."""
    backoff = (
        wait if wait is not None else min(timedelta(seconds=2**event.attempts), LONGEST_BACKOFF)
    )
    _set(session, event, next_attempt_datetime=now + backoff, last_error=error)


def _set(session: Session, event: DueEvent, **values: object) -> None:
    table = event.outbox
    session.execute(update(table).where(table.uuid == event.uuid).values(**values))
    session.commit()
