"""Alerts through the live dataflow and a real Mosquitto, delivered by the notifier to a fake
Telegram Bot API server (aiogram pointed at it): a threshold crossing gives one alert and one
recovery, a flapping series within the cooldown no extra messages, an `offline` rule fires once
after the silence and recovers on the next value, and a Telegram outage delays an alert without
losing it."""

import time
from pathlib import Path

from sqlalchemy import select, update

from control_plane.notifier.service import Notifier
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.enums import DeliveryStatus
from pepeunit_core.db.models import AlertEvent, User
from pipelines.validation import validate_config
from tests.flows.support import Publisher, flow_settings, running_flow, seed_nodes, wait_until
from tests.services.telegram import TOKEN, running_fake_telegram

CHAT = 4242


def alerting(*rules: dict):
    config, issues = validate_config(
        {
            "active_period": {"type": "Permanent"},
            "filters": {"type_input_value": "Number", "max_rate": 0, "max_size": 32},
            "processing_policy": {"policy_type": "LastValue"},
            "alerts": list(rules),
        }
    )
    assert config is not None, issues
    return config


def test_alerts_reach_telegram_once_each_and_survive_an_outage(
    tmp_path: Path, clickhouse_database, mosquitto_server
):
    sql_url = f"sqlite:///{tmp_path / 'pepeunit.sqlite'}"
    nodes = seed_nodes(
        sql_url,
        {
            "temp": alerting({"name": "too hot", "type": "above", "threshold": 30, "clear": 28,
                              "cooldown": 0}),
            "level": alerting({"name": "tank low", "type": "below", "threshold": 5,
                               "cooldown": 3600}),
            "beacon": alerting({"name": "beacon silent", "type": "offline", "after": 4,
                                "cooldown": 0}),
            "pressure": alerting({"name": "overpressure", "type": "above", "threshold": 100,
                                  "cooldown": 0}),
        },
    )  # fmt: skip
    sessions = make_session_factory(make_engine(sql_url))
    with sessions() as session:
        session.execute(update(User).values(telegram_chat_id=str(CHAT)))
        session.commit()

    def outbox(status: DeliveryStatus | None = None) -> list[AlertEvent]:
        with sessions() as session:
            rows = session.scalars(select(AlertEvent).order_by(AlertEvent.event_datetime)).all()
            return [row for row in rows if status is None or row.delivery_status is status]

    settings = flow_settings(tmp_path / "data", sql_url, clickhouse_database.dsn,
                             mosquitto_server.port)  # fmt: skip
    publisher = Publisher(mosquitto_server.port)
    with running_fake_telegram() as telegram, running_flow(settings):
        notifier_settings = settings.model_copy(
            update={"telegram_token": TOKEN, "telegram_api_url": telegram.url}
        )
        notifier = Notifier(notifier_settings, sessions, poll_interval_s=0.2)
        notifier.start()
        try:
            # The beacon says nothing: 4 s after the flow began watching it, it is offline.
            for value in ("25", "31", "35", "27", "29"):
                publisher.publish(nodes["temp"], value).wait_for_publish(5)
            for value in ("4", "6", "4", "6", "4", "6"):
                publisher.publish(nodes["level"], value).wait_for_publish(5)
            first = telegram.wait_for_messages(CHAT, 5, timeout_s=30)
            texts = [message.text or "" for message in first]
            time.sleep(2)  # room for a message too many
            assert len(telegram.messages_to(CHAT)) == 5, [
                m.text for m in telegram.messages_to(CHAT)
            ]
            for rule, kinds in (("too hot", ["Alert", "Recovered"]),
                                ("tank low", ["Alert", "Recovered"]),
                                ("beacon silent", ["Alert"])):  # fmt: skip
                seen = [kind for text in texts for kind in ("Alert", "Recovered")
                        if f"<b>{kind}</b>: {rule}" in text]  # fmt: skip
                assert seen == kinds, (rule, texts)
            assert any("flowunit@temp/pepeunit" in text and "31" in text for text in texts)

            publisher.publish(nodes["beacon"], "2").wait_for_publish(5)
            recovered, again = telegram.wait_for_messages(CHAT, 2, after=5, timeout_s=20)
            assert "<b>Recovered</b>: beacon silent" in (recovered.text or "")
            assert "<b>Alert</b>: beacon silent" in (again.text or ""), "silent once more"

            with telegram.outage():
                publisher.publish(nodes["pressure"], "150").wait_for_publish(5)
                wait_until(
                    lambda: any(
                        e.rule_name == "overpressure" and e.attempts >= 1 and e.last_error
                        for e in outbox(DeliveryStatus.PENDING)
                    ),
                    30,
                )
                assert not any("overpressure" in (m.text or "") for m in telegram.messages_to(CHAT))
            late = telegram.wait_for_messages(CHAT, 1, after=7, timeout_s=60)
            assert "<b>Alert</b>: overpressure" in (late[0].text or "")
        finally:
            notifier.stop()
            publisher.close()
    events = outbox()
    assert {event.delivery_status for event in events} == {DeliveryStatus.SENT}
    assert len(events) == 8
