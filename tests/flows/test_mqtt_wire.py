"""The intake's MQTT 3.1.1 codec: against a real Mosquitto (a session made, resumed and
acknowledged with these packets alone), split at every byte, and fed hostile bytes."""

import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from flows.intake import mqtt_wire
from flows.intake.mqtt_wire import ConnAck, PingResp, ProtocolError, PubAck, Publish, SubAck
from tests.services.mosquitto import MosquittoServer
from tests.services.processes import find_binary

TOPIC_FILTER = "wire.example/+/pepeunit"


def _publish_qos1(server: MosquittoServer, topic: str, payloads: list[bytes]) -> None:
    binary = find_binary("mosquitto_pub", [Path("/usr/bin/mosquitto_pub")], "mosquitto-clients")
    for payload in payloads:
        command = [str(binary), "-h", server.host, "-p", str(server.port), "-q", "1"]
        subprocess.run([*command, "-t", topic, "-m", payload.decode()], check=True, timeout=10)


class _Session:
    """A raw socket speaking only mqtt_wire's packets."""

    def __init__(self, server: MosquittoServer, client_id: str) -> None:
        self._socket = socket.create_connection((server.host, server.port), timeout=5)
        self._buffer = bytearray()
        self._decoded: list[mqtt_wire.Incoming] = []
        self._client_id = client_id

    def send(self, data: bytes) -> None:
        self._socket.sendall(data)

    def receive(self, count: int) -> list[mqtt_wire.Incoming]:
        """The next `count` packets (fewer if they do not come within 5 s)."""
        deadline = time.monotonic() + 5
        while len(self._decoded) < count and time.monotonic() < deadline:
            self._buffer += self._socket.recv(65536)
            decoded, used = mqtt_wire.decode(self._buffer)
            del self._buffer[:used]
            self._decoded += decoded
        packets, self._decoded = self._decoded[:count], self._decoded[count:]
        return packets

    def connect(self) -> ConnAck:
        self.send(mqtt_wire.connect_packet(self._client_id, 30, "", "", clean_session=False))
        (connack,) = self.receive(1)
        assert isinstance(connack, ConnAck)
        return connack

    def close(self) -> None:
        self._socket.close()


def test_a_session_is_made_resumed_and_acknowledged_with_these_packets(
    mosquitto_server: MosquittoServer,
) -> None:
    client_id = f"wire-test-{uuid.uuid4()}"
    session = _Session(mosquitto_server, client_id)
    assert session.connect() == ConnAck(session_present=False, return_code=0)
    session.send(mqtt_wire.subscribe_packet(7, [(TOPIC_FILTER, 1), ("wire.example/beat", 0)]))
    assert session.receive(1) == [SubAck(7, (1, 0))]
    session.send(mqtt_wire.publish_packet("wire.example/beat", b"heartbeat"))
    assert session.receive(1) == [Publish("wire.example/beat", b"heartbeat", 0, 0, False)]
    session.send(mqtt_wire.DISCONNECT)
    session.close()

    _publish_qos1(mosquitto_server, "wire.example/node-1/pepeunit", [b"1", b"2", b""])
    session = _Session(mosquitto_server, client_id)
    assert session.connect().session_present
    queued = session.receive(3)
    assert [(p.topic, p.payload, p.qos, p.dup) for p in queued if isinstance(p, Publish)] == [
        ("wire.example/node-1/pepeunit", b"1", 1, False),
        ("wire.example/node-1/pepeunit", b"2", 1, False),
        ("wire.example/node-1/pepeunit", b"", 1, False),
    ]
    mids = [p.mid for p in queued if isinstance(p, Publish)]
    session.send(mqtt_wire.puback_packets(mids[:2]))  # the third stays unacknowledged
    session.send(mqtt_wire.PINGREQ)
    assert session.receive(1) == [PingResp()]
    session.close()  # dropped, not disconnected: the broker redelivers what it holds

    session = _Session(mosquitto_server, client_id)
    assert session.connect().session_present
    (redelivered,) = session.receive(1)
    assert redelivered == Publish("wire.example/node-1/pepeunit", b"", 1, mids[2], True)
    session.send(mqtt_wire.puback_packets([mids[2]]) + mqtt_wire.DISCONNECT)
    session.close()


def test_any_split_of_the_stream_decodes_to_the_same_packets() -> None:
    big = bytes(range(256)) * 70  # 17 927 bytes in all: a remaining length of three bytes
    stream = (
        bytes([0x20, 2, 1, 0])  # CONNACK, session present
        + bytes([0x32]) + bytes([0x87, 0x8C, 0x01]) + b"\x00\x03a/b\x12\x34" + big
        + bytes([0x3A, 8]) + b"\x00\x03a/b\x00\x01x"  # DUP, QoS 1
        + bytes([0x30, 5]) + b"\x00\x03a/b"  # QoS 0, empty payload
        + bytes([0x90, 4, 0, 9, 1, 0x80])  # SUBACK: granted 1, refused
        + bytes([0xD0, 0])  # PINGRESP
    )  # fmt: skip
    expected = [
        ConnAck(True, 0),
        Publish("a/b", big, 1, 0x1234, False),
        Publish("a/b", b"x", 1, 1, True),
        Publish("a/b", b"", 0, 0, False),
        SubAck(9, (1, 0x80)),
        PingResp(),
    ]
    assert mqtt_wire.decode(stream) == (expected, len(stream))
    for split in range(len(stream) + 1):
        first, used = mqtt_wire.decode(stream[:split])
        rest, rest_used = mqtt_wire.decode(stream[used:])
        assert first + rest == expected
        assert used + rest_used == len(stream)


@pytest.mark.parametrize(
    ("stream", "complaint"),
    [
        (bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), "remaining length"),
        (bytes([0x34, 6]) + b"\x00\x01a\x00\x01x", "QoS 2"),
        (bytes([0x32, 4]) + b"\x00\x03a/", "shorter than its topic"),
        (bytes([0x32, 1]) + b"\x00", "without a topic"),
        (bytes([0x30, 4]) + b"\x00\x02\xff\xfe", "not UTF-8"),
        (bytes([0x40, 2, 0, 1]), "type 4"),  # a PUBACK: a subscriber publishes at QoS 0
        (bytes([0x20, 3, 0, 0, 0]), "type 2"),  # a CONNACK of the wrong length
        (bytes([0xD0, 1, 0]), "type 13"),
    ],
)
def test_what_no_broker_may_send_is_a_protocol_error(stream: bytes, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        mqtt_wire.decode(stream)


def test_a_publishing_connection_decodes_pubacks_and_sends_qos1_publishes() -> None:
    assert mqtt_wire.decode(bytes([0x40, 2, 0x12, 0x34, 0x40, 2, 0, 1]), pubacks=True) == (
        [PubAck(0x1234), PubAck(1)],
        8,
    )
    with pytest.raises(ProtocolError, match="type 4"):
        mqtt_wire.decode(bytes([0x40, 3, 0, 1, 0]), pubacks=True)
    packet = mqtt_wire.publish_packet("a/b", b"x", mid=0x1234)
    assert packet == b"\x32\x08\x00\x03a/b\x12\x34x"
    assert mqtt_wire.as_duplicate(packet) == b"\x3a" + packet[1:]
    assert mqtt_wire.decode(mqtt_wire.as_duplicate(packet)) == (
        [Publish("a/b", b"x", 1, 0x1234, True)],
        len(packet),
    )
    with pytest.raises(ValueError, match="packet id"):
        mqtt_wire.publish_packet("a/b", b"x", mid=0x10000)


def test_encoded_packets_carry_their_fields() -> None:
    assert mqtt_wire.connect_packet("id", 60, "", "", clean_session=False) == (
        b"\x10\x0e\x00\x04MQTT\x04\x00\x00\x3c\x00\x02id"
    )
    assert mqtt_wire.connect_packet("id", 5, "user", "pw", clean_session=True) == (
        b"\x10\x18\x00\x04MQTT\x04\xc2\x00\x05\x00\x02id\x00\x04user\x00\x02pw"
    )
    assert mqtt_wire.subscribe_packet(1, [("a/+", 1)]) == b"\x82\x08\x00\x01\x00\x03a/+\x01"
    assert mqtt_wire.puback_packets([1, 0xFFFF]) == b"\x40\x02\x00\x01\x40\x02\xff\xff"
    assert mqtt_wire.publish_packet("t", b"x" * 200)[:4] == b"\x30\xcb\x01\x00"
    with pytest.raises(ValueError, match="65 535 bytes"):
        mqtt_wire.publish_packet("t" * 65536, b"")
