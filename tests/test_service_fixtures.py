"""The private-service fixtures start real servers that do real work."""

import queue
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import clickhouse_connect
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.services.mosquitto import running_mosquitto
from tests.services.ports import accepts_connections
from tests.services.postgres import find_postgres_bin_dir
from tests.services.processes import ServiceError, find_binary

SYSTEM_MQTT_PORT = 1883
SYSTEM_POSTGRES_PORT = 5432
TIMEOUT_S = 5.0


def _client_id() -> str:
    return f"pytest-{uuid.uuid4().hex[:8]}"


def _connect(host: str, port: int, client_id: str) -> tuple[mqtt.Client, ReasonCode]:
    """Connect and wait for CONNACK, without a network loop thread."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    connack: list[ReasonCode] = []
    client.on_connect = lambda _client, _userdata, _flags, code, _props: connack.append(code)
    client.connect(host, port)
    deadline = time.monotonic() + TIMEOUT_S
    while not connack and time.monotonic() < deadline:
        client.loop(timeout=0.1)
    assert connack, f"no CONNACK from {host}:{port}"
    return client, connack[0]


@contextmanager
def _connected(host: str, port: int, client_id: str) -> Iterator[mqtt.Client]:
    client, code = _connect(host, port, client_id)
    assert not code.is_failure, f"CONNACK: {code}"
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def test_mosquitto_round_trips_qos1_message(mosquitto_server):
    assert mosquitto_server.port != SYSTEM_MQTT_PORT
    host, port = mosquitto_server.host, mosquitto_server.port
    topic = f"pytest/{uuid.uuid4().hex}"
    subscriber_id = _client_id()
    granted: queue.Queue[list[ReasonCode]] = queue.Queue()
    received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    with (
        _connected(host, port, subscriber_id) as subscriber,
        _connected(host, port, _client_id()) as publisher,
    ):
        subscriber.on_subscribe = lambda _client, _userdata, _mid, codes, _props: granted.put(codes)
        subscriber.on_message = lambda _client, _userdata, message: received.put(message)
        subscriber.subscribe(topic, qos=1)
        assert [code.value for code in granted.get(timeout=TIMEOUT_S)] == [1]
        publisher.publish(topic, b"hello", qos=1).wait_for_publish(TIMEOUT_S)
        message = received.get(timeout=TIMEOUT_S)

    assert (message.topic, message.payload, message.qos) == (topic, b"hello", 1)
    # The private broker logged our client: the traffic did not go to the system broker.
    assert subscriber_id in mosquitto_server.log_path.read_text()


def test_mosquitto_factory_applies_extra_settings(mosquitto_server, mosquitto_factory):
    strict = mosquitto_factory(["max_keepalive 30"], allow_anonymous=False)
    assert strict.port not in (mosquitto_server.port, SYSTEM_MQTT_PORT)
    assert "max_keepalive 30" in strict.config_path.read_text()

    client, code = _connect(strict.host, strict.port, _client_id())
    client.disconnect()
    assert code.is_failure and code.getName() == "Not authorized"


def test_postgres_stores_rows_in_private_cluster(postgres_server, postgres_database):
    assert postgres_server.port != SYSTEM_POSTGRES_PORT
    with psycopg.connect(postgres_database.dsn) as connection:
        data_directory = connection.execute("SHOW data_directory").fetchone()
        connection.execute("CREATE TABLE readings (unit text, value double precision)")
        connection.cursor().executemany(
            "INSERT INTO readings VALUES (%s, %s)", [("temp", 21.5), ("temp", 22.5)]
        )
        rows = connection.execute(
            "SELECT unit, count(*), avg(value) FROM readings GROUP BY unit"
        ).fetchall()
    assert data_directory == (str(postgres_server.data_dir),)
    assert rows == [("temp", 2, 22.0)]
    assert postgres_database.url.startswith(
        f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/"
    )


_POSTGRES_DATABASES_SEEN: list[str] = []
_CLICKHOUSE_DATABASES_SEEN: list[str] = []


@pytest.mark.parametrize("run", ["first", "second"])
def test_postgres_databases_are_isolated_and_dropped(postgres_server, postgres_database, run):
    # Run twice: a shared database would already hold `probe` on the second run.
    with psycopg.connect(postgres_database.dsn) as connection:
        connection.execute("CREATE TABLE probe (run text)")
        connection.execute("INSERT INTO probe VALUES (%s)", [run])
        assert connection.execute("SELECT run FROM probe").fetchall() == [(run,)]
    with psycopg.connect(postgres_server.dsn()) as admin:
        test_databases = {
            name
            for (name,) in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'pytest\\_%'"
            ).fetchall()
        }
    # other fixtures may hold databases of their own; the previous test's must be gone
    assert postgres_database.name in test_databases
    assert not test_databases & set(_POSTGRES_DATABASES_SEEN)
    _POSTGRES_DATABASES_SEEN.append(postgres_database.name)


def test_clickhouse_merge_tree_round_trip(clickhouse_database):
    client = clickhouse_database.client
    client.command(
        "CREATE TABLE readings (unit_uuid UUID, ts DateTime64(3), value Float64) "
        "ENGINE = MergeTree ORDER BY (unit_uuid, ts)"
    )
    unit = uuid.uuid4()
    client.insert(
        "readings",
        [[unit, 1_700_000_000_000 + i * 1000, float(i)] for i in range(3)],
        column_names=["unit_uuid", "ts", "value"],
    )
    rows = client.query(
        f"SELECT unit_uuid, count(), sum(value) FROM {clickhouse_database.name}.readings "
        "GROUP BY unit_uuid"
    ).result_rows
    assert rows == [(unit, 3, 3.0)]

    # Code under test builds its own client from the DSN and sees the same data.
    other = clickhouse_connect.get_client(dsn=clickhouse_database.dsn)
    try:
        assert other.command("SELECT count() FROM readings") == 3
    finally:
        other.close()


@pytest.mark.parametrize("run", ["first", "second"])
def test_clickhouse_databases_are_isolated_and_dropped(clickhouse_client, clickhouse_database, run):
    client = clickhouse_database.client
    client.command("CREATE TABLE probe (run String) ENGINE = MergeTree ORDER BY run")
    client.insert("probe", [[run]], column_names=["run"])
    assert client.query("SELECT run FROM probe").result_rows == [(run,)]
    test_databases = {
        name
        for (name,) in clickhouse_client.query(
            "SELECT name FROM system.databases WHERE startsWith(name, 'pytest_')"
        ).result_rows
    }
    assert clickhouse_database.name in test_databases
    assert not test_databases & set(_CLICKHOUSE_DATABASES_SEEN)
    _CLICKHOUSE_DATABASES_SEEN.append(clickhouse_database.name)


def test_mosquitto_stops_when_its_block_exits(tmp_path):
    with running_mosquitto(tmp_path) as server:
        assert accepts_connections(server.host, server.port)
    assert not accepts_connections(server.host, server.port)


def test_mosquitto_start_failure_reports_log_tail(tmp_path):
    bad_config = ["no_such_option true"]
    with (
        pytest.raises(ServiceError, match=r"exited with code [\s\S]*no_such_option"),
        running_mosquitto(tmp_path, bad_config),
    ):
        pass


def test_missing_binaries_name_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServiceError, match=r"apt-get install mosquitto"):
        find_binary("mosquitto", [tmp_path / "mosquitto"], debian_package="mosquitto")
    with pytest.raises(ServiceError, match=r"apt-get install postgresql"):
        find_postgres_bin_dir(install_root=tmp_path)
