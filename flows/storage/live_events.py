"""Announces stored rows as live events (`pepeunit_core.live_events`) once their batch is
written: QoS 0 over a connection of its own, never waiting and never failing the write. While
the broker is away, or more than `MAX_QUEUED` messages wait to go out, events are dropped (and
counted): subscribers miss them, storage misses nothing."""

import logging
import uuid
from collections.abc import Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from flows.mqtt_endpoint import MqttEndpoint, connect, new_client
from pepeunit_core.live_events import encode_events, events_topic
from pepeunit_core.stored_data.rows import IngestedRow

logger = logging.getLogger("pepeunit.flow.live_events")

MAX_QUEUED = 1_000


class LiveEventPublisher:
    def __init__(self, endpoint: MqttEndpoint, client_id_prefix: str, domain: str) -> None:
        self._domain = domain
        self._endpoint = endpoint
        self._client = new_client(
            endpoint, f"{client_id_prefix}-events-{uuid.uuid4().hex[:8]}", clean_session=True
        )
        self._client.max_queued_messages_set(MAX_QUEUED)
        self.dropped = 0
        """Messages not sent (no connection, or the queue full)."""

    def start(self) -> None:
        connect(self._client, self._endpoint)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def announce(self, rows: Sequence[IngestedRow]) -> None:
        for kind, payload in encode_events(item.row for item in rows):
            info = self._client.publish(events_topic(self._domain, kind), payload, qos=0)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    logger.warning("%d live event messages dropped: %s", self.dropped,
                                   mqtt.error_string(info.rc))  # fmt: skip
