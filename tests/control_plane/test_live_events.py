"""Live events (docs/graphql.md#subscriptions): what the dataflow announces reads back the
same, large batches split into bounded messages, and the API's fan-out gives each subscription
its own bounded queue: a slow subscriber loses its oldest events and is told how many, while
the others get everything."""

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta

from control_plane.services.broker.live_events import LiveEventHub
from pepeunit_core.live_events import (
    MAX_MESSAGE_BYTES,
    EventKind,
    NodeValueEvent,
    UnitLogEvent,
    UnitStateEvent,
    decode_events,
    encode_events,
    events_topic,
    kind_of_topic,
)
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.rows import UnitLogRow, UnitStateRow
from pipelines.clock import to_epoch_ms
from pipelines.rows import AggregationRow, LastValueRow, NRecordsRow

NODE = "0b6f6a7e-3c1f-4c59-9a55-0e6f4f0c1a01"
UNIT = "5d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_stored_rows_read_back_as_events():
    rows = [
        LastValueRow(NODE, "21.5", NOW),
        NRecordsRow(NODE, "22", "Number", NOW, 10, 2),
        AggregationRow(NODE, 1.0, "Avg", 60, NOW, NOW, NOW),  # not a value: not announced
        UnitStateRow(UNIT, '{"millis":1}', "c0ffee", NOW),
        UnitLogRow("e1", "Error", UNIT, "hot", NOW, NOW + timedelta(days=1)),
    ]
    messages = dict(encode_events(rows))
    assert set(messages) == set(EventKind)
    ms = to_epoch_ms(NOW)
    assert decode_events(EventKind.NODE_VALUES, messages[EventKind.NODE_VALUES]) == [
        NodeValueEvent(NODE, "21.5", ms),
        NodeValueEvent(NODE, "22", ms),
    ]
    assert decode_events(EventKind.UNIT_STATES, messages[EventKind.UNIT_STATES]) == [
        UnitStateEvent(UNIT, '{"millis":1}', "c0ffee", ms)
    ]
    assert decode_events(EventKind.UNIT_LOGS, messages[EventKind.UNIT_LOGS]) == [
        UnitLogEvent(UNIT, "e1", "Error", "hot", ms, ms + 86_400_000)
    ]
    topic = events_topic("pepeunit.test:5000", EventKind.UNIT_LOGS)
    assert topic == "pepeunit.test:5000/pepeunit_events/unit_logs"
    assert kind_of_topic("pepeunit.test:5000", topic) is EventKind.UNIT_LOGS
    assert kind_of_topic("pepeunit.test:5000", "pepeunit.test:5000/pepeunit_events/x") is None


def test_a_large_batch_is_split_into_bounded_messages():
    value = "x" * 1000
    rows = [LastValueRow(NODE, value, NOW) for _ in range(300)]
    messages = list(encode_events(rows))
    assert len(messages) == 5
    assert all(len(payload) <= MAX_MESSAGE_BYTES for _, payload in messages)
    decoded = [event for kind, payload in messages for event in decode_events(kind, payload)]
    assert len(decoded) == 300 and {event.value for event in decoded} == {value}


def test_entries_that_do_not_read_are_skipped():
    payload = json.dumps([[NODE, "1", 5], [NODE, 2, 5], "junk", [NODE, "3", 6]]).encode()
    assert decode_events(EventKind.NODE_VALUES, payload) == [
        NodeValueEvent(NODE, "1", 5),
        NodeValueEvent(NODE, "3", 6),
    ]


def test_a_slow_subscriber_loses_its_oldest_events_and_is_told():
    settings = Settings(secret_key=base64.b64encode(b"s" * 32).decode(), mqtt_port=1)

    async def run() -> None:
        hub = LiveEventHub(settings, queue_size=3)
        try:
            slow = hub.subscribe(EventKind.NODE_VALUES, NODE)
            keen = hub.subscribe(EventKind.NODE_VALUES, NODE.upper())
            other = hub.subscribe(EventKind.NODE_VALUES, UNIT)
            received = []
            for n in range(5):
                hub.dispatch([NodeValueEvent(NODE, str(n), n)])
                delivery = await keen.next(1)
                assert delivery is not None
                received.append((delivery.event.value, delivery.missed))
            assert received == [(str(n), 0) for n in range(5)]
            first = await slow.next(1)
            assert first is not None and (first.event.value, first.missed) == ("2", 2)
            rest = [await slow.next(1) for _ in range(2)]
            assert [(d.event.value, d.missed) for d in rest if d] == [("3", 0), ("4", 0)]
            assert await slow.next(0.05) is None
            assert await other.next(0.05) is None
            for subscription in (slow, keen, other):
                subscription.close()
            assert hub.subscription_count == 0
        finally:
            hub.stop()

    asyncio.run(run())
