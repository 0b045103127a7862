"""The creator of a rollout is told on Telegram (a fake Bot API server, aiogram pointed at it)
when a stage passes, the rollout completes, halts or is rolled back by the schedule, once each;
what they did themselves is not sent back to them, and a creator with no linked chat is recorded
as no recipient."""

import time

from sqlalchemy import select

from control_plane.notifier.service import Notifier
from control_plane.services.rollouts.history import record_transition
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.enums import DeliveryStatus, RolloutStatus
from pepeunit_core.db.models import RolloutEvent
from tests.pepeunit_core.builders import add_rollout, add_unit_tree
from tests.services.telegram import TOKEN, running_fake_telegram

from .conftest import make_settings

CHAT = 5151


def test_the_creator_hears_of_stages_halts_and_rollbacks_once_each(database_url: str):
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        owner, unit = add_unit_tree(session)
        owner.telegram_chat_id = str(CHAT)
        rollout = add_rollout(session, owner, unit)
        unlinked_owner, other_unit = add_unit_tree(session)
        unlinked = add_rollout(session, unlinked_owner, other_unit)
        steps = [
            (rollout, RolloutStatus.RUNNING, 0, "started", False),
            (rollout, RolloutStatus.RUNNING, 1, "stage 0 passed", True),
            (rollout, RolloutStatus.PAUSED, 1, "pause by alice", False),
            (rollout, RolloutStatus.RUNNING, 1, "resume by alice", False),
            (rollout, RolloutStatus.HALTED, 1, "unit 1: <stopped> reporting state", True),
            (unlinked, RolloutStatus.ROLLED_BACK, 0, "unit 2: the update failed", True),
        ]
        for target, status, stage, reason, notify in steps:
            record_transition(session, target, status, stage, reason, notify=notify)
            session.flush()
        session.commit()
    try:
        with running_fake_telegram() as telegram:
            settings = make_settings(
                database_url, telegram_token=TOKEN, telegram_api_url=telegram.url
            )
            notifier = Notifier(settings, sessions, poll_interval_s=0.1)
            notifier.start()
            try:
                passed, halted = telegram.wait_for_messages(CHAT, 2, timeout_s=20)
                time.sleep(1.5)  # room for a message too many
                assert len(telegram.messages_to(CHAT)) == 2
            finally:
                notifier.stop()
        assert (passed.text or "").startswith("✅ <b>Rollout stage passed</b>: ")
        assert "→ v2\nstage 0 passed\n" in (passed.text or "")
        assert (halted.text or "").startswith("⛔ <b>Rollout halted</b>: ")
        assert "unit 1: &lt;stopped&gt; reporting state" in (halted.text or "")
        with sessions() as session:
            events = session.scalars(
                select(RolloutEvent).order_by(RolloutEvent.event_datetime)
            ).all()
            statuses = [(event.reason, event.delivery_status) for event in events]
        assert statuses == [
            (reason, None if not notify else DeliveryStatus.SENT)
            for _, _, _, reason, notify in steps[:-1]
        ] + [("unit 2: the update failed", DeliveryStatus.NO_RECIPIENT)]
    finally:
        engine.dispose()
