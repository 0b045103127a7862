"""The control plane's MQTT publisher: commands to units and values written to input nodes.

One paho client per API process, connected in the background with a unique client id and
reconnecting by itself. A publish waits (QoS 1) for the broker's acknowledgement; when the
broker is not connected or does not acknowledge in time it raises `PublishError` at once, so
callers report the failure instead of leaving a message queued to go out at some later time.
"""

import logging
import threading
import uuid
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.api.mqtt")

_QOS = 1
_ACK_TIMEOUT_S = 5.0
# Right after start-up the connection may still be on its way: worth a short wait.
_CONNECT_WAIT_S = 2.0


class PublishError(Exception):
    """The message was not accepted by the broker; the text says why."""


class BrokerPublisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None: ...


class MqttPublisher:
    def __init__(self, settings: Settings, client_id_prefix: str = "pepeunit-api") -> None:
        self._settings = settings
        self._connected = threading.Event()
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"{client_id_prefix}-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv311,
        )
        if settings.mqtt_username:
            self._client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)

    def start(self) -> None:
        self._client.connect_async(
            self._settings.mqtt_host, self._settings.mqtt_port, self._settings.mqtt_keepalive
        )
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def publish(self, topic: str, payload: bytes) -> None:
        where = f"{self._settings.mqtt_host}:{self._settings.mqtt_port}"
        if not self._connected.wait(_CONNECT_WAIT_S):
            raise PublishError(f"The MQTT broker at {where} is not connected")
        info = self._client.publish(topic, payload, qos=_QOS)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise PublishError(f"Publishing to {where} failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(_ACK_TIMEOUT_S)
        except (RuntimeError, ValueError) as error:
            raise PublishError(f"Publishing to {where} failed: {error}") from error
        if not info.is_published():
            raise PublishError(f"The MQTT broker at {where} did not acknowledge in time")

    def _on_connect(
        self, _client: mqtt.Client, _userdata: object, _flags: object, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            logger.error("MQTT broker refused the control plane: %s", reason)
            return
        logger.info("connected to the MQTT broker")
        self._connected.set()

    def _on_disconnect(self, *_: object) -> None:
        self._connected.clear()
