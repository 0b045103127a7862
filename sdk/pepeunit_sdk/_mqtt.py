"""What the library needs from an MQTT client; implement it to use another MQTT library."""

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "AbstractMqttClient",
    "ConnectHandler",
    "MqttConnectionSettings",
    "MqttMessage",
    "RawMessageHandler",
]

ConnectHandler = Callable[[], None]
RawMessageHandler = Callable[[str, bytes], None]
"""Called with the topic and the payload of every message received."""


@dataclass(frozen=True)
class MqttMessage:
    """A message the unit received; the payload decoded as UTF-8 (bad bytes become U+FFFD)."""

    topic: str
    payload: str


@dataclass(frozen=True)
class MqttConnectionSettings:
    """Where and as whom the unit connects: from env.json, username = PU_AUTH_TOKEN."""

    host: str
    port: int
    username: str
    password: str
    client_id: str
    keepalive: int


class AbstractMqttClient(ABC):
    """MQTT 3.1.1 at QoS 0, not retained, clean session: what Pepeunit units use.

    The contract:
    - `connect` returns once the broker accepted the connection (raise MqttConnectionError
      otherwise). From then until `disconnect`, the client stays connected: after a loss it
      reconnects by itself and calls `on_connect` again (the library subscribes there, so
      subscriptions survive a broker restart). `on_message` gets every message received.
    - `connect` after `disconnect` connects again, possibly with other settings.
    - `publish`, `subscribe` and `unsubscribe` raise MqttNotConnectedError while there is no
      connection.
    - The callbacks may run on any thread; the library is thread-safe for them.
    """

    @abstractmethod
    def connect(
        self,
        settings: MqttConnectionSettings,
        on_connect: ConnectHandler,
        on_message: RawMessageHandler,
    ) -> None: ...

    @abstractmethod
    def disconnect(self) -> None:
        """Send what was published before, close the connection and stop reconnecting; a
        no-op when not connected. Called from outside the client's callbacks."""

    @property
    @abstractmethod
    def is_connected(self) -> bool: ...

    @abstractmethod
    def subscribe(self, topics: Sequence[str]) -> None: ...

    @abstractmethod
    def unsubscribe(self, topics: Sequence[str]) -> None: ...

    @abstractmethod
    def publish(self, topic: str, payload: str) -> None: ...
