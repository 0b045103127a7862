"""The intake's connection to the broker: MQTT 3.1.1 over a plain socket
(`flows.intake.mqtt_wire`), without a client library, whose per-message path cost 5 times the
CPU (bench/RESULTS.md, Intake candidates).

One reader thread decodes whatever a socket read brings and hands its publishes over in one
call, which may wait: meanwhile nothing is read, so the broker holds the rest (back-pressure).
The acknowledgements of a logged batch leave in one write, and only on the connection their
messages came on (after a reconnection the broker redelivers them, with DUP). A publishing
connection (the routing publisher: clean session, `on_pubacks`) gets the PUBACKs of each read
in one call instead.

It reconnects by itself: 1 s after a loss, then doubling up to 10 s while the broker cannot be
reached. Keep-alive is driven by the caller (`keep_alive`, called often): a PINGREQ when nothing
was sent for half the interval, and a connection whose broker no longer answers is dropped.
"""

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence

from flows.intake import mqtt_wire
from flows.intake.mqtt_wire import ConnAck, ProtocolError, PubAck, Publish, SubAck
from flows.mqtt_endpoint import MqttEndpoint

logger = logging.getLogger("pepeunit.flow.intake")

_RECONNECT_MIN_S = 1.0
_RECONNECT_MAX_S = 10.0
_CONNECT_TIMEOUT_S = 10.0
_READ_SIZE = 1 << 18
_SUBSCRIBE_ID = 1
_CONNACK_REFUSALS = {
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


class ConnectRefusedError(Exception):
    """The broker answered CONNECT with a refusal."""


class MqttConnection:
    def __init__(
        self,
        endpoint: MqttEndpoint,
        client_id: str,
        *,
        on_connect: Callable[[bool], None],
        on_disconnect: Callable[[str], None],
        on_publishes: Callable[[list[Publish], int], None] | None = None,
        on_pubacks: Callable[[list[int]], None] | None = None,
        clean_session: bool = False,
    ) -> None:
        """`on_connect(session_present)` runs on each connection, before any of its messages;
        `on_publishes(publishes, connection)` gets each read's publishes with the connection's
        number (see `acknowledge`); `on_pubacks(mids)` each read's PUBACKs (without it a PUBACK
        is a protocol error, as is a PUBLISH without `on_publishes`); `on_disconnect(reason)`
        runs when a connection ends."""
        self._endpoint = endpoint
        self._client_id = client_id
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._on_publishes = on_publishes
        self._on_pubacks = on_pubacks
        self._clean_session = clean_session
        self._send_lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._connection = 0
        self._stopping = threading.Event()
        self._last_sent = self._last_received = 0.0
        self._ping_sent_at: float | None = None
        self._handing_over = False
        """The reader waits in `on_publishes` (reads nothing, so hears no PINGRESP either)."""
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{client_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Disconnects (the session stays with the broker) and ends the reader."""
        self._stopping.set()
        with self._send_lock:
            sock = self._socket
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.sendall(mqtt_wire.DISCONNECT)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)

    def subscribe(self, filters: Sequence[tuple[str, int]]) -> None:
        self._send(mqtt_wire.subscribe_packet(_SUBSCRIBE_ID, filters))

    def publish(self, topic: str, payload: bytes) -> None:
        """At QoS 0."""
        self._send(mqtt_wire.publish_packet(topic, payload))

    def acknowledge(self, mids: Sequence[int], connection: int) -> None:
        """PUBACKs for `mids`, if the connection they came on is still the current one."""
        if mids:
            self._send(mqtt_wire.puback_packets(mids), connection)

    @property
    def current_connection(self) -> int:
        """The number of the latest connection (0 before the first); `on_connect` sees its own."""
        return self._connection

    def send(self, data: bytes, connection: int) -> bool:
        """Writes encoded packets if `connection` is still the current one and up; whether it
        did (a loss while writing counts as written: the reader reconnects)."""
        return self._send(data, connection)

    def drop(self) -> None:
        """Closes the socket under the reader, which then reconnects as after any loss."""
        with self._send_lock:
            if self._socket is not None:
                with contextlib.suppress(OSError):  # closed meanwhile: reconnecting already
                    self._socket.shutdown(socket.SHUT_RDWR)

    def keep_alive(self) -> None:
        """Sends a PINGREQ when nothing left for half the keep-alive interval; drops the
        connection when a PINGREQ went unanswered for the interval while the reader read."""
        interval = self._endpoint.keepalive
        if interval <= 0:
            return
        now = time.monotonic()
        ping_sent_at = self._ping_sent_at
        if self._handing_over or (ping_sent_at is not None and self._last_received >= ping_sent_at):
            self._ping_sent_at = ping_sent_at = None
        if ping_sent_at is not None and now - ping_sent_at > interval:
            logger.error(
                "%s: the broker has not answered for %.0f s; reconnecting", self._client_id,
                now - ping_sent_at,
            )  # fmt: skip
            self._ping_sent_at = None
            self.drop()
            return
        if now - self._last_sent >= interval / 2:
            self._send(mqtt_wire.PINGREQ)
            self._ping_sent_at = ping_sent_at or now

    def _send(self, data: bytes, connection: int | None = None) -> bool:
        with self._send_lock:
            sock = self._socket
            if sock is None or (connection is not None and connection != self._connection):
                return False
            try:
                sock.sendall(data)
            except OSError:  # the reader sees the loss and reconnects
                return True
            self._last_sent = time.monotonic()
            return True

    # --- reader thread -----------------------------------------------------------------------

    def _run(self) -> None:
        delay = _RECONNECT_MIN_S
        while not self._stopping.is_set():
            try:
                sock, packets, buffer = self._open()
            except (OSError, ProtocolError, ConnectRefusedError) as error:
                logger.warning(
                    "%s: cannot connect to %s:%s (%s); retrying in %.0f s", self._client_id,
                    self._endpoint.host, self._endpoint.port, error or type(error).__name__, delay,
                )  # fmt: skip
                self._stopping.wait(delay)
                delay = min(delay * 2, _RECONNECT_MAX_S)
                continue
            delay = _RECONNECT_MIN_S
            reason = "closed"
            try:
                self._serve(sock, packets, buffer)
            except (OSError, ProtocolError) as error:
                reason = str(error) or type(error).__name__
            except Exception:  # a bug in on_publishes must not leave the intake deaf
                logger.exception("%s: handling a read failed; reconnecting", self._client_id)
                reason = "internal error"
            finally:
                with self._send_lock:
                    self._socket = None
                sock.close()
            self._on_disconnect(reason)
            self._stopping.wait(delay)

    def _open(self) -> tuple[socket.socket, list[mqtt_wire.Incoming], bytearray]:
        """Connects and waits for the CONNACK; the packets that came after it in the same
        read, and the bytes of an incomplete one."""
        endpoint = self._endpoint
        sock = socket.create_connection((endpoint.host, endpoint.port), _CONNECT_TIMEOUT_S)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(
                mqtt_wire.connect_packet(
                    self._client_id, endpoint.keepalive, endpoint.username, endpoint.password,
                    clean_session=self._clean_session,
                )
            )  # fmt: skip
            buffer = bytearray()
            packets: list[mqtt_wire.Incoming] = []
            while not packets:
                data = sock.recv(_READ_SIZE)
                if not data:
                    raise ConnectionError("closed by the broker before CONNACK")
                buffer += data
                packets, used = mqtt_wire.decode(buffer, pubacks=self._on_pubacks is not None)
                del buffer[:used]
            connack, *rest = packets
            if not isinstance(connack, ConnAck):
                raise ProtocolError(f"{type(connack).__name__} before CONNACK")
            if connack.return_code:
                refusal = _CONNACK_REFUSALS.get(connack.return_code, "unknown reason")
                raise ConnectRefusedError(f"refused: {refusal} ({connack.return_code})")
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        with self._send_lock:
            self._socket = sock
            self._connection += 1
            self._last_sent = self._last_received = time.monotonic()
            self._ping_sent_at = None
        self._on_connect(connack.session_present)
        return sock, rest, buffer

    def _serve(
        self, sock: socket.socket, packets: list[mqtt_wire.Incoming], buffer: bytearray
    ) -> None:
        connection = self._connection
        pubacks = self._on_pubacks is not None
        while True:
            self._hand_over(packets, connection)
            if self._stopping.is_set():
                return
            data = sock.recv(_READ_SIZE)
            if not data:
                return
            self._last_received = time.monotonic()
            buffer += data
            packets, used = mqtt_wire.decode(buffer, pubacks=pubacks)
            del buffer[:used]

    def _hand_over(self, packets: list[mqtt_wire.Incoming], connection: int) -> None:
        publishes = []
        acknowledged = []
        for packet in packets:
            if type(packet) is Publish:
                publishes.append(packet)
            elif type(packet) is PubAck:
                acknowledged.append(packet.mid)
            elif isinstance(packet, SubAck) and 0x80 in packet.return_codes:
                logger.error(
                    "%s: the broker refused a subscription (return codes %s): check the ACL",
                    self._client_id, packet.return_codes,
                )  # fmt: skip
            elif isinstance(packet, ConnAck):
                raise ProtocolError("a second CONNACK")
        if acknowledged and self._on_pubacks is not None:
            self._on_pubacks(acknowledged)
        if publishes:
            if self._on_publishes is None:
                raise ProtocolError("a PUBLISH on a connection that subscribed to nothing")
            self._handing_over = True
            try:
                self._on_publishes(publishes, connection)
            finally:
                self._handing_over = False
