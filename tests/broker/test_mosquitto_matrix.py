"""The matrix on a real Mosquitto configured as docs/operations.md#mosquitto says
(`allow_anonymous true` + the generated `acl_file`), with paho clients logging in as each agent.

Mosquitto checks `read` per delivered message (it grants every SUBSCRIBE), so a subscription is
judged by what it delivers: exactly the topics the agent may subscribe to that the filter
matches. "Not delivered" is decided without sleeping where possible: a sentinel sent after the
probes arrives after them on the same subscription.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from control_plane.services.broker.changes import broker_access_changed
from control_plane.services.broker.mosquitto_acl import sync_mosquitto_acl
from pepeunit_core.db.models import Unit
from tests.broker.conftest import BrokerWorld
from tests.broker.matrix import (
    AGENTS,
    DOMAIN,
    PUBLISH,
    SUBSCRIBE,
    add_matrix_unit,
    expected_allowed,
    filter_matches,
    probe_topics,
    subscription_filters,
)
from tests.broker.mqtt_client import MqttClient, Received, connected_client
from tests.services.mosquitto import MosquittoServer, running_mosquitto

GRACE_S = 0.5
"""How long clients with no readable topic at all get after the sentinels reached the others."""
RELOAD_TIMEOUT_S = 10.0
SENTINEL_TOPIC = f"{DOMAIN}/sentinel"


@dataclass(frozen=True)
class AclBroker:
    server: MosquittoServer
    acl_file: Path
    pid_file: Path


@pytest.fixture(scope="module")
def broker(world: BrokerWorld) -> Iterator[AclBroker]:
    acl_file, pid_file = world.root / "acl" / "pepeunit.acl", world.root / "mosquitto.pid"
    sync_mosquitto_acl(world.settings, world.engine, acl_file)
    config = [f"acl_file {acl_file}", f"pid_file {pid_file}"]
    with running_mosquitto(world.root / "mosquitto", config, allow_anonymous=True) as server:
        yield AclBroker(server, acl_file, pid_file)


def client(broker: AclBroker, username: str | None) -> MqttClient:
    connected = connected_client(broker.server.host, broker.server.port, username)
    assert not connected.connect_reason.is_failure, connected.connect_reason
    return connected


def payload_is(text: str):
    return lambda message: message.payload == text


def test_only_allowed_publishes_are_delivered(world: BrokerWorld, broker: AclBroker):
    matrix = world.matrix
    backend = matrix.usernames["backend"]
    subscriber, sentinels = client(broker, backend), client(broker, backend)
    subscriber.subscribe("#")
    topics = probe_topics(matrix)
    refused: set[tuple[str, str]] = set()
    for agent in AGENTS:
        publisher = client(broker, matrix.usernames[agent])
        for topic in topics:
            reason = publisher.publish(topic, f"{agent}|{topic}")
            if reason is not None and reason.is_failure:
                refused.add((agent, topic))
        publisher.close()
        # Every probe was acknowledged, so it is queued to the subscriber before this.
        sentinels.publish(SENTINEL_TOPIC, f"sentinel|{agent}")
        assert subscriber.wait_for(payload_is(f"sentinel|{agent}"))

    delivered = {
        tuple(message.payload.split("|", 1))
        for message in subscriber.messages()
        if message.topic != SENTINEL_TOPIC
    }
    every = {(agent, topic) for agent in AGENTS for topic in topics}
    allowed = {case for case in every if expected_allowed(matrix, *case, PUBLISH)}
    assert len(allowed) == 2 * 4 + len(topics)  # A's 4 and B's 4, the backend's all
    assert delivered == allowed
    assert refused == every - allowed  # MQTT v5 PUBACK: "Not authorized"
    subscriber.close()
    sentinels.close()


def test_subscriptions_deliver_only_allowed_topics(world: BrokerWorld, broker: AclBroker):
    matrix = world.matrix
    filters = subscription_filters(matrix)
    topics = probe_topics(matrix)
    subscribers = {agent: client(broker, matrix.usernames[agent]) for agent in AGENTS}
    for subscriber in subscribers.values():
        for subscription_id, topic_filter in enumerate(filters, start=1):
            subscriber.subscribe(topic_filter, subscription_id)

    publisher = client(broker, matrix.usernames["backend"])
    for topic in topics:
        publisher.publish(topic, f"probe|{topic}")
    for unit in (matrix.a, matrix.b):
        publisher.publish(unit.own_input_topic, "sentinel")
    assert subscribers["A"].wait_for(payload_is("sentinel"))
    assert subscribers["B"].wait_for(payload_is("sentinel"))
    last_sentinel = matrix.b.own_input_topic
    assert subscribers["backend"].wait_for(
        lambda message: message.payload == "sentinel" and message.topic == last_sentinel
    )
    time.sleep(GRACE_S)

    def deliveries(messages: list[Received]) -> set[tuple[str, str]]:
        return {
            (filters[subscription_id - 1], message.topic)
            for message in messages
            if message.payload.startswith("probe|")
            for subscription_id in message.subscription_ids
        }

    # A shared group hands each message to one member: whoever else joined the group with the
    # same name may get it instead (or, if it may not read it, nobody does). So shared filters
    # must deliver nothing unexpected, and plain filters exactly what is expected.
    wrong = {}
    for agent, subscriber in subscribers.items():
        expected = {
            (topic_filter, topic)
            for topic_filter in filters
            for topic in topics
            if filter_matches(topic_filter, topic)
            and expected_allowed(matrix, agent, topic, SUBSCRIBE)
        }
        got = deliveries(subscriber.messages())
        unexpected = got - expected
        missing = {(f, topic) for f, topic in expected - got if not f.startswith("$share/")}
        if unexpected or missing:
            wrong[agent] = {"missing": missing, "unexpected": unexpected}
    assert wrong == {}
    assert deliveries(subscribers["A"].messages()) >= {
        ("#", matrix.a.own_input_topic),
        (f"{DOMAIN}/+/pepeunit", matrix.a.own_input_topic),
    }  # a wildcard delivers the unit's own topics, never another's

    sys_readers = {
        agent
        for agent, subscriber in subscribers.items()
        if any(message.topic.startswith("$SYS/") for message in subscriber.messages())
    }
    assert sys_readers == {"backend"}
    for subscriber in [*subscribers.values(), publisher]:
        subscriber.close()


def published_and_delivered(
    publisher: MqttClient, topic: str, payload: str, watcher: MqttClient, sentinels: MqttClient
) -> bool:
    """Publishes, then a sentinel after the PUBACK; whether the watcher got the payload."""
    publisher.publish(topic, payload)
    sentinels.publish(SENTINEL_TOPIC, f"sentinel|{payload}")
    assert watcher.wait_for(payload_is(f"sentinel|{payload}"))
    return any(message.payload == payload for message in watcher.messages())


def eventually(check, timeout: float = RELOAD_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        if check(attempt):
            return True
        time.sleep(0.1)
    return False


def test_a_rewritten_acl_applies_to_connected_clients_after_sighup(
    world: BrokerWorld, broker: AclBroker
):
    settings = world.settings.model_copy(
        update={"mosquitto_acl_file": broker.acl_file, "mosquitto_pid_file": broker.pid_file}
    )
    backend = world.matrix.usernames["backend"]
    watcher, sentinels = client(broker, backend), client(broker, backend)
    watcher.subscribe("#")
    with world.session_factory() as session:
        newcomer = add_matrix_unit(session, world.matrix.user, world.matrix.repo)
        session.commit()
    device = client(broker, newcomer.token)
    device.subscribe(newcomer.own_input_topic)
    output = newcomer.own_output_topic
    assert not published_and_delivered(device, output, "before", watcher, sentinels)

    with world.session_factory() as session:
        broker_access_changed(session, settings)
    assert newcomer.token in broker.acl_file.read_text()
    assert eventually(
        lambda n: published_and_delivered(device, output, f"after-{n}", watcher, sentinels)
    )
    sentinels.publish(newcomer.own_input_topic, "command")
    assert device.wait_for(payload_is("command"))

    with world.session_factory() as session:
        session.delete(session.get_one(Unit, newcomer.uuid))
        session.commit()
        broker_access_changed(session, settings)
    assert newcomer.token not in broker.acl_file.read_text()
    assert eventually(
        lambda n: not published_and_delivered(device, output, f"gone-{n}", watcher, sentinels)
    )
    sentinels.publish(newcomer.own_input_topic, "too late")
    sentinels.publish(newcomer.own_input_topic, "sentinel")  # the device may not read this
    assert watcher.wait_for(payload_is("sentinel"))
    time.sleep(GRACE_S)
    assert not any(m.payload in ("too late", "sentinel") for m in device.messages())
    for connected in (watcher, sentinels, device):
        connected.close()


def test_a_secret_shared_group_keeps_strangers_from_taking_the_platforms_messages(
    world: BrokerWorld, broker: AclBroker
):
    """Mosquitto's ACL does not check SUBSCRIBE, and gives a shared group's message to one
    member even if that member may not read it (then nobody gets it). A client that joins the
    platform's group therefore takes messages from the dataflow; one that does not know the
    group's name cannot. Hence docs/operations.md#mosquitto: PU_FLOW_SHARED_GROUP is a secret."""
    matrix = world.matrix
    backend = matrix.usernames["backend"]
    node_filter = f"{DOMAIN}/+/pepeunit"
    strangers = [client(broker, matrix.usernames[agent]) for agent in ("anonymous", "A")]
    for stranger in strangers:
        stranger.subscribe(f"$share/pepeunit/{node_filter}")
    known_group, secret_group = client(broker, backend), client(broker, backend)
    known_group.subscribe(f"$share/pepeunit/{node_filter}")
    secret_group.subscribe(f"$share/a7f3c9e1d2b54f60/{node_filter}")
    publisher = client(broker, backend)
    topics = [f"{DOMAIN}/{unit.output_pepeunit}/pepeunit" for unit in (matrix.a, matrix.b)] * 4
    for index, topic in enumerate(topics):
        publisher.publish(topic, f"value-{index}")
    publisher.publish(topics[0], "sentinel")
    assert secret_group.wait_for(payload_is("sentinel"))
    values = {f"value-{index}" for index in range(len(topics))}
    assert {message.payload for message in secret_group.messages()} >= values
    assert len({message.payload for message in known_group.messages()} & values) < len(values)
    for connected in [*strangers, known_group, secret_group, publisher]:
        connected.close()
