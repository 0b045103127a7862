"""Receives node messages over MQTT (QoS 1, persistent session, optionally a shared
subscription) and makes each durable in the write-ahead log before acknowledging it.

Routing (docs/compatibility.md#routing-by-the-dataflow) happens here too, as a message arrives: a
message on an Output node topic is republished (QoS 1, over a connection of its own) to every linked
Input node topic, and the original is acknowledged only once it is logged and the broker confirmed
its copies. So routing never waits for the dataflow or its
storage, and no copy is lost: a redelivered original is routed again, whether or not it made it
into the log (at least once).

The connection (`flows.intake.mqtt_connection`) hands over whatever one socket read brought;
the committer thread logs what arrived in one transaction and then sends all its PUBACKs in one
write.

Flow control, never dropping:
- a bounded list of received-but-not-logged messages: when full, the reader waits, so nothing
  is read from the socket and the broker holds the rest (QoS 1, persistent session);
- the log may run at most `max_backlog` messages ahead of the dataflow; beyond that the
  committer waits before logging (and so before acknowledging) more.

A lost or taken-over session never leaves the intake deaf: every connection re-subscribes, a
reconnection on which the broker no longer has the persistent session is logged as an error
(messages sent meanwhile may be gone), and a heartbeat the intake publishes to itself must come
back; when nothing at all arrives for `deaf_after_s` the intake drops the connection and
reconnects. Each of these is counted (`IntakeProgress`).

Redeliveries: after a crash between logging and acknowledging, the broker sends the message
again with the DUP flag and the same packet id. Packet ids of in-flight messages are distinct
and brokers hand them out in sequence, so a DUP message whose packet id, topic and payload equal
one of the last `dedup_window` logged messages is that message again: routed and acknowledged,
not logged again.
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flows.intake.mqtt_connection import MqttConnection
from flows.intake.mqtt_wire import Publish
from flows.intake.progress import IntakeProgress
from flows.intake.wal import ReceivedMessage, WriteAheadLog
from flows.mqtt_endpoint import MqttEndpoint
from flows.routing.publisher import RoutePublisher, RoutePublisherSettings
from flows.routing.routes import RouteTable

logger = logging.getLogger("pepeunit.flow.intake")

_QOS = 1


@dataclass(frozen=True, slots=True)
class IntakeSettings:
    endpoint: MqttEndpoint
    client_id: str
    subscriptions: tuple[str, ...]
    """Topic filters, e.g. `$share/pepeunit/example.com/+/pepeunit`."""
    max_pending: int = 5_000
    max_backlog: int = 1_000_000
    dedup_window: int = 20_000
    """Must exceed the broker's in-flight limit per client and stay below 65 535."""
    commit_interval_s: float = 0.005
    watermark_refresh_s: float = 0.05
    route_max_unconfirmed: int = 10_000
    """Routed copies awaiting the broker's confirmation before routing waits."""
    stop_route_timeout_s: float = 10.0
    """On stop, how long unconfirmed copies may hold the last originals (left unacknowledged
    after it, so the broker redelivers and they are routed again)."""
    heartbeat_topic: str | None = None
    """A topic only this client uses; the intake publishes to it to prove it still hears."""
    heartbeat_interval_s: float = 1.0
    deaf_after_s: float = 5.0
    """Connected, yet nothing (not even a heartbeat) heard for this long: reconnect."""

    def route_publisher_settings(self) -> RoutePublisherSettings:
        return RoutePublisherSettings(
            self.endpoint, f"{self.client_id}-routes", self.route_max_unconfirmed
        )


@dataclass(slots=True)
class _Pending:
    message: ReceivedMessage
    qos: int
    connection: int
    """The number of the connection it came on: acknowledged only on that one."""
    logged: bool = False
    """A redelivery of a message already in the log: only routed and acknowledged."""
    last_copy: int = 0
    """Sequence number of the routing publisher's last copy of this message; 0: none."""


class MqttIntake:
    def __init__(
        self,
        settings: IntakeSettings,
        wal: WriteAheadLog,
        partition: str,
        progress: IntakeProgress,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        routes: Callable[[], RouteTable] | None = None,
    ) -> None:
        self._settings = settings
        self._routes = routes
        self._wal = wal
        self._partition = partition
        self._progress = progress
        self._clock_ms = clock_ms
        self._condition = threading.Condition()
        self._pending: list[_Pending] = []
        self._last_received_ms = 0
        self._logged_offset = wal.last_offset()
        progress.logged_offset.value = self._logged_offset
        self._publish_watermark()
        self._stopping = False
        self._routing_abandoned = False
        self._connections = 0
        self._connected_at: float | None = None
        """Monotonic time of the current connection; None while disconnected."""
        self._last_heard = time.monotonic()
        self._last_heartbeat_sent = 0.0
        self._unanswered_since: float | None = None
        """When the oldest heartbeat not followed by any message left."""
        self._waiting_for_room = False
        self._recent: OrderedDict[int, tuple[str, bytes]] = OrderedDict(
            (mid, (topic, payload))
            for mid, topic, payload in wal.recent_deliveries(settings.dedup_window)
        )
        self._connection = MqttConnection(
            settings.endpoint,
            settings.client_id,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_publishes=self._on_publishes,
        )
        self._route_publisher = (
            RoutePublisher(settings.route_publisher_settings()) if routes is not None else None
        )
        self._committer = threading.Thread(
            target=self._commit_loop, name=f"wal-committer-{partition}", daemon=True
        )

    def start(self) -> None:
        if self._route_publisher is not None:
            self._route_publisher.start()
        self._committer.start()
        self._connection.start()

    def stop(self) -> None:
        """Stops receiving, logs and acknowledges what was received, then disconnects."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._committer.join(timeout=30)
        self._connection.stop()
        if self._route_publisher is not None:
            self._route_publisher.stop()

    def _publish_watermark(self) -> None:
        """No message logged after this call can carry an earlier receive time than this."""
        with self._condition:
            if self._pending:
                watermark = self._pending[0].message.received_ms
            else:
                watermark = max(self._clock_ms(), self._last_received_ms)
        self._progress.watermark_ms.value = watermark

    # --- connection callbacks (reader thread) ------------------------------------------------

    def _on_connect(self, session_present: bool) -> None:
        self._note_connection(session_present)
        logger.info(
            "partition %s connected to %s:%s, subscribing to %s",
            self._partition,
            self._settings.endpoint.host,
            self._settings.endpoint.port,
            ", ".join(self._settings.subscriptions),
        )
        self._progress.connected.value = 1
        subscriptions = [(topic, _QOS) for topic in self._settings.subscriptions]
        if self._settings.heartbeat_topic:
            subscriptions.append((self._settings.heartbeat_topic, 0))
        self._connection.subscribe(subscriptions)

    def _note_connection(self, session_present: bool) -> None:
        self._connections += 1
        self._last_heard = self._connected_at = time.monotonic()
        self._unanswered_since = None
        if self._connections == 1:
            return
        self._progress.reconnects.value += 1
        if session_present:
            logger.warning("partition %s reconnected; the broker kept its session",
                           self._partition)  # fmt: skip
            return
        self._progress.sessions_lost.value += 1
        logger.error(
            "partition %s reconnected, but the broker no longer had its persistent session: "
            "messages sent while it was away may be lost (a broker without persistence, or "
            "another client that used the client id with a clean session); resubscribing",
            self._partition,
        )

    def _on_disconnect(self, reason: str) -> None:
        self._progress.connected.value = 0
        self._connected_at = None
        if not self._stopping:
            logger.warning(
                "partition %s disconnected (%s), reconnecting; if this repeats, another client "
                "may be connecting with this client id",
                self._partition,
                reason,
            )

    def _on_publishes(self, publishes: list[Publish], connection: int) -> None:
        self._last_heard = time.monotonic()
        with self._condition:
            while len(self._pending) >= self._settings.max_pending and not self._stopping:
                self._waiting_for_room = True
                self._condition.wait(timeout=0.5)
            self._waiting_for_room = False
        arrived = []
        copies: list[tuple[str, bytes]] = []
        routes = self._routes().by_output_topic if self._routes is not None else {}
        heartbeat_topic = self._settings.heartbeat_topic
        for publish in publishes:
            topic, payload = publish.topic, publish.payload
            if topic == heartbeat_topic:
                continue
            logged = publish.dup and self._recent.get(publish.mid) == (topic, payload)
            if logged:
                self._progress.redelivered_duplicates.value += 1
            targets = routes.get(topic)
            if targets:
                copies += [(target, payload) for target in targets]
            # the index of its last copy in `copies`, plus one (0: none)
            arrived.append((publish, logged, len(copies) if targets else 0))
        if not arrived:
            return
        if copies:
            # The read's copies leave at once, in one write, not batched behind the log or the
            # previous batch's PUBACKs; the committer acknowledges an original once they are
            # confirmed.
            first_copy = self._send_copies(copies) - len(copies)
            arrived = [
                (publish, logged, first_copy + last_copy if last_copy else 0)
                for publish, logged, last_copy in arrived
            ]
        with self._condition:
            received_ms = max(self._clock_ms(), self._last_received_ms)
            self._last_received_ms = received_ms
            was_empty = not self._pending
            self._pending += [
                _Pending(
                    ReceivedMessage(received_ms, publish.topic, publish.payload, publish.mid),
                    publish.qos,
                    connection,
                    logged,
                    last_copy,
                )
                for publish, logged, last_copy in arrived
            ]
            if was_empty:
                self._condition.notify_all()

    # --- committer thread --------------------------------------------------------------------

    def _take_batch(self) -> list[_Pending] | None:
        """Waits for messages and backlog room; [] after a quiet moment (time to refresh the
        watermark); None once stopping with nothing left."""
        consumed = self._progress.consumed_offset
        with self._condition:
            room = self._logged_offset - consumed.value < self._settings.max_backlog
            if self._pending and (room or self._stopping):
                batch, self._pending = self._pending, []
                self._condition.notify_all()
                return batch
            if self._stopping and not self._pending:
                return None
            self._condition.wait(timeout=self._settings.watermark_refresh_s)
            return []

    def _commit_loop(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if batch:
                self._log_and_acknowledge(batch)
            self._publish_watermark()
            self._check_hearing()
            self._connection.keep_alive()
            if batch:
                time.sleep(self._settings.commit_interval_s)

    def _log_and_acknowledge(self, batch: list[_Pending]) -> None:
        new_messages = [item.message for item in batch if not item.logged]
        if new_messages:
            self._append(new_messages)
        last_copy = max(item.last_copy for item in batch)
        if last_copy and not self._copies_confirmed(last_copy, len(batch)):
            return
        acknowledged: dict[int, list[int]] = {}
        recent, window = self._recent, self._settings.dedup_window
        for item in batch:
            message = item.message
            if not item.logged:  # remembered for deduplicating its redelivery
                recent[message.mid] = (message.topic, message.payload)
                recent.move_to_end(message.mid)
            if item.qos:
                acknowledged.setdefault(item.connection, []).append(message.mid)
        while len(recent) > window:
            recent.popitem(last=False)
        for connection, mids in acknowledged.items():
            self._connection.acknowledge(mids, connection)
        self._progress.received.value += len(new_messages)

    def _append(self, messages: list[ReceivedMessage]) -> None:
        while True:
            try:
                last_offset = self._wal.append(messages)
                break
            except Exception:
                # Not acknowledged, so nothing is lost: retry until the disk is back.
                logger.exception("cannot write the local log of %s; retrying", self._partition)
                time.sleep(1)
        with self._condition:
            self._logged_offset = last_offset
        self._progress.logged_offset.value = last_offset

    def _send_copies(self, copies: list[tuple[str, bytes]]) -> int:
        """Publishes the copies (waiting while too many are unconfirmed); the last one's
        sequence number."""
        publisher = self._route_publisher
        assert publisher is not None
        last_copy = publisher.publish_batch(copies)
        self._progress.routed.value += len(copies)
        return last_copy

    def _copies_confirmed(self, last_copy: int, batch_size: int) -> bool:
        """Waits for the broker to confirm every copy up to `last_copy`; False when stopping
        cut the wait short (the batch then stays unacknowledged)."""
        publisher = self._route_publisher
        assert publisher is not None
        while not publisher.wait_confirmed(last_copy, timeout_s=0.5):
            if self._stopping and (
                self._routing_abandoned
                or not publisher.wait_confirmed(
                    last_copy, timeout_s=self._settings.stop_route_timeout_s
                )
            ):
                self._routing_abandoned = True
                logger.error(
                    "partition %s: stopping with %d routed copies unconfirmed; their %d "
                    "originals stay unacknowledged and will be routed again",
                    self._partition,
                    publisher.unconfirmed,
                    batch_size,
                )
                return False
        return True

    def _check_hearing(self) -> None:
        """Sends a heartbeat now and then, and reconnects a connection on which nothing at all
        arrived for `deaf_after_s` after a heartbeat left (time this thread spent elsewhere,
        sending none, is no silence)."""
        topic = self._settings.heartbeat_topic
        if topic is None or self._connected_at is None or self._stopping:
            return
        now = time.monotonic()
        if now - self._last_heartbeat_sent >= self._settings.heartbeat_interval_s:
            self._last_heartbeat_sent = now
            if self._unanswered_since is None or self._last_heard >= self._unanswered_since:
                self._unanswered_since = now
            self._connection.publish(topic, b"")
        since = self._unanswered_since
        if since is None or self._last_heard >= since or self._waiting_for_room:
            return
        if now - since < self._settings.deaf_after_s:
            return
        self._progress.deaf_reconnects.value += 1
        logger.error(
            "partition %s is connected but has heard nothing for %.0f s, not even its own "
            "heartbeat (its session was taken over or lost in the broker); reconnecting",
            self._partition,
            now - since,
        )
        self._unanswered_since = None
        self._connection.drop()
