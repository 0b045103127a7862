"""The alert outbox (`alert_events`): claiming due events, and recording how a send went.

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

from pepeunit_core.db.enums import AlertEventKind, DeliveryStatus
from pepeunit_core.db.models import AlertEvent, Unit, UnitNode, User

LEASE = timedelta(seconds=60)
LONGEST_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class DueEvent:
    uuid: UUID
    chat_id: str | None
    text: str
    attempts: int
    """Including the attempt this claim is for."""


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


def claim_due(session: Session, now: datetime, limit: int) -> list[DueEvent]:
    rows = session.execute(
        select(AlertEvent, Unit.name, UnitNode.topic_name, User.telegram_chat_id)
        .join(UnitNode, UnitNode.uuid == AlertEvent.unit_node_uuid)
        .join(Unit, Unit.uuid == UnitNode.unit_uuid)
        .outerjoin(User, User.uuid == Unit.creator_uuid)
        .where(
            AlertEvent.delivery_status == DeliveryStatus.PENDING,
            or_(
                AlertEvent.next_attempt_datetime.is_(None),
                AlertEvent.next_attempt_datetime <= now,
            ),
        )
        .order_by(AlertEvent.event_datetime, AlertEvent.sequence, AlertEvent.uuid)
        .limit(limit)
    ).all()
    claimed: list[DueEvent] = []
    for event, unit_name, topic, chat_id in rows:
        won = session.execute(
            update(AlertEvent)
            .where(AlertEvent.uuid == event.uuid, AlertEvent.attempts == event.attempts)
            .values(attempts=event.attempts + 1, next_attempt_datetime=now + LEASE)
        ).rowcount
        if won:
            text = alert_text(event, unit_name, topic)
            claimed.append(DueEvent(event.uuid, chat_id, text, event.attempts + 1))
    session.commit()
    return claimed


def mark_sent(session: Session, uuid: UUID, now: datetime) -> None:
    _set(session, uuid, delivery_status=DeliveryStatus.SENT, sent_datetime=now, last_error=None)


def mark_no_recipient(session: Session, uuid: UUID, reason: str) -> None:
    _set(session, uuid, delivery_status=DeliveryStatus.NO_RECIPIENT, last_error=reason)


def retry_later(session: Session, event: DueEvent, now: datetime, error: str,
                wait: timedelta | None = None) -> None:  # fmt: skip
    """Back to pending: after `wait` (Telegram's retry_after), else an exponential backoff."""
    backoff = (
        wait if wait is not None else min(timedelta(seconds=2**event.attempts), LONGEST_BACKOFF)
    )
    _set(session, event.uuid, next_attempt_datetime=now + backoff, last_error=error)


def _set(session: Session, uuid: UUID, **values: object) -> None:
    session.execute(update(AlertEvent).where(AlertEvent.uuid == uuid).values(**values))
    session.commit()
