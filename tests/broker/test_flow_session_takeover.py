"""Issue 11, findings 1 and 7, as they were found, against Mosquitto started with the
configuration `pepeunit broker mosquitto-conf` generates (and the generated ACL file) and
against the embedded broker of `pepeunit up`:

1. clients that take the dataflow's predictable client id (`pepeunit-flow-p0`) with a
   persistent session during a stream pushed it off and the messages delivered to them were
   lost; on the embedded broker any unit token could do it, and the flow then stayed deaf;
7. a client that joined the default shared-subscription group (`$share/pepeunit/...`) took a
   share of the messages, never stored.

Each stream is 1 000 numbered messages from a unit; every one must reach the flow's log exactly
once. And when a session is lost anyway (here: another client with the platform's own
credentials and the flow's id), the flow notices, reconnects, counts and logs it, and hears
again.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from control_plane.embedded_broker import start_embedded_broker
from control_plane.services.broker.mosquitto_acl import sync_mosquitto_acl
from control_plane.services.broker.mosquitto_conf import MosquittoConf, render_mosquitto_conf
from tests.broker.conftest import BrokerWorld
from tests.broker.flow_harness import (
    Client,
    Intruders,
    flow_settings,
    running_intake,
    wait_flow_hears,
    wait_until,
)
from tests.broker.matrix import DOMAIN
from tests.services.mosquitto import MosquittoServer, running_mosquitto
from tests.services.ports import LOOPBACK, free_loopback_port

STREAM = 1_000
EXPECTED = sorted(f"m{index}" for index in range(STREAM))
PREDICTABLE_CLIENT_ID = "pepeunit-flow-p0"
"""The flow's client id before: `PU_FLOW_CLIENT_ID`'s old default and partition 0."""
GUESSABLE_GROUP = "pepeunit"
"""`PU_FLOW_SHARED_GROUP`'s old default."""
FLOW_FILTERS = (f"{DOMAIN}/+/pepeunit", f"{DOMAIN}/+", f"{DOMAIN}/output_base_topic/+/+/pepeunit")


@dataclass(frozen=True)
class Broker:
    kind: str
    host: str
    port: int
    log_path: Path | None = None


@pytest.fixture(scope="module")
def mosquitto(world: BrokerWorld) -> Iterator[Broker]:
    acl_file = world.root / "acl" / "pepeunit.acl"
    sync_mosquitto_acl(world.settings, world.engine, acl_file)

    def generated(server: MosquittoServer) -> str:
        return render_mosquitto_conf(
            MosquittoConf(
                acl_file=acl_file,
                listen_host=server.host,
                listen_port=server.port,
                persistence_location=world.root / "mosquitto-db",
                log_dest=f"file {server.log_path}",
            )
        )

    with running_mosquitto(world.root / "mosquitto", config_text=generated) as server:
        yield Broker("mosquitto", server.host, server.port, server.log_path)


@pytest.fixture(scope="module")
def embedded(world: BrokerWorld) -> Iterator[Broker]:
    port = free_loopback_port()
    with start_embedded_broker(world.settings, world.session_factory, host=LOOPBACK, port=port):
        yield Broker("embedded", LOOPBACK, port)


@pytest.fixture(params=["mosquitto", "embedded"])
def broker(request: pytest.FixtureRequest) -> Broker:
    return request.getfixturevalue(request.param)


def unit_client(world: BrokerWorld, broker: Broker) -> Client:
    """Unit A as the reference client connects: client id = its uuid, username = its token."""
    unit = world.matrix.a
    return Client(broker.host, broker.port, unit.token, str(unit.uuid), clean_session=True)


def test_flow_session_takeover_by_anonymous_and_unit_loses_nothing(
    world: BrokerWorld, broker: Broker, tmp_path: Path
):
    """Finding 1: intruders with the predictable id, and (on the embedded broker, which can
    refuse them) a unit with the flow's real id, hold on during the stream."""
    settings = flow_settings(world.settings, broker.host, broker.port)
    unit_token = world.matrix.a.token
    topic = world.matrix.a.own_output_topic
    with running_intake(settings, tmp_path, partition=0) as flow:
        flow_id = flow.settings.client_id
        assert flow_id != PREDICTABLE_CLIENT_ID and flow_id.startswith("pepeunit-flow-")
        unit = unit_client(world, broker).start()
        wait_flow_hears(flow, unit, topic)
        claims = [(None, PREDICTABLE_CLIENT_ID), (unit_token, PREDICTABLE_CLIENT_ID)]
        if broker.kind == "embedded":
            claims.append((unit_token, flow_id))
        intruders = Intruders(
            [
                lambda username=username, client_id=client_id: Client(
                    broker.host, broker.port, username, client_id, subscribe=FLOW_FILTERS
                )
                for username, client_id in claims
            ],
            start_at=STREAM // 10,
        )
        try:
            unit.publish_stream(topic, STREAM, on_the_way=intruders)
            wait_until(lambda: len(flow.payloads()) >= STREAM)
        finally:
            intruders.stop()
            unit.stop()
        assert sorted(flow.payloads()) == EXPECTED
        assert flow.progress.reconnects.value == 0
        assert flow.progress.sessions_lost.value == 0
        for intruder in intruders.started:
            assert intruder.received == []
            if broker.kind == "embedded":
                assert intruder.connacks and not intruder.accepted, intruder.connacks


def test_a_client_in_the_default_shared_group_gets_nothing(
    world: BrokerWorld, mosquitto: Broker, tmp_path: Path
):
    """Finding 7 on Mosquitto (amqtt has no shared subscriptions): the flow of a two-process
    cluster subscribes through its shared group while an anonymous client and a unit join the
    group that used to be the default."""
    settings = flow_settings(world.settings, mosquitto.host, mosquitto.port)
    topic = world.matrix.a.own_output_topic
    with running_intake(settings, tmp_path, partition=1, processes=2) as flow:
        group = settings.resolved_flow_shared_group
        assert group != GUESSABLE_GROUP
        assert flow.settings.subscriptions == tuple(f"$share/{group}/{f}" for f in FLOW_FILTERS)
        unit = unit_client(world, mosquitto).start()
        wait_flow_hears(flow, unit, topic)
        joined = tuple(f"$share/{GUESSABLE_GROUP}/{topic_filter}" for topic_filter in FLOW_FILTERS)
        intruders = [
            Client(mosquitto.host, mosquitto.port, username, client_id, subscribe=joined).start()
            for username, client_id in [(None, "joiner-anon"), (world.matrix.a.token, "joiner")]
        ]
        try:
            wait_until(lambda: all(intruder.subacks for intruder in intruders))
            unit.publish_stream(topic, STREAM, on_the_way=lambda _index: None)
            wait_until(lambda: len(flow.payloads()) >= STREAM)
        finally:
            for intruder in intruders:
                intruder.stop()
            unit.stop()
        assert sorted(flow.payloads()) == EXPECTED
        assert [intruder.received for intruder in intruders] == [[], []]


def test_a_unit_cannot_join_a_shared_group_on_the_embedded_broker(
    world: BrokerWorld, embedded: Broker
):
    group = world.settings.resolved_flow_shared_group
    unit = Client(
        embedded.host,
        embedded.port,
        world.matrix.a.token,
        "joiner",
        subscribe=(f"$share/{group}/{DOMAIN}/+/pepeunit", f"$share/{GUESSABLE_GROUP}/#"),
    ).start()
    anonymous = Client(embedded.host, embedded.port, None, "joiner-anon").start()
    try:
        wait_until(lambda: len(unit.subacks) == 2)
        assert all(reason.is_failure for reason in unit.subacks), unit.subacks
        assert not anonymous.accepted
    finally:
        unit.stop()
        anonymous.stop()


def test_a_lost_session_is_noticed_counted_and_resumed(
    world: BrokerWorld, broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """A client with the platform's own credentials and the flow's id, clean session: on
    Mosquitto it pushes the flow off and discards its session; on amqtt it drops the session
    under the still-connected flow (which then hears nothing). Either way the flow reconnects,
    says so (metric + error log) and hears everything published afterwards."""
    settings = flow_settings(world.settings, broker.host, broker.port)
    topic = world.matrix.a.own_output_topic
    caplog.set_level(logging.WARNING, logger="pepeunit.flow.intake")
    with running_intake(settings, tmp_path, partition=2, deaf_after_s=1.0) as flow:
        unit = unit_client(world, broker).start()
        wait_flow_hears(flow, unit, topic)
        twin = Client(
            broker.host, broker.port, settings.mqtt_username, flow.settings.client_id,
            clean_session=True,
        ).start()  # fmt: skip
        assert twin.accepted
        twin.stop()
        progress = flow.progress
        wait_until(
            lambda: (
                progress.sessions_lost.value + progress.deaf_reconnects.value >= 1
                and progress.connected.value == 1
            )
        )
        wait_flow_hears(flow, unit, topic)
        try:
            unit.publish_stream(topic, STREAM // 5, on_the_way=lambda _index: None)
            wait_until(lambda: len(flow.payloads()) >= STREAM // 5)
        finally:
            unit.stop()
        assert sorted(flow.payloads()) == sorted(f"m{index}" for index in range(STREAM // 5))
        assert progress.reconnects.value >= 1
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("session" in message for message in errors), errors


def test_mosquitto_logs_carry_no_unit_token(world: BrokerWorld, mosquitto: Broker):
    """Finding 10: with the generated configuration, connecting units leave no token in the
    broker's log."""
    unit = unit_client(world, mosquitto).start()
    unit.publish(world.matrix.a.own_output_topic, "hello")
    unit.stop()
    assert mosquitto.log_path is not None
    log = mosquitto.log_path.read_text()
    assert "mosquitto version" in log
    assert world.matrix.a.token not in log
