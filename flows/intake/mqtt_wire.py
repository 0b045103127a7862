"""The MQTT 3.1.1 packets a subscriber, or a QoS 1 publisher, exchanges with its broker, encoded
and decoded in plain Python without a client library: `decode` takes every whole packet at the
start of a buffer in one pass, so a reader can decode whatever one socket read brought, and
`puback_packets` acknowledges a whole batch in one write.

Out: CONNECT, SUBSCRIBE, PUBLISH (QoS 0 or 1), PUBACK, PINGREQ, DISCONNECT. In: CONNACK, SUBACK,
PUBLISH (QoS 0 or 1), PINGRESP, and PUBACK for a connection that publishes at QoS 1 (the routing
publisher); anything else a broker must not send, and is a `ProtocolError`. Measured against
paho, a native codec and the C client in bench/RESULTS.md (## Intake candidates).
"""

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"

_CONNECT, _CONNACK, _PUBLISH, _PUBACK, _SUBSCRIBE, _SUBACK, _PINGRESP = 1, 2, 3, 4, 8, 9, 13
_MAX_REMAINING_LENGTH_BYTES = 4
_PUBACK_PACKET = struct.Struct(">HH")
_PUBACK_FIXED_HEADER = 0x4002  # type 4, no flags, remaining length 2


class ProtocolError(Exception):
    """The broker sent something no MQTT 3.1.1 broker may send a subscriber."""


class Publish(NamedTuple):
    """A tuple, not a frozen dataclass: made for every message, it costs a fifth as much."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    """The packet id (0 at QoS 0)."""
    dup: bool


@dataclass(frozen=True, slots=True)
class ConnAck:
    session_present: bool
    return_code: int
    """0: accepted; 1-5: refused (version, identifier, server, credentials, authorisation)."""


@dataclass(frozen=True, slots=True)
class SubAck:
    mid: int
    return_codes: tuple[int, ...]
    """Per topic filter: the QoS granted, or 0x80 for a refusal."""


@dataclass(frozen=True, slots=True)
class PingResp:
    pass


@dataclass(frozen=True, slots=True)
class PubAck:
    mid: int


Incoming = Publish | ConnAck | SubAck | PingResp | PubAck


def decode(buffer: bytes | bytearray, *, pubacks: bool = False) -> tuple[list[Incoming], int]:
    """The whole packets at the start of `buffer`, and how many bytes they took (an incomplete
    packet at the end is left for the next call). A PUBACK is a `ProtocolError` unless
    `pubacks` (the connection publishes at QoS 1)."""
    packets: list[Incoming] = []
    position, end = 0, len(buffer)
    while position + 2 <= end:
        first = buffer[position]
        length, shift, cursor = 0, 0, position + 1
        while True:
            if cursor >= end:
                return packets, position
            byte = buffer[cursor]
            cursor += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift >= 7 * _MAX_REMAINING_LENGTH_BYTES:
                raise ProtocolError("remaining length longer than 4 bytes")
        packet_end = cursor + length
        if packet_end > end:
            break
        packet_type = first >> 4
        if packet_type == _PUBLISH:
            packets.append(_publish(buffer, first, cursor, packet_end))
        elif packet_type == _PUBACK and pubacks and length == 2:
            packets.append(PubAck(buffer[cursor] << 8 | buffer[cursor + 1]))
        else:
            packets.append(_control(packet_type, bytes(buffer[cursor:packet_end])))
        position = packet_end
    return packets, position


def _publish(buffer: bytes | bytearray, first: int, start: int, end: int) -> Publish:
    qos = (first >> 1) & 0x03
    if qos > 1:
        raise ProtocolError(f"PUBLISH at QoS {qos}: the subscriptions ask for at most 1")
    if end - start < 2:
        raise ProtocolError("PUBLISH without a topic")
    topic_end = start + 2 + (buffer[start] << 8 | buffer[start + 1])
    header_end = topic_end + 2 if qos else topic_end
    if header_end > end:
        raise ProtocolError("PUBLISH shorter than its topic and packet id")
    try:
        topic = buffer[start + 2 : topic_end].decode()
    except UnicodeDecodeError as error:
        raise ProtocolError("PUBLISH topic is not UTF-8") from error
    mid = buffer[topic_end] << 8 | buffer[topic_end + 1] if qos else 0
    return Publish(topic, bytes(buffer[header_end:end]), qos, mid, bool(first & 0x08))


def _control(packet_type: int, body: bytes) -> Incoming:
    if packet_type == _CONNACK and len(body) == 2:
        return ConnAck(bool(body[0] & 0x01), body[1])
    if packet_type == _SUBACK and len(body) >= 3:
        return SubAck(body[0] << 8 | body[1], tuple(body[2:]))
    if packet_type == _PINGRESP and not body:
        return PingResp()
    raise ProtocolError(f"unexpected packet of type {packet_type} ({len(body)} bytes)")


def _remaining_length(length: int) -> bytes:
    encoded = bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        encoded.append(byte | 0x80 if length else byte)
        if not length:
            return bytes(encoded)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _remaining_length(len(body)) + body


def _string(text: str) -> bytes:
    data = text.encode()
    if len(data) > 0xFFFF:
        raise ValueError("an MQTT string holds at most 65 535 bytes")
    return struct.pack(">H", len(data)) + data


def connect_packet(
    client_id: str, keepalive_s: int, username: str, password: str, *, clean_session: bool
) -> bytes:
    flags = 0x02 if clean_session else 0x00
    payload = _string(client_id)
    if username:
        flags |= 0x80 | 0x40
        payload += _string(username) + _string(password)
    variable_header = _string("MQTT") + bytes([4, flags]) + struct.pack(">H", keepalive_s)
    return _packet(_CONNECT << 4, variable_header + payload)


def subscribe_packet(mid: int, filters: Sequence[tuple[str, int]]) -> bytes:
    """SUBSCRIBE `filters` ((topic filter, maximum QoS), ...) with packet id `mid`."""
    body = struct.pack(">H", mid) + b"".join(
        _string(topic) + bytes([qos]) for topic, qos in filters
    )
    return _packet(_SUBSCRIBE << 4 | 0x02, body)


def publish_packet(topic: str, payload: bytes, *, mid: int = 0) -> bytes:
    """PUBLISH at QoS 0, or at QoS 1 with packet id `mid` (1..65 535) when given."""
    if not mid:
        return _packet(_PUBLISH << 4, _string(topic) + payload)
    if not 0 < mid <= 0xFFFF:
        raise ValueError(f"packet id {mid} is outside 1..65 535")
    encoded_topic = _encoded_topics.get(topic)
    if encoded_topic is None:
        encoded_topic = _string(topic)
        if len(_encoded_topics) >= _ENCODED_TOPICS_KEPT:
            _encoded_topics.clear()
        _encoded_topics[topic] = encoded_topic
    length = len(encoded_topic) + 2 + len(payload)
    if length < 128:
        header = _QOS1_SHORT_HEADERS[length]
    else:
        header = bytes([_QOS1_PUBLISH]) + _remaining_length(length)
    return header + encoded_topic + _MID.pack(mid) + payload


# QoS 1 publishing (the routed copies) encodes the same few topics over and over.
_ENCODED_TOPICS_KEPT = 100_000
_encoded_topics: dict[str, bytes] = {}
_MID = struct.Struct(">H")
_QOS1_PUBLISH = _PUBLISH << 4 | 0x02
_QOS1_SHORT_HEADERS = [bytes((_QOS1_PUBLISH, length)) for length in range(128)]


def as_duplicate(packet: bytes) -> bytes:
    """A QoS 1 PUBLISH packet with its DUP flag set, for sending it again."""
    return bytes([packet[0] | 0x08]) + packet[1:]


def puback_packets(mids: Sequence[int]) -> bytes:
    """A PUBACK for each packet id, in one string of bytes."""
    return b"".join([_PUBACK_PACKET.pack(_PUBACK_FIXED_HEADER, mid) for mid in mids])
