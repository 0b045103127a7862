"""A blocking paho client for the broker tests: connect as a username, subscribe, publish and
collect what arrives (with MQTT v5 subscription identifiers when the broker speaks v5)."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Received:
    topic: str
    payload: str
    subscription_ids: tuple[int, ...] = ()


@dataclass
class _Waiter:
    done: threading.Event = field(default_factory=threading.Event)
    reason_codes: list[ReasonCode] = field(default_factory=list)


class MqttClient:
    def __init__(
        self, host: str, port: int, username: str | None, *, protocol: int = mqtt.MQTTv5
    ) -> None:
        self.host, self.port, self.protocol = host, port, protocol
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
        if username is not None:
            self._client.username_pw_set(username, "")
        self._connected = threading.Event()
        self.disconnected = threading.Event()
        """Set when the connection is lost or closed (by either side)."""
        self.connect_reason: ReasonCode | None = None
        self._subscriptions: dict[int, _Waiter] = {}
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self._arrived = threading.Condition(self._lock)
        self._puback_reasons: dict[int, ReasonCode] = {}
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect

    def connect(self) -> ReasonCode:
        """Connects and returns the CONNACK reason ("Success", "Not authorized", ...)."""
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(TIMEOUT_S):
            raise TimeoutError(f"no CONNACK from {self.host}:{self.port}")
        assert self.connect_reason is not None
        return self.connect_reason

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def subscribe(self, topic_filter: str, subscription_id: int | None = None) -> ReasonCode:
        """Subscribes at QoS 1 and returns the SUBACK reason (granted QoS or a refusal)."""
        properties = None
        if subscription_id is not None:
            properties = Properties(PacketTypes.SUBSCRIBE)
            properties.SubscriptionIdentifier = subscription_id
        with self._lock:
            result, mid = self._client.subscribe(topic_filter, qos=1, properties=properties)
            assert result == mqtt.MQTT_ERR_SUCCESS, result
            waiter = self._subscriptions.setdefault(mid, _Waiter())
        if not waiter.done.wait(TIMEOUT_S):
            raise TimeoutError(f"no SUBACK for {topic_filter!r}")
        return waiter.reason_codes[0]

    def publish(self, topic: str, payload: str) -> ReasonCode | None:
        """Publishes at QoS 1 and waits for the PUBACK; its reason code under MQTT v5."""
        info = self._client.publish(topic, payload, qos=1)
        info.wait_for_publish(TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError(f"no PUBACK for {topic!r}")
        return self._puback_reasons.pop(info.mid, None)

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = TIMEOUT_S) -> bool:
        """Whether a message matching `predicate` has arrived within `timeout`."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not any(predicate(message) for message in self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def messages(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    # paho callbacks (its network thread)

    def _on_connect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.connect_reason = reason_code
        self._connected.set()

    def _on_disconnect(self, _client, _userdata, _flags, _reason_code, _properties) -> None:
        self.disconnected.set()

    def _on_subscribe(self, _client, _userdata, mid, reason_codes, _properties) -> None:
        with self._lock:
            waiter = self._subscriptions.setdefault(mid, _Waiter())
        waiter.reason_codes[:] = reason_codes
        waiter.done.set()

    def _on_publish(self, _client, _userdata, mid, reason_code, _properties) -> None:
        self._puback_reasons[mid] = reason_code

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        ids = getattr(message.properties, "SubscriptionIdentifier", None) or []
        received = Received(
            message.topic, message.payload.decode(errors="replace"), tuple(sorted(ids))
        )
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()


def connected_client(
    host: str, port: int, username: str | None, *, protocol: int = mqtt.MQTTv5
) -> MqttClient:
    """A client past its CONNACK, whatever it said (see `connect_reason`)."""
    client = MqttClient(host, port, username, protocol=protocol)
    client.connect()
    return client
