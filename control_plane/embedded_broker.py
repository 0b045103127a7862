"""The embedded MQTT broker of `pepeunit up`: amqtt, authorised by `BrokerAccess` in process.

amqtt 0.12 speaks MQTT 3.1.1 only, has no shared subscriptions (`$share/...` is an ordinary,
never-matching filter) and moves about 5 k msg/s at QoS 1 on a quiet core (bench/RESULTS.md);
for more, run Mosquitto or EMQX.

Clients log in as on the reference platform: username = unit (or Backend) token, any password.
Only the Backend of this PU_DOMAIN and existing units of unblocked users may connect
(anonymous, user and wrong tokens get CONNACK "not authorised"); every publish, subscribe and
delivery is then decided by `BrokerAccess.authorize`, so units may use exactly their own topics,
and wildcards only the Backend. When a change of access is noted in this process (a unit
deleted, its user blocked), connected clients that may no longer connect are disconnected.

amqtt acknowledges a QoS 1 PUBLISH when it queues it, and its client loop drops what is still
queued when the client disconnects: a device that publishes a burst and then sleeps would lose
acknowledged messages. `_PepeunitBroker` hands that backlog on before the session ends, and
keeps a broadcast from failing (and losing the message) when subscriptions change during it.

Stock amqtt handles a CONNECT's clean-session and client-id take-over before it authenticates
the client: a stranger reusing a connected client's id drops that client's stored session (and
its subscriptions, leaving it connected but deaf) or inherits it. `_PepeunitBroker` decides
`BrokerAccess.may_connect` first: a client that may not connect, or a unit that claims one of
the platform's client ids, gets CONNACK "not authorised" and touches no session.
"""

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action, BaseContext, BrokerConfig, ListenerConfig, ListenerType
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session as MqttSession
from amqtt.utils import gen_client_id
from sqlalchemy.orm import Session, sessionmaker

from control_plane.services.broker.access import (
    BrokerAccess,
    BrokerAction,
    Decision,
    on_broker_access_changed,
)
from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.embedded_broker")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1883
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0

# A delivery to a subscriber is checked like a subscription to that exact topic.
_ACTIONS = {
    Action.PUBLISH: BrokerAction.PUBLISH,
    Action.SUBSCRIBE: BrokerAction.SUBSCRIBE,
    Action.RECEIVE: BrokerAction.SUBSCRIBE,
}


@dataclass
class _AccessConfig:
    access: Any = None
    """The instance's `BrokerAccess` (typed Any: amqtt type-checks plugin configs)."""


def _access_of(context: BaseContext) -> BrokerAccess:
    access = getattr(context.config, "access", None)
    if not isinstance(access, BrokerAccess):
        raise TypeError("the Pepeunit broker plugins need {'access': BrokerAccess} as config")
    return access


class UnitTokenAuthPlugin(BaseAuthPlugin):
    """Lets in the Backend and existing units (username = token); refuses everyone else."""

    Config = _AccessConfig

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self._access = _access_of(context)

    async def authenticate(self, *, session: MqttSession) -> bool:
        return self._access.is_known(self._access.agent(session.username))


class UnitTopicAccessPlugin(BaseTopicPlugin):
    """Every publish, subscribe and delivery goes through `BrokerAccess.authorize`."""

    Config = _AccessConfig

    def __init__(self, context: BaseContext) -> None:
        super().__init__(context)
        self._access = _access_of(context)

    async def topic_filtering(
        self,
        *,
        session: MqttSession | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool:
        broker_action = _ACTIONS.get(action) if action is not None else None
        if session is None or topic is None or broker_action is None:
            return False
        decision = self._access.authorize_token(session.username, topic, broker_action)
        return decision is Decision.ALLOW


class _SubscriptionsSnapshot(dict[str, list[tuple[MqttSession, int]]]):
    """amqtt's broadcast awaits (authorisation) while it walks `items()`; a client subscribing
    or leaving meanwhile changed the dict under it (RuntimeError, the message lost for the rest
    of the subscribers) or a list (a subscriber skipped). Only that walk uses `items()`: it
    gets a copy."""

    def items(self) -> list[tuple[str, list[tuple[MqttSession, int]]]]:  # type: ignore[override]
        return [(topic_filter, list(subscribers)) for topic_filter, subscribers in super().items()]


class _PepeunitBroker(Broker):
    """amqtt's broker, except that a client's queued PUBLISHes are authorised and broadcast
    when it disconnects, in order, instead of being dropped, and that a broadcast walks a copy
    of the subscriptions."""

    def __init__(self, config: BrokerConfig, access: BrokerAccess) -> None:
        super().__init__(config)
        self._subscriptions = _SubscriptionsSnapshot(self._subscriptions)
        self._access = access
        self._stop_listening: Any = None
        self._sweeper: asyncio.Task[None] | None = None
        self._sweep_again = False

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._stop_listening = on_broker_access_changed(
            lambda: loop.call_soon_threadsafe(self._access_changed)
        )

    async def shutdown(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await super().shutdown()

    def _access_changed(self) -> None:
        """On the loop: sweep now, or once more after the sweep that is running."""
        self._sweep_again = True
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep())

    async def _sweep(self) -> None:
        while self._sweep_again:
            self._sweep_again = False
            try:
                await self._disconnect_revoked()
            except Exception:
                logger.exception("cannot check the connected clients' access")

    async def _disconnect_revoked(self) -> None:
        """Closes the connection of every client that may no longer connect."""
        access = self._access
        for client_id, (session, handler) in list(self._sessions.items()):
            if not session.transitions.is_connected():
                continue
            agent = access.agent(session.username)
            if await asyncio.to_thread(access.is_known, agent):
                continue
            logger.info("disconnecting %s: its access was revoked", client_id)
            session.will_flag = False  # a client cut off has nothing more to say
            await handler.handle_connection_closed()

    async def _client_message_loop(
        self, client_session: MqttSession, handler: BrokerProtocolHandler
    ) -> None:
        disconnected = asyncio.ensure_future(handler.wait_disconnect())
        subscribing = asyncio.ensure_future(handler.get_next_pending_subscription())
        unsubscribing = asyncio.ensure_future(handler.get_next_pending_unsubscription())
        delivering = asyncio.ensure_future(handler.mqtt_deliver_next_message())
        try:
            while True:
                done, _ = await asyncio.wait(
                    (disconnected, subscribing, unsubscribing, delivering),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if subscribing in done:
                    await self._handle_subscription(client_session, handler, subscribing)
                    subscribing = asyncio.ensure_future(handler.get_next_pending_subscription())
                if unsubscribing in done:
                    await self._handle_unsubscription(client_session, handler, unsubscribing)
                    unsubscribing = asyncio.ensure_future(handler.get_next_pending_unsubscription())
                if delivering in done:
                    if not await self._handle_message_delivery(client_session, handler, delivering):
                        return  # a protocol violation: amqtt closes the connection
                    delivering = asyncio.ensure_future(handler.mqtt_deliver_next_message())
                if disconnected in done:
                    await self._deliver_backlog(client_session, handler, delivering)
                    await self._handle_disconnect(client_session, handler, disconnected)
                    return
        except asyncio.CancelledError:
            logger.debug("client loop of %s cancelled", client_session.client_id)
        finally:
            waiters = (disconnected, subscribing, unsubscribing, delivering)
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _deliver_backlog(
        self,
        client_session: MqttSession,
        handler: BrokerProtocolHandler,
        delivering: "asyncio.Future[Any]",
    ) -> None:
        """The message `delivering` may have taken already, then the rest of the queue."""
        delivering.cancel()  # amqtt's getter answers a cancellation with None
        await asyncio.gather(delivering, return_exceptions=True)
        backlog: list[Any] = []
        if not delivering.cancelled() and delivering.exception() is None:
            backlog.append(delivering.result())
        queue = client_session.delivered_message_queue
        while not queue.empty():
            backlog.append(queue.get_nowait())
        if backlog:
            logger.debug("%s disconnected with %d queued messages; delivering them",
                         client_session.client_id, len(backlog))  # fmt: skip
        for message in backlog:
            if message is None:
                continue
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            done.set_result(message)
            await self._handle_message_delivery(client_session, handler, done)

    async def _initialize_client_session(
        self, reader: ReaderAdapter, writer: WriterAdapter, remote_address: str, remote_port: int
    ) -> tuple[BrokerProtocolHandler, MqttSession]:
        """amqtt's, with `BrokerAccess.may_connect` decided before any session is looked up,
        deleted or taken over."""
        try:
            handler, session = await BrokerProtocolHandler.init_from_connect(
                reader, writer, self.plugins_manager
            )
        except (AMQTTError, MQTTError, NoDataError) as error:
            logger.warning("unreadable CONNECT from %s:%s: %s", remote_address, remote_port, error)
            await writer.close()
            raise AMQTTError(error) from error
        if not self._access.may_connect(session.username, session.client_id):
            logger.warning(
                "refused %s:%s connecting as client id %r (not a known agent, or a platform "
                "client id without the Backend token)",
                remote_address,
                remote_port,
                session.client_id,
            )
            session.parent = 0
            handler.attach(session, reader, writer)
            await handler.mqtt_connack_authorize(False)
            await writer.close()
            raise AMQTTError("connection refused")
        if session.clean_session:
            if session.client_id:
                await self._delete_session(session.client_id)
            else:
                session.client_id = gen_client_id()
            session.parent = 0
        elif session.client_id in self._sessions:
            # the new connection may bring new settings and credentials (as amqtt does)
            existing, _ = self._sessions[session.client_id]
            existing.will_flag = session.will_flag
            existing.will_message = session.will_message
            existing.will_topic = session.will_topic
            existing.will_qos = session.will_qos
            existing.keep_alive = session.keep_alive
            existing.username = session.username
            existing.password = session.password
            session = existing
            session.parent = 1
        else:
            session.parent = 0
        delay = self.config.get("timeout-disconnect-delay", 0)
        if session.keep_alive > 0 and isinstance(delay, int):
            session.keep_alive += delay
        return handler, session


def embedded_broker_config(access: BrokerAccess, host: str, port: int) -> BrokerConfig:
    """One TCP listener and only the Pepeunit plugins (no anonymous access, no `$SYS`)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    plugin_config = {"access": access}
    return BrokerConfig(
        listeners={"default": ListenerConfig(type=ListenerType.TCP, bind=bind)},
        plugins={
            f"{__name__}.{UnitTokenAuthPlugin.__name__}": plugin_config,
            f"{__name__}.{UnitTopicAccessPlugin.__name__}": plugin_config,
        },
    )


async def serve_embedded_broker(access: BrokerAccess, host: str, port: int) -> Broker:
    """Starts the broker on the running event loop and returns it listening; stop it with
    `await broker.shutdown()`. Quietens the `transitions` library amqtt uses (it logs every
    session state change at INFO)."""
    logging.getLogger("transitions").setLevel(logging.WARNING)
    broker = _PepeunitBroker(embedded_broker_config(access, host, port), access)
    await broker.start()
    logger.info("embedded MQTT broker listening on %s:%d", host, port)
    return broker


class EmbeddedBroker:
    """The broker in a thread with an event loop of its own, for synchronous callers.

    `start()` returns once it listens (or raises why it could not); `stop()` shuts it down. As a
    context manager it starts (unless started already) and stops.
    """

    def __init__(
        self, access: BrokerAccess, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
    ) -> None:
        self.access = access
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Broker | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        if self._thread is not None:
            raise RuntimeError("the embedded broker was started already")
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"the embedded broker did not start within {timeout} s")
        if self._start_error is not None:
            self._thread.join()
            raise RuntimeError(
                f"the embedded broker cannot listen on {self.host}:{self.port}"
            ) from self._start_error

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        loop, broker, thread = self._loop, self._broker, self._thread
        if loop is None or broker is None or thread is None or not thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def __enter__(self) -> "EmbeddedBroker":
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._broker = loop.run_until_complete(
                serve_embedded_broker(self.access, self.host, self.port)
            )
        except BaseException as error:
            self._start_error = error
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()


def start_embedded_broker(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    access: BrokerAccess | None = None,
) -> EmbeddedBroker:
    """Starts the embedded broker on `host:port` (in its own thread) and returns it listening.

    It authorises clients against the units of `session_factory`'s database, as decided by
    `BrokerAccess` (pass `access` to share one with the API of the same process; changes
    committed through the control plane services apply at once either way). The platform's own
    processes connect with the Backend token as username (`pepeunit broker token`). Call
    `.stop()` (or use it as a context manager) to shut it down:

        broker = start_embedded_broker(settings, session_factory, port=settings.mqtt_port)
        ...
        broker.stop()
    """
    broker = EmbeddedBroker(access or BrokerAccess(settings, session_factory), host, port)
    broker.start()
    return broker
