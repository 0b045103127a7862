"""Blocking a user cuts off their units on both brokers at once (issue 11.6), connections made
before the block included, and unblocking gives them back; another user's unit is untouched.

- the embedded broker (amqtt) disconnects the blocked user's connected units, refuses their new
  connections, and lets them in again after the unblock;
- Mosquitto configured as docs/operations.md#mosquitto says (`allow_anonymous true` + the
  generated `acl_file`, reloaded by SIGHUP to the pid in `pid_file`) gets an ACL without the
  blocked user's unit tokens: their connected sessions may neither publish nor receive any
  more (Mosquitto cannot be told to close them), and get their rights back after the unblock.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import paho.mqtt.client as mqtt
import pytest

from control_plane.embedded_broker import start_embedded_broker
from control_plane.services.broker.access import note_broker_access_changed
from control_plane.services.broker.mosquitto_acl import sync_mosquitto_acl
from control_plane.services.users import users
from pepeunit_core.db.enums import UserRole, UserStatus
from pepeunit_core.db.models import User
from pepeunit_core.settings import Settings
from tests.broker.conftest import BrokerWorld
from tests.broker.matrix import DOMAIN, MatrixUnit, add_matrix_unit
from tests.broker.mqtt_client import MqttClient, connected_client
from tests.pepeunit_core.builders import add_registry, add_repo, add_user
from tests.services.mosquitto import running_mosquitto
from tests.services.ports import LOOPBACK, free_loopback_port

GRACE_S = 0.5
"""How long a message that must not arrive gets after a later one arrived on another path."""
TIMEOUT_S = 10.0
SENTINEL_TOPIC = f"{DOMAIN}/sentinel"


@dataclass(frozen=True)
class People:
    admin_uuid: UUID
    blocked_uuid: UUID
    """The matrix user, creator of units A and B."""
    bystander: MatrixUnit
    """A unit of another user, which must keep working."""


@pytest.fixture(scope="module")
def people(world: BrokerWorld) -> People:
    with world.session_factory() as session:
        admin = add_user(session)
        admin.role = UserRole.ADMIN
        other = add_user(session)
        repo = add_repo(session, other, add_registry(session, other))
        bystander = add_matrix_unit(session, other, repo)
        session.commit()
        return People(admin.uuid, world.matrix.user.uuid, bystander)


@pytest.fixture(autouse=True)
def unblocked_afterwards(world: BrokerWorld, people: People) -> Iterator[None]:
    """A failed test must not leave the next one with a blocked user."""
    yield
    with world.session_factory() as session:
        session.get_one(User, people.blocked_uuid).status = UserStatus.UNVERIFIED
        session.commit()
    note_broker_access_changed()


def set_blocked(world: BrokerWorld, settings: Settings, people: People, blocked: bool) -> None:
    """What `PATCH /users/block|unblock/{uuid}` does."""
    with world.session_factory() as session:
        admin = session.get_one(User, people.admin_uuid)
        users.set_blocked(session, settings, admin, people.blocked_uuid, blocked)


def payload_is(text: str) -> Callable:
    return lambda message: message.payload == text


def eventually(check: Callable[[], bool], timeout: float = TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


@dataclass
class Clients:
    """The backend watching everything and sending commands, and units connected as devices."""

    backend: MqttClient
    devices: dict[str, MqttClient]

    def close(self) -> None:
        for client in [self.backend, *self.devices.values()]:
            client.close()


def connected_devices(
    connect: Callable[[str | None], MqttClient], world: BrokerWorld, people: People
) -> Clients:
    backend = connect(world.matrix.usernames["backend"])
    backend.subscribe("#")
    devices = {}
    for name, unit in (("A", world.matrix.a), ("bystander", people.bystander)):
        device = connect(unit.token)
        assert not device.subscribe(unit.own_input_topic).is_failure
        devices[name] = device
    return Clients(backend, devices)


def works_both_ways(
    clients: Clients, name: str, unit: MatrixUnit, label: str, timeout: float = TIMEOUT_S
) -> bool:
    """The device's publish reaches the backend, and a command of the backend reaches it."""
    device = clients.devices[name]
    device.publish(unit.own_output_topic, f"up|{label}")
    clients.backend.publish(unit.own_input_topic, f"down|{label}")
    return clients.backend.wait_for(payload_is(f"up|{label}"), timeout) and device.wait_for(
        payload_is(f"down|{label}"), timeout
    )


def test_the_embedded_broker_disconnects_and_refuses_a_blocked_users_units(
    world: BrokerWorld, people: People
):
    settings, a = world.settings, world.matrix.a
    port = free_loopback_port()

    def connect(username: str | None) -> MqttClient:
        return connected_client(LOOPBACK, port, username, protocol=mqtt.MQTTv311)

    with start_embedded_broker(settings, world.session_factory, host=LOOPBACK, port=port):
        clients = connected_devices(connect, world, people)
        assert works_both_ways(clients, "A", a, "before")
        old_device = clients.devices["A"]

        set_blocked(world, settings, people, True)
        assert old_device.disconnected.wait(TIMEOUT_S), "the blocked unit stayed connected"
        clients.backend.publish(a.own_input_topic, "while blocked")
        assert works_both_ways(clients, "bystander", people.bystander, "during")
        time.sleep(GRACE_S)
        assert not old_device.wait_for(payload_is("while blocked"), timeout=0)
        refused = connect(a.token)
        assert str(refused.connect_reason) == "Not authorized"
        refused.close()
        old_device.close()

        set_blocked(world, settings, people, False)
        clients.devices["A"] = connect(a.token)
        assert str(clients.devices["A"].connect_reason) == "Success"
        assert not clients.devices["A"].subscribe(a.own_input_topic).is_failure
        assert works_both_ways(clients, "A", a, "after")
        assert works_both_ways(clients, "bystander", people.bystander, "after")
        clients.close()


@pytest.fixture
def mosquitto_settings(world: BrokerWorld, tmp_path: Path) -> Settings:
    return world.settings.model_copy(
        update={
            "mosquitto_acl_file": tmp_path / "acl" / "pepeunit.acl",
            "mosquitto_pid_file": tmp_path / "mosquitto.pid",
        }
    )


@pytest.fixture
def mosquitto_port(
    world: BrokerWorld, mosquitto_settings: Settings, tmp_path: Path
) -> Iterator[int]:
    acl_file, pid_file = (
        mosquitto_settings.mosquitto_acl_file,
        mosquitto_settings.mosquitto_pid_file,
    )
    assert acl_file is not None and pid_file is not None
    sync_mosquitto_acl(world.settings, world.engine, acl_file)  # before the broker: no reload
    config = [f"acl_file {acl_file}", f"pid_file {pid_file}"]
    with running_mosquitto(tmp_path / "mosquitto", config, allow_anonymous=True) as server:
        yield server.port


def test_mosquitto_takes_every_right_from_a_blocked_users_connected_units(
    world: BrokerWorld, people: People, mosquitto_settings: Settings, mosquitto_port: int
):
    settings, a = mosquitto_settings, world.matrix.a

    def connect(username: str | None) -> MqttClient:
        return connected_client(LOOPBACK, mosquitto_port, username)

    clients = connected_devices(connect, world, people)
    device = clients.devices["A"]
    assert works_both_ways(clients, "A", a, "before")

    set_blocked(world, settings, people, True)
    attempts = iter(range(1_000_000))

    def publish_refused() -> bool:
        reason = device.publish(a.own_output_topic, f"blocked|{next(attempts)}")
        return reason is not None and str(reason) == "Not authorized"

    assert eventually(publish_refused), "Mosquitto still lets the blocked unit publish"
    device.publish(a.own_output_topic, "refused for sure")
    clients.backend.publish(a.own_input_topic, "while blocked")
    assert works_both_ways(clients, "bystander", people.bystander, "during")
    time.sleep(GRACE_S)
    assert not device.wait_for(payload_is("while blocked"), timeout=0)
    assert not clients.backend.wait_for(payload_is("refused for sure"), timeout=0)
    newcomer = connect(a.token)  # Mosquitto lets anyone connect; the ACL gives it nothing
    assert str(newcomer.publish(a.own_output_topic, "new session")) == "Not authorized"
    newcomer.close()

    set_blocked(world, settings, people, False)
    labels = iter(range(1_000_000))
    assert eventually(lambda: works_both_ways(clients, "A", a, f"after-{next(labels)}", 1.0))
    assert works_both_ways(clients, "bystander", people.bystander, "after")
    clients.close()
