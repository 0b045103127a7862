"""The matrix on the embedded broker of `pepeunit up` (amqtt, MQTT 3.1.1), whose plugins ask
`BrokerAccess` in process: only the Backend and existing units may connect, SUBSCRIBE is
refused (SUBACK 0x80) for anything a unit may not read, wildcards included, and only allowed
publishes are delivered. Changes committed in the same process apply at once (a deleted unit
is disconnected).
"""

import threading
import time
from collections.abc import Iterator
from uuid import uuid4

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import delete

from control_plane.embedded_broker import EmbeddedBroker, start_embedded_broker
from control_plane.security import make_unit_token
from control_plane.services.broker.changes import broker_access_changed
from pepeunit_core.db.models import Unit, UnitNode
from tests.broker.conftest import BrokerWorld
from tests.broker.matrix import (
    AGENTS,
    CONNECTING_AGENTS,
    DOMAIN,
    PUBLISH,
    SECRET_KEY,
    SUBSCRIBE,
    add_matrix_unit,
    expected_allowed,
    probe_topics,
    subscription_filters,
)
from tests.broker.mqtt_client import MqttClient, connected_client
from tests.services.ports import LOOPBACK, free_loopback_port

SENTINEL_TOPIC = f"{DOMAIN}/sentinel"
GRACE_S = 0.5


@pytest.fixture(scope="module")
def embedded(world: BrokerWorld) -> Iterator[EmbeddedBroker]:
    port = free_loopback_port()
    broker = start_embedded_broker(world.settings, world.session_factory, host=LOOPBACK, port=port)
    with broker:
        yield broker


def attempt(broker: EmbeddedBroker, username: str | None) -> MqttClient:
    return connected_client(broker.host, broker.port, username, protocol=mqtt.MQTTv311)


def client(broker: EmbeddedBroker, username: str | None) -> MqttClient:
    connected = attempt(broker, username)
    assert not connected.connect_reason.is_failure, connected.connect_reason
    return connected


def payload_is(text: str):
    return lambda message: message.payload == text


def test_only_the_backend_and_existing_units_may_connect(
    world: BrokerWorld, embedded: EmbeddedBroker
):
    reasons = {}
    for agent in AGENTS:
        connection = attempt(embedded, world.matrix.usernames[agent])
        reasons[agent] = str(connection.connect_reason)
        connection.close()
    assert reasons == {
        agent: "Success" if agent in CONNECTING_AGENTS else "Not authorized" for agent in AGENTS
    }


def test_only_allowed_publishes_are_delivered(world: BrokerWorld, embedded: EmbeddedBroker):
    matrix = world.matrix
    subscriber = client(embedded, matrix.usernames["backend"])
    subscriber.subscribe("#")
    topics = probe_topics(matrix)
    sentinel_topics = {
        "A": matrix.a.own_output_topic,
        "B": matrix.b.own_output_topic,
        "backend": SENTINEL_TOPIC,
    }
    for agent in CONNECTING_AGENTS:
        publisher = client(embedded, matrix.usernames[agent])
        for topic in topics:
            publisher.publish(topic, f"{agent}|{topic}")
        # Same publisher, same order: the sentinel arrives after every delivered probe.
        publisher.publish(sentinel_topics[agent], f"sentinel|{agent}")
        assert subscriber.wait_for(payload_is(f"sentinel|{agent}"))
        publisher.close()

    delivered = {
        tuple(message.payload.split("|", 1))
        for message in subscriber.messages()
        if not message.payload.startswith("sentinel|")
    }
    allowed = {
        (agent, topic)
        for agent in CONNECTING_AGENTS
        for topic in topics
        if expected_allowed(matrix, agent, topic, PUBLISH)
    }
    assert len(allowed) == 2 * 4 + len(topics)
    assert delivered == allowed
    subscriber.close()


def test_subscribe_is_refused_for_what_may_not_be_read(
    world: BrokerWorld, embedded: EmbeddedBroker
):
    matrix = world.matrix
    filters = subscription_filters(matrix)
    topics = probe_topics(matrix)
    subscribers = {agent: client(embedded, matrix.usernames[agent]) for agent in CONNECTING_AGENTS}
    wrong_subacks = {}
    for agent, subscriber in subscribers.items():
        for topic_filter in filters:
            granted = not subscriber.subscribe(topic_filter).is_failure
            if granted != expected_allowed(matrix, agent, topic_filter, SUBSCRIBE):
                wrong_subacks[(agent, topic_filter)] = granted
    assert wrong_subacks == {}

    publisher = client(embedded, matrix.usernames["backend"])
    for topic in topics:
        publisher.publish(topic, f"probe|{topic}")
    publisher.publish(matrix.a.own_input_topic, "sentinel")
    publisher.publish(matrix.b.own_input_topic, "sentinel")
    last = matrix.b.own_input_topic
    assert subscribers["A"].wait_for(payload_is("sentinel"))
    assert subscribers["B"].wait_for(payload_is("sentinel"))
    assert subscribers["backend"].wait_for(
        lambda message: message.payload == "sentinel" and message.topic == last
    )

    def probes_received(agent: str) -> set[str]:
        messages = subscribers[agent].messages()
        return {message.topic for message in messages if message.payload.startswith("probe|")}

    for agent in ("A", "B"):
        readable = {topic for topic in topics if expected_allowed(matrix, agent, topic, SUBSCRIBE)}
        assert probes_received(agent) == readable
    assert probes_received("backend") == set(topics)
    for connected in [*subscribers.values(), publisher]:
        connected.close()


def test_changes_committed_in_process_apply_at_once(world: BrokerWorld, embedded: EmbeddedBroker):
    matrix, settings = world.matrix, world.settings
    backend = client(embedded, matrix.usernames["backend"])
    backend.subscribe("#")
    unit_uuid = uuid4()
    token = make_unit_token(unit_uuid, SECRET_KEY)
    refused = attempt(embedded, token)
    assert str(refused.connect_reason) == "Not authorized"
    refused.close()

    with world.session_factory() as session:
        newcomer = add_matrix_unit(session, matrix.user, matrix.repo, unit_uuid)
        session.commit()
        not_yet = attempt(embedded, token)  # the unknown unit is remembered for a while...
        assert str(not_yet.connect_reason) == "Not authorized"
        not_yet.close()
        broker_access_changed(session, settings)  # ...unless this process changed it
    device = client(embedded, token)
    update_topic = f"{DOMAIN}/input_base_topic/{unit_uuid}/update/pepeunit"
    for topic in (newcomer.own_input_topic, update_topic):
        assert not device.subscribe(topic).is_failure
    device.publish(newcomer.own_output_topic, "first")
    assert backend.wait_for(payload_is("first"))
    backend.publish(newcomer.own_input_topic, "command")
    assert device.wait_for(payload_is("command"))

    with world.session_factory() as session:
        session.execute(delete(UnitNode).where(UnitNode.uuid == newcomer.input_pepeunit))
        session.commit()
        broker_access_changed(session, settings)
    backend.publish(newcomer.own_input_topic, "no longer yours")
    device.publish(newcomer.own_output_topic, "still mine")
    assert backend.wait_for(payload_is("still mine"))
    backend.publish(update_topic, "update")
    assert device.wait_for(payload_is("update"))
    assert not any(message.payload == "no longer yours" for message in device.messages())

    with world.session_factory() as session:
        session.execute(delete(Unit).where(Unit.uuid == unit_uuid))
        session.commit()
        broker_access_changed(session, settings)
    assert device.disconnected.wait(5), "a deleted unit stays connected"
    gone = attempt(embedded, token)
    assert str(gone.connect_reason) == "Not authorized"
    for connected in (gone, device, backend):
        connected.close()


BURST = 3_000


def churn_subscriptions(broker: EmbeddedBroker, username: str, stop: threading.Event) -> None:
    """Adds a subscription to a new filter every half millisecond or so, and now and then drops
    a subscriber, until `stop`: the subscriptions keep changing while messages are broadcast."""
    churner = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    churner.username_pw_set(username, "")
    churner.connect(broker.host, broker.port)
    churner.loop_start()
    number = 0
    while not stop.is_set():
        churner.subscribe(f"{DOMAIN}/churn/{number}", qos=1)
        number += 1
        if number % 200 == 0:
            passer_by = client(broker, username)
            passer_by.subscribe(f"{DOMAIN}/passer-by/{number}/#")
            passer_by.close()
        time.sleep(0.0005)
    churner.disconnect()
    churner.loop_stop()


def test_a_burst_acknowledged_before_a_disconnect_is_delivered_in_full(
    world: BrokerWorld, embedded: EmbeddedBroker
):
    """amqtt acknowledges a QoS 1 PUBLISH when it queues it: a unit that disconnects right after
    its last PUBACK (a device going to sleep) must not lose what the broker still had queued,
    nor lose a message because other clients (un)subscribe while it is broadcast."""
    matrix = world.matrix
    topic = matrix.a.own_output_topic
    # a matching filter ahead of the subscriber's: amqtt broadcasts along the filters in order
    onlooker = client(embedded, matrix.usernames["backend"])
    onlooker.subscribe(f"{DOMAIN}/#")
    subscriber = client(embedded, matrix.usernames["backend"])
    subscriber.subscribe(topic)
    churning = threading.Event()
    churner = threading.Thread(
        target=churn_subscriptions, args=(embedded, matrix.usernames["backend"], churning)
    )
    churner.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    publisher.username_pw_set(matrix.usernames["A"], "")
    publisher.max_inflight_messages_set(100)
    publisher.connect(embedded.host, embedded.port)
    publisher.loop_start()
    infos = [publisher.publish(topic, f"burst-{number}", qos=1) for number in range(BURST)]
    for info in infos:
        info.wait_for_publish(30)
    publisher.disconnect()
    publisher.loop_stop()
    try:
        assert subscriber.wait_for(payload_is(f"burst-{BURST - 1}"), timeout=60)
        burst = [m.payload for m in subscriber.messages() if m.payload.startswith("burst-")]
    finally:
        churning.set()
        churner.join()
        subscriber.close()
        onlooker.close()
    assert burst == [f"burst-{number}" for number in range(BURST)]
