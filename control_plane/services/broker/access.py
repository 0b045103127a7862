"""Who may publish and subscribe to which MQTT topic
(docs/compatibility.md#least-privilege-broker-access).

`BrokerAccess.authorize(agent, topic, action)` is the one decision every broker integration
uses (the HTTP hook, the Mosquitto ACL file, the embedded broker):

- a Unit may publish only to its own output node topics and its own
  `{D}/output_base_topic/{unit}/{state|log}/pepeunit`, and subscribe only to its own input node
  topics and its own `{D}/input_base_topic/{unit}/{update|env_update|schema_update|log_sync}/
  pepeunit`. A node topic is `{D}/{node}` plus `/pepeunit` when its template ends so, exactly
  as the unit's schema.json lists it. Topics are compared whole, so no filter with `+` or `#`
  (and no `$share/...` group) ever matches;
- the Backend agent (the platform's own processes, holding a Backend token of this PU_DOMAIN)
  may do anything, `#`, `$SYS/#` and shared subscriptions included;
- everyone else (anonymous, users, invalid or foreign tokens, deleted units, and the units of
  a blocked user) may do nothing.

Cost: the hooks call this per publish and subscribe. Token checks are memoised, and a unit's
allowed topics are kept for `PU_BROKER_ACCESS_CACHE_SECONDS`; `note_broker_access_changed()`
(called after every committed change of units, nodes or a user's blocking) makes every
`BrokerAccess` of the process forget them at once, so the TTL only bounds how long another
process's change takes; it also tells the listeners of `on_broker_access_changed` (the
embedded broker, which then disconnects clients that lost their access).
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from uuid import UUID

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from control_plane.models.broker_auth import Decision
from control_plane.security import (
    ANONYMOUS,
    Agent,
    AgentType,
    TokenClaims,
    TokenError,
    decode_token,
)
from control_plane.services.firmware import (
    CommandTopicName,
    ReportTopicName,
    command_topic,
    node_topic,
    report_topic,
)
from pepeunit_core.db.enums import UnitNodeType, UserStatus
from pepeunit_core.db.models import Unit, UnitNode, User
from pepeunit_core.settings import PLATFORM_CLIENT_ID_PREFIX, Settings

logger = logging.getLogger("pepeunit.broker_access")

MAX_TOKEN_LENGTH = 1024
"""Longer usernames are not tokens of ours (a unit token is ~130 characters); denied unread."""
_TOKEN_MEMO_SIZE = 4096


class BrokerAction(StrEnum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"


# EMQX 5 sends `${action}` as publish/subscribe; EMQX 4's `%A` is 1 (subscribe) or 2 (publish).
_ACTION_NAMES = {
    "publish": BrokerAction.PUBLISH,
    "pub": BrokerAction.PUBLISH,
    "2": BrokerAction.PUBLISH,
    "subscribe": BrokerAction.SUBSCRIBE,
    "sub": BrokerAction.SUBSCRIBE,
    "1": BrokerAction.SUBSCRIBE,
}


def parse_action(name: object) -> BrokerAction | None:
    """The action a broker names (case-insensitive), or None for anything else."""
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str):
        return None
    return _ACTION_NAMES.get(name.strip().lower())


@dataclass(frozen=True)
class UnitTopics:
    """The exact topics one unit may publish to and subscribe to."""

    publish: frozenset[str]
    subscribe: frozenset[str]

    def allows(self, topic: str, action: BrokerAction) -> bool:
        allowed = self.publish if action is BrokerAction.PUBLISH else self.subscribe
        return topic in allowed


@dataclass(frozen=True)
class NodeRow:
    uuid: UUID
    type: UnitNodeType
    topic_name: str


def unit_topics(domain: str, unit_uuid: UUID, nodes: Iterable[NodeRow]) -> UnitTopics:
    """What a unit with these nodes may do; the same topics its schema.json lists."""
    publish = {report_topic(domain, unit_uuid, report) for report in ReportTopicName}
    subscribe = {command_topic(domain, unit_uuid, command) for command in CommandTopicName}
    for node in nodes:
        topic = node_topic(domain, node.uuid, node.topic_name)
        (publish if node.type == UnitNodeType.OUTPUT else subscribe).add(topic)
    return UnitTopics(frozenset(publish), frozenset(subscribe))


UnitTopicsLookup = Callable[[UUID], UnitTopics | None]
"""A unit's allowed topics, or None when no such unit exists."""


def decide(agent: Agent, topic: str, action: BrokerAction, topics_of: UnitTopicsLookup) -> Decision:
    """The broker access decision for an agent whose token was already checked (see module doc)."""
    if agent.type is AgentType.BACKEND:
        return Decision.ALLOW
    if agent.type is AgentType.UNIT and agent.uuid is not None:
        topics = topics_of(agent.uuid)
        if topics is not None and topics.allows(topic, action):
            return Decision.ALLOW
    return Decision.DENY


def _units_with_access() -> Select[tuple[UUID, UUID | None, UnitNodeType | None, str | None]]:
    """Units with their nodes (one row per node, or one without), those of a blocked creator
    left out: a blocked user's units lose every broker right, as if they did not exist."""
    return (
        select(Unit.uuid, UnitNode.uuid, UnitNode.type, UnitNode.topic_name)
        .outerjoin(UnitNode, UnitNode.unit_uuid == Unit.uuid)
        .outerjoin(User, User.uuid == Unit.creator_uuid)
        .where(or_(User.uuid.is_(None), User.status != UserStatus.BLOCKED))
    )


def load_unit_topics(session: Session, domain: str, unit_uuid: UUID) -> UnitTopics | None:
    """One indexed query; None when the unit does not exist or its creator is blocked."""
    rows = session.execute(_units_with_access().where(Unit.uuid == unit_uuid)).all()
    if not rows:
        return None
    nodes = [NodeRow(node, kind, name) for _, node, kind, name in rows if node is not None]
    return unit_topics(domain, unit_uuid, nodes)


def load_all_unit_topics(session: Session, domain: str) -> dict[UUID, UnitTopics]:
    """Every unit's allowed topics (but a blocked user's), by unit uuid in ascending order
    (one query)."""
    rows = session.execute(_units_with_access().order_by(Unit.uuid, UnitNode.uuid)).all()
    nodes_by_unit: dict[UUID, list[NodeRow]] = {}
    for unit, node, kind, name in rows:
        nodes = nodes_by_unit.setdefault(unit, [])
        if node is not None:
            nodes.append(NodeRow(node, kind, name))
    return {unit: unit_topics(domain, unit, nodes) for unit, nodes in nodes_by_unit.items()}


class _AccessChanges:
    """A process-wide counter of committed changes to units, nodes and blocked users, and who
    wants to hear of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0
        self._listeners: list[Callable[[], None]] = []

    def note(self) -> None:
        with self._lock:
            self.generation += 1
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:  # the change is committed; one listener must not stop the rest
                logger.exception("a broker access listener failed")

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop


_changes = _AccessChanges()


def note_broker_access_changed() -> None:
    """Makes every `BrokerAccess` of this process reload the units it has kept, and calls the
    listeners. Call it after the commit (see
    `control_plane.services.broker.changes.broker_access_changed`)."""
    _changes.note()


def on_broker_access_changed(listener: Callable[[], None]) -> Callable[[], None]:
    """Calls `listener` (in the thread that noted the change; it must return quickly) after
    every change noted in this process; returns the function that stops it."""
    return _changes.listen(listener)


@dataclass(frozen=True)
class _Kept:
    topics: UnitTopics | None
    generation: int
    expires_at: float


class BrokerAccess:
    """The broker authorisation of one instance: tokens → agents, and the decision.

    Thread-safe: the HTTP hook calls it from request threads, the embedded broker from its loop.
    `clock` (monotonic seconds) is injectable for tests.
    """

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        *,
        cache_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._domain = settings.domain
        self._secret_key = settings.resolved_secret_key
        self._session_factory = session_factory
        self._cache_seconds = (
            settings.broker_access_cache_seconds if cache_seconds is None else cache_seconds
        )
        self._clock = clock
        self._kept: dict[UUID, _Kept] = {}
        self._platform_client_ids = (PLATFORM_CLIENT_ID_PREFIX, settings.resolved_flow_client_id)

    def agent(self, token: str | None) -> Agent:
        """Who presents `token` (the MQTT username): a Unit (not checked to exist here), the
        Backend of this domain, a User, or anonymous for no token or an invalid or foreign one."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return ANONYMOUS
        claims = _verified_claims(token, self._secret_key)
        if claims is None:
            return ANONYMOUS
        if claims.type is AgentType.BACKEND and claims.domain != self._domain:
            return ANONYMOUS
        return Agent(claims.type, claims.uuid)

    def authorize(self, agent: Agent, topic: str, action: BrokerAction) -> Decision:
        """May `agent` do `action` on `topic` (a topic name to publish, a filter to subscribe)?"""
        return decide(agent, topic, action, self.unit_topics)

    def authorize_token(self, token: str | None, topic: str, action: BrokerAction) -> Decision:
        return self.authorize(self.agent(token), topic, action)

    def is_known(self, agent: Agent) -> bool:
        """Whether the agent may connect at all: the Backend, or a unit that exists and whose
        creator is not blocked."""
        if agent.type is AgentType.BACKEND:
            return True
        return (
            agent.type is AgentType.UNIT
            and agent.uuid is not None
            and self.unit_topics(agent.uuid) is not None
        )

    def is_platform_client_id(self, client_id: str | None) -> bool:
        return bool(client_id) and client_id.startswith(self._platform_client_ids)

    def may_connect(self, token: str | None, client_id: str | None) -> bool:
        """Whether a client may connect as `client_id`, taking over a session of that id (for
        brokers that ask before the take-over): known agents only, and the platform's own
        client ids (`pepeunit-...`, PU_FLOW_CLIENT_ID) only for the Backend, so no unit can
        push the dataflow off its persistent session."""
        if client_id is not None and "\x00" in client_id:  # not an MQTT string
            return False
        agent = self.agent(token)
        if not self.is_known(agent):
            return False
        return agent.type is AgentType.BACKEND or not self.is_platform_client_id(client_id)

    def authorize_client(
        self, token: str | None, client_id: str | None, topic: str, action: BrokerAction
    ) -> Decision:
        """`authorize_token`, and nothing for a client that holds a platform client id
        without being the Backend."""
        if client_id is not None and not self.may_connect(token, client_id):
            return Decision.DENY
        return self.authorize_token(token, topic, action)

    def unit_topics(self, unit_uuid: UUID) -> UnitTopics | None:
        """The unit's allowed topics, kept a while; None for no such unit or a blocked user's,
        and also while the database cannot be read (access fails closed, and that answer is not
        kept)."""
        # Read the generation before the query: a change committed meanwhile invalidates it.
        generation = _changes.generation
        now = self._clock()
        kept = self._kept.get(unit_uuid)
        if kept is not None and kept.generation == generation and now < kept.expires_at:
            return kept.topics
        try:
            with self._session_factory() as session:
                topics = load_unit_topics(session, self._domain, unit_uuid)
        except SQLAlchemyError:
            logger.exception(
                "cannot read unit %s: its broker access is denied meanwhile", unit_uuid
            )
            return None
        if self._cache_seconds > 0:
            self._kept[unit_uuid] = _Kept(topics, generation, now + self._cache_seconds)
        return topics


@lru_cache(maxsize=_TOKEN_MEMO_SIZE)
def _verified_claims(token: str, secret_key: str) -> TokenClaims | None:
    """Memoised: unit and backend tokens never expire, and every other kind is denied anyway
    (an expired user token therefore stays denied, never becomes allowed)."""
    try:
        return decode_token(token, secret_key)
    except (TokenError, ValueError):  # ValueError: text no JWT library can encode (surrogates)
        return None
