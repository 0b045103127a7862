"""The API process's one reader of the dataflow's live events (`pepeunit_core.live_events`),
shared by every subscription of the process.

One paho client subscribes to `{D}/pepeunit_events/+` when the first subscription starts and
stays connected. Its network thread hands each message's events to the event loop, which puts
each event in the queue of every subscription that asked for its kind and entity. A queue holds
at most `queue_size` events: a subscriber that does not keep up loses its oldest ones, and the
next event it takes says how many (`Delivery.missed`); nobody else waits for it.
"""

import asyncio
import contextlib
import logging
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pepeunit_core.live_events import (
    EventKind,
    LiveEvent,
    NodeValueEvent,
    UnitLogEvent,
    UnitStateEvent,
    decode_events,
    events_filter,
    kind_of_topic,
)
from pepeunit_core.settings import PLATFORM_CLIENT_ID_PREFIX, Settings

logger = logging.getLogger("pepeunit.api.live_events")

QUEUE_SIZE = 1_000
"""Events one subscription may have waiting before the oldest are dropped."""


def event_key(event: LiveEvent) -> tuple[EventKind, str]:
    """What subscriptions ask for: the kind and the node or unit uuid."""
    match event:
        case NodeValueEvent():
            return EventKind.NODE_VALUES, event.node
        case UnitStateEvent():
            return EventKind.UNIT_STATES, event.unit
        case UnitLogEvent():
            return EventKind.UNIT_LOGS, event.unit


@dataclass(frozen=True, slots=True)
class Delivery:
    event: LiveEvent
    missed: int
    """Events of this subscription dropped just before this one (it did not keep up)."""


class LiveSubscription:
    """The events of one kind for one node or unit, as they arrive (see the module doc)."""

    def __init__(self, hub: "LiveEventHub", key: tuple[EventKind, str], queue_size: int) -> None:
        self._hub = hub
        self.key = key
        self._queue: deque[LiveEvent] = deque(maxlen=queue_size)
        self._missed = 0
        self._arrived = asyncio.Event()

    def put(self, event: LiveEvent) -> None:
        """On the event loop."""
        if len(self._queue) == self._queue.maxlen:
            self._missed += 1
        self._queue.append(event)
        self._arrived.set()

    async def next(self, timeout_s: float | None = None) -> Delivery | None:
        """The next event; None after `timeout_s` without one."""
        while not self._queue:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout_s)
            except TimeoutError:
                return None
        missed, self._missed = self._missed, 0
        return Delivery(self._queue.popleft(), missed)

    def close(self) -> None:
        self._hub.forget(self)


class LiveEventHub:
    def __init__(self, settings: Settings, queue_size: int = QUEUE_SIZE) -> None:
        self._settings = settings
        self._queue_size = queue_size
        self._subscriptions: dict[tuple[EventKind, str], set[LiveSubscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        """Set once the broker confirmed the subscription (again after each reconnect)."""

    def subscribe(self, kind: EventKind, entity: str) -> LiveSubscription:
        """On the event loop; starts the MQTT client on first use."""
        self._loop = asyncio.get_running_loop()
        subscription = LiveSubscription(self, (kind, entity.lower()), self._queue_size)
        self._subscriptions.setdefault(subscription.key, set()).add(subscription)
        self._start()
        return subscription

    @property
    def subscription_count(self) -> int:
        return sum(len(found) for found in self._subscriptions.values())

    def forget(self, subscription: LiveSubscription) -> None:
        found = self._subscriptions.get(subscription.key)
        if found is not None:
            found.discard(subscription)
            if not found:
                del self._subscriptions[subscription.key]

    def dispatch(self, events: list[LiveEvent]) -> None:
        """On the event loop: each event to the subscriptions that asked for it."""
        for event in events:
            for subscription in self._subscriptions.get(event_key(event), ()):
                subscription.put(event)

    async def deliveries(self, kind: EventKind, entity: str) -> AsyncIterator[Delivery]:
        subscription = self.subscribe(kind, entity)
        try:
            while True:
                delivery = await subscription.next()
                if delivery is not None:
                    yield delivery
        finally:
            subscription.close()

    def stop(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def _start(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            settings = self._settings
            client = mqtt.Client(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id=f"{PLATFORM_CLIENT_ID_PREFIX}api-events-{uuid.uuid4().hex[:12]}",
                protocol=mqtt.MQTTv311,
            )
            if settings.mqtt_username:
                client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
            client.on_connect = self._on_connect
            client.on_disconnect = self._on_disconnect
            client.on_message = self._on_message
            client.reconnect_delay_set(min_delay=1, max_delay=10)
            client.connect_async(settings.mqtt_host, settings.mqtt_port, settings.mqtt_keepalive)
            client.loop_start()
            self._client = client

    # --- paho callbacks (network thread) -----------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: object, _flags: object, reason: object, _p: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            logger.error("MQTT broker refused the live events reader: %s", reason)
            return
        client.subscribe(events_filter(self._settings.domain), qos=0)
        client.on_subscribe = lambda *_: self.subscribed.set()

    def _on_disconnect(self, *_: object) -> None:
        self.subscribed.clear()

    def _on_message(
        self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        kind = kind_of_topic(self._settings.domain, message.topic)
        loop = self._loop
        if kind is None or loop is None:
            return
        try:
            events = decode_events(kind, message.payload)
        except ValueError:
            logger.warning("unreadable live event message on %s", message.topic)
            return
        if events:
            with contextlib.suppress(RuntimeError):  # a closed loop: the app is stopping
                loop.call_soon_threadsafe(self.dispatch, events)
