"""The built-in MQTT client, on paho-mqtt 2 (`pip install 'pepeunit-sdk[mqtt]'`)."""

import threading
from collections.abc import Callable, Sequence
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from ._errors import MqttConnectionError, MqttNotConnectedError
from ._mqtt import AbstractMqttClient, ConnectHandler, MqttConnectionSettings, RawMessageHandler

__all__ = ["PahoMqttClient"]


class PahoMqttClient(AbstractMqttClient):
    """paho's network thread keeps the connection, reconnecting after a loss with a delay that
    doubles from `reconnect_min_delay` to `reconnect_max_delay` seconds."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        reconnect_min_delay: int = 1,
        reconnect_max_delay: int = 30,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._reconnect_delays = (reconnect_min_delay, reconnect_max_delay)
        self._client: Client | None = None
        self._connected = threading.Event()

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._connected.is_set()

    def connect(
        self,
        settings: MqttConnectionSettings,
        on_connect: ConnectHandler,
        on_message: RawMessageHandler,
    ) -> None:
        self.disconnect()
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=True,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        client.username_pw_set(settings.username, settings.password)
        client.reconnect_delay_set(*self._reconnect_delays)
        refusal: list[str] = []
        first_answer = threading.Event()

        def connected(
            _client: Client,
            _userdata: Any,
            _flags: ConnectFlags,
            reason: ReasonCode,
            _properties: Any,
        ) -> None:
            if reason.is_failure:
                refusal.append(str(reason))
            else:
                self._connected.set()
                on_connect()
            first_answer.set()

        def disconnected(
            _client: Client,
            _userdata: Any,
            _flags: DisconnectFlags,
            _reason: ReasonCode,
            _properties: Any,
        ) -> None:
            self._connected.clear()

        def received(_client: Client, _userdata: Any, message: MQTTMessage) -> None:
            on_message(message.topic, bytes(message.payload))

        client.on_connect = connected
        client.on_disconnect = disconnected
        client.on_message = received
        # The library's callbacks never raise; should one, the network thread must live on.
        client.suppress_exceptions = True
        try:
            client.connect(settings.host, settings.port, settings.keepalive)
        except (OSError, ValueError) as error:
            raise MqttConnectionError(
                f"cannot reach the broker {settings.host}:{settings.port}: {error}"
            ) from error
        self._client = client
        client.loop_start()
        if not first_answer.wait(self._connect_timeout) or refusal:
            self.disconnect()
            why = refusal[0] if refusal else f"no answer within {self._connect_timeout:g} s"
            raise MqttConnectionError(
                f"the broker {settings.host}:{settings.port} did not accept the unit: {why}"
            )

    def disconnect(self) -> None:
        client, self._client = self._client, None
        self._connected.clear()
        if client is None:
            return
        client.disconnect()
        # From paho's own thread (a command handler) this only asks the thread to end.
        client.loop_stop()

    def subscribe(self, topics: Sequence[str]) -> None:
        if topics:
            self._checked(lambda client: client.subscribe([(topic, 0) for topic in topics])[0])

    def unsubscribe(self, topics: Sequence[str]) -> None:
        if topics:
            self._checked(lambda client: client.unsubscribe(list(topics))[0])

    def publish(self, topic: str, payload: str) -> None:
        self._checked(lambda client: client.publish(topic, payload, qos=0).rc)

    def _checked(self, operation: Callable[[Client], MQTTErrorCode]) -> None:
        client = self._client
        if client is None or not self._connected.is_set():
            raise MqttNotConnectedError("the MQTT client is not connected")
        code = operation(client)
        if code == MQTTErrorCode.MQTT_ERR_NO_CONN:
            raise MqttNotConnectedError("the MQTT client is not connected")
        if code != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise MqttNotConnectedError(f"the MQTT client refused the operation: {code}")
