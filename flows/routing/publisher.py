"""Publishes routed copies (QoS 1) over a connection of their own and tells when the broker has
taken every one of them.

The intake acknowledges an original only after the broker confirmed (PUBACK) its copies, so a
copy is never lost: before the confirmation the original stays unacknowledged and the broker
redelivers it after a crash. The copies awaiting confirmation are bounded: past
`max_unconfirmed`, `publish` waits, and the intake's wait holds the originals in the broker.
A connection of its own keeps the copies out of the intake client's message ids (65 535 at
most, shared with nothing else here) and its in-flight window.
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from flows.mqtt_endpoint import MqttEndpoint, connect, new_client

logger = logging.getLogger("pepeunit.flow.routing")

_QOS = 1
_WAIT_LOG_INTERVAL_S = 10.0


@dataclass(frozen=True, slots=True)
class RoutePublisherSettings:
    endpoint: MqttEndpoint
    client_id: str
    max_unconfirmed: int = 10_000
    """Copies sent but not yet confirmed; must stay below 65 535 (MQTT packet ids)."""
    max_inflight: int = 1_000
    """Copies on the wire at once; paho queues the rest in memory until PUBACKs arrive."""


class RoutingError(RuntimeError):
    """A copy could not even be queued; the original must not be acknowledged."""


class RoutePublisher:
    def __init__(self, settings: RoutePublisherSettings) -> None:
        if not 0 < settings.max_unconfirmed < 65_535:
            raise ValueError("max_unconfirmed must be between 1 and 65 534")
        self._settings = settings
        self._condition = threading.Condition()
        self._last_sequence = 0
        self._unconfirmed: OrderedDict[int, None] = OrderedDict()
        """Sequence numbers of the copies sent and not yet confirmed, oldest first."""
        self._sequence_of: dict[int, int] = {}
        """Packet id -> sequence number, for the copies in flight."""
        self._confirmed_early: set[int] = set()
        """PUBACKs that arrived before `publish` recorded their id (network thread first)."""
        self.connected = False
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        settings = self._settings
        client = new_client(settings.endpoint, settings.client_id, clean_session=True)
        client.max_inflight_messages_set(settings.max_inflight)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def start(self) -> None:
        connect(self._client, self._settings.endpoint)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def unconfirmed(self) -> int:
        with self._condition:
            return len(self._unconfirmed)

    def publish(self, topic: str, payload: bytes) -> int:
        """Queues one copy, first waiting while `max_unconfirmed` copies await their PUBACK,
        and returns its sequence number (1, 2, ... in the order of the calls). Without a
        connection paho keeps the copy and sends it once connected again."""
        with self._condition:
            self._wait_while(lambda: len(self._unconfirmed) >= self._settings.max_unconfirmed)
            self._last_sequence += 1
            sequence = self._last_sequence
            self._unconfirmed[sequence] = None
        # Not under our lock: paho calls on_publish holding its own lock, which publish takes.
        info = self._client.publish(topic, payload, qos=_QOS)
        with self._condition:
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                self._confirm(sequence)
                reason = mqtt.error_string(info.rc)
                raise RoutingError(f"cannot queue a routed copy to {topic}: {reason}")
            if info.mid in self._confirmed_early:
                self._confirmed_early.discard(info.mid)
                self._confirm(sequence)
            else:
                self._sequence_of[info.mid] = sequence
        return sequence

    def wait_confirmed(self, through: int | None = None, timeout_s: float | None = None) -> bool:
        """Waits until the broker confirmed every copy up to sequence number `through` (every
        copy sent so far when None); False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._condition:
            last = self._last_sequence if through is None else through
            return self._wait_while(
                lambda: bool(self._unconfirmed) and next(iter(self._unconfirmed)) <= last,
                deadline,
            )

    def _confirm(self, sequence: int) -> None:
        """Called holding the condition."""
        oldest = next(iter(self._unconfirmed), None)
        self._unconfirmed.pop(sequence, None)
        if sequence == oldest or len(self._unconfirmed) == self._settings.max_unconfirmed - 1:
            self._condition.notify_all()

    def _wait_while(self, blocked: Callable[[], bool], deadline: float | None = None) -> bool:
        """Called holding the condition; True once `blocked` is false, False at the deadline."""
        next_log = time.monotonic() + _WAIT_LOG_INTERVAL_S
        while blocked():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            if now >= next_log:
                logger.warning(
                    "%d routed copies still unconfirmed by the broker (connected: %s); waiting",
                    len(self._unconfirmed),
                    self.connected,
                )
                next_log = now + _WAIT_LOG_INTERVAL_S
            wait_s = 1.0 if deadline is None else min(1.0, deadline - now)
            self._condition.wait(timeout=wait_s)
        return True

    # --- paho callbacks (network thread) -----------------------------------------------------

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: object,
    ) -> None:
        if reason_code.is_failure:
            logger.error("routing connection refused: %s", reason_code)
            return
        self.connected = True

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: object,
    ) -> None:
        self.connected = False
        if reason_code.is_failure:
            logger.warning("routing connection lost (%s); unconfirmed copies will be resent",
                           reason_code)  # fmt: skip

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: object,
        mid: int,
        _reason_code: ReasonCode,
        _properties: object,
    ) -> None:
        with self._condition:
            sequence = self._sequence_of.pop(mid, None)
            if sequence is None:
                self._confirmed_early.add(mid)
            else:
                self._confirm(sequence)
