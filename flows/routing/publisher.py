"""Publishes routed copies (QoS 1) over a connection of their own and tells when the broker has
taken every one of them.

The intake acknowledges an original only after the broker confirmed (PUBACK) its copies, so a
copy is never lost: before the confirmation the original stays unacknowledged and the broker
redelivers it after a crash. The copies awaiting confirmation are bounded: past
`max_unconfirmed`, `publish_batch` waits, and the intake's wait holds the originals in the
broker. A connection of its own keeps the copies out of the intake client's message ids (65 535
at most, shared with nothing else here) and its in-flight window.

The connection is the intake's own MQTT codec and socket loop (`flows.intake.mqtt_connection`,
clean session), not a client library: a batch of copies leaves in one write, every unconfirmed
copy is on the wire (pipelined), and each read's PUBACKs are matched in one call. After a
reconnection every unconfirmed copy is sent again (DUP set), before any newer one.
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flows.intake import mqtt_wire
from flows.intake.mqtt_connection import MqttConnection
from flows.mqtt_endpoint import MqttEndpoint

logger = logging.getLogger("pepeunit.flow.routing")

_WAIT_LOG_INTERVAL_S = 10.0
_KEEP_ALIVE_CHECK_S = 1.0
_PACKET_IDS = 0xFFFF


@dataclass(frozen=True, slots=True)
class RoutePublisherSettings:
    endpoint: MqttEndpoint
    client_id: str
    max_unconfirmed: int = 10_000
    """Copies sent but not yet confirmed; must stay below 65 535 (MQTT packet ids)."""


class RoutePublisher:
    def __init__(self, settings: RoutePublisherSettings) -> None:
        if not 0 < settings.max_unconfirmed < _PACKET_IDS:
            raise ValueError("max_unconfirmed must be between 1 and 65 534")
        self._settings = settings
        self._condition = threading.Condition()
        self._publishing = threading.Lock()
        """Held through a whole batch, so its copies get consecutive sequence numbers."""
        self._last_sequence = 0
        self._unconfirmed: OrderedDict[int, bytes] = OrderedDict()
        """Sequence number -> encoded PUBLISH of the copies not yet confirmed, oldest first."""
        self._sequence_of: dict[int, int] = {}
        """Packet id -> sequence number, for the copies not yet confirmed."""
        self._connection_number = 0
        """The connection the copies go out on (0: none yet)."""
        self.connected = False
        self._stopped = threading.Event()
        self._connection = MqttConnection(
            settings.endpoint,
            settings.client_id,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_pubacks=self._on_pubacks,
            clean_session=True,
        )
        self._keep_alive = threading.Thread(
            target=self._keep_alive_loop, name=f"keepalive-{settings.client_id}", daemon=True
        )

    def start(self) -> None:
        """Connects in the background, retrying until the broker answers."""
        self._connection.start()
        self._keep_alive.start()

    def stop(self) -> None:
        self._stopped.set()
        self._connection.stop()

    @property
    def unconfirmed(self) -> int:
        with self._condition:
            return len(self._unconfirmed)

    def publish(self, topic: str, payload: bytes) -> int:
        """`publish_batch` of one copy."""
        return self.publish_batch([(topic, payload)])

    def publish_batch(self, copies: Sequence[tuple[str, bytes]]) -> int:
        """Sends copies ((topic, payload), ...), waiting while `max_unconfirmed` copies await
        their PUBACK, and returns the sequence number of the last one (copies are numbered 1,
        2, ... in the order sent; the batch's are consecutive). Without a connection the copies
        wait, unconfirmed, and go out once connected again."""
        with self._publishing:
            start = 0
            while start < len(copies):
                start = self._send_some(copies, start)
            return self._last_sequence

    def _send_some(self, copies: Sequence[tuple[str, bytes]], start: int) -> int:
        """Sends as many copies from `start` as there is room for; where the rest begins."""
        limit = self._settings.max_unconfirmed
        with self._condition:
            self._wait_while(lambda: len(self._unconfirmed) >= limit)
            end = min(len(copies), start + limit - len(self._unconfirmed))
            sequence = self._last_sequence
            packets = []
            for topic, payload in copies[start:end]:
                sequence += 1
                mid = (sequence - 1) % _PACKET_IDS + 1
                packet = mqtt_wire.publish_packet(topic, payload, mid=mid)
                self._unconfirmed[sequence] = packet
                self._sequence_of[mid] = sequence
                packets.append(packet)
            self._last_sequence = sequence
            connection = self._connection_number
        # Not under the condition: a write the broker holds back must not keep the PUBACK
        # reader from confirming. A reconnection meanwhile resends these copies itself.
        self._connection.send(b"".join(packets), connection)
        return end

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

    def _keep_alive_loop(self) -> None:
        while not self._stopped.wait(_KEEP_ALIVE_CHECK_S):
            self._connection.keep_alive()

    # --- connection callbacks (its reader thread) --------------------------------------------

    def _on_connect(self, _session_present: bool) -> None:
        with self._condition:
            self.connected = True
            self._connection_number = number = self._connection.current_connection
            resent = [mqtt_wire.as_duplicate(packet) for packet in self._unconfirmed.values()]
            # Under the condition, so no newer copy overtakes these (nothing reads meanwhile:
            # this is the reader thread).
            if resent:
                logger.warning("routing connection up again; resending %d unconfirmed copies",
                               len(resent))  # fmt: skip
                self._connection.send(b"".join(resent), number)

    def _on_disconnect(self, reason: str) -> None:
        self.connected = False
        if not self._stopped.is_set():
            logger.warning("routing connection lost (%s); unconfirmed copies will be resent",
                           reason)  # fmt: skip

    def _on_pubacks(self, mids: list[int]) -> None:
        with self._condition:
            unconfirmed = self._unconfirmed
            oldest = next(iter(unconfirmed), None)
            was_full = len(unconfirmed) >= self._settings.max_unconfirmed
            for mid in mids:
                sequence = self._sequence_of.pop(mid, None)
                if sequence is not None:  # else a second PUBACK of a resent copy
                    del unconfirmed[sequence]
            if oldest is not None and (oldest not in unconfirmed or was_full):
                self._condition.notify_all()
