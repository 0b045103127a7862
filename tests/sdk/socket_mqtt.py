"""Another MQTT implementation for the SDK: MQTT 3.1.1 on a plain socket, QoS 0, no
reconnection. Small, but real: it talks to Mosquitto like any client."""

import socket
import struct
import threading
from collections.abc import Sequence

from pepeunit_sdk import (
    AbstractMqttClient,
    ConnectHandler,
    MqttConnectionError,
    MqttConnectionSettings,
    MqttNotConnectedError,
    RawMessageHandler,
)

CONNECT, CONNACK, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT = 1, 2, 3, 8, 10, 12, 14


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _packet(kind: int, flags: int, body: bytes) -> bytes:
    length, encoded = len(body), bytearray()
    while True:
        length, digit = divmod(length, 128)
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return bytes([kind << 4 | flags]) + bytes(encoded) + body


class SocketMqttClient(AbstractMqttClient):
    def __init__(self) -> None:
        self.connections: list[MqttConnectionSettings] = []
        self._socket: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._send_lock = threading.Lock()
        self._packet_id = 0

    @property
    def is_connected(self) -> bool:
        return self._socket is not None

    def connect(
        self,
        settings: MqttConnectionSettings,
        on_connect: ConnectHandler,
        on_message: RawMessageHandler,
    ) -> None:
        self.disconnect()
        connection = socket.create_connection((settings.host, settings.port), timeout=10)
        flags = 0x02 | 0x80 | (0x40 if settings.password else 0)  # clean session, username
        body = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", settings.keepalive)
        body += _string(settings.client_id) + _string(settings.username)
        if settings.password:
            body += _string(settings.password)
        connection.sendall(_packet(CONNECT, 0, body))
        kind, answer = _read_packet(connection)
        if kind != CONNACK or answer[1] != 0:
            connection.close()
            raise MqttConnectionError(f"the broker refused the connection: {answer!r}")
        connection.settimeout(max(settings.keepalive / 2, 1))
        self._socket = connection
        self.connections.append(settings)
        self._reader = threading.Thread(
            target=self._read, args=(connection, on_message), daemon=True
        )
        self._reader.start()
        on_connect()

    def disconnect(self) -> None:
        connection, self._socket = self._socket, None
        if connection is None:
            return
        try:
            connection.sendall(_packet(DISCONNECT, 0, b""))
        finally:
            connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=10)

    def subscribe(self, topics: Sequence[str]) -> None:
        if topics:
            body = b"".join(_string(topic) + b"\x00" for topic in topics)
            self._send(_packet(SUBSCRIBE, 2, self._next_packet_id() + body))

    def unsubscribe(self, topics: Sequence[str]) -> None:
        if topics:
            body = b"".join(_string(topic) for topic in topics)
            self._send(_packet(UNSUBSCRIBE, 2, self._next_packet_id() + body))

    def publish(self, topic: str, payload: str) -> None:
        self._send(_packet(PUBLISH, 0, _string(topic) + payload.encode()))

    def _next_packet_id(self) -> bytes:
        self._packet_id = self._packet_id % 65535 + 1
        return struct.pack("!H", self._packet_id)

    def _send(self, packet: bytes) -> None:
        connection = self._socket
        if connection is None:
            raise MqttNotConnectedError("not connected")
        with self._send_lock:
            connection.sendall(packet)

    def _read(self, connection: socket.socket, on_message: RawMessageHandler) -> None:
        while self._socket is connection:
            try:
                kind, body = _read_packet(connection)
            except TimeoutError:
                self._send(_packet(PINGREQ, 0, b""))
                continue
            except OSError:
                break
            if kind == PUBLISH:
                (topic_length,) = struct.unpack("!H", body[:2])
                topic = body[2 : 2 + topic_length].decode()
                on_message(topic, body[2 + topic_length :])
        if self._socket is connection:
            self._socket = None


def _read_packet(connection: socket.socket) -> tuple[int, bytes]:
    header = _read_exactly(connection, 1)[0]
    length, shift = 0, 0
    while True:
        digit = _read_exactly(connection, 1)[0]
        length |= (digit & 0x7F) << shift
        shift += 7
        if not digit & 0x80:
            break
    return header >> 4, _read_exactly(connection, length)


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        data += chunk
    return data
