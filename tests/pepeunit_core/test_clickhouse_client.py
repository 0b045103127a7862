"""One URL picks the ClickHouse client: embedded chdb, or a server over HTTP(S)."""

import base64
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from pepeunit_core.clickhouse.client import make_clickhouse_client
from pepeunit_core.migrate import migrate_clickhouse

TLS_HANDSHAKE_RECORD = 0x16


def test_a_chdb_url_opens_that_database(clickhouse_database):
    client = make_clickhouse_client(clickhouse_database.dsn)
    try:
        assert client.query("SELECT currentDatabase()").result_rows == [(clickhouse_database.name,)]
        client.command("CREATE TABLE seen_by_both (n UInt8) ENGINE = Memory")
    finally:
        client.close()

    # Closing one chdb client leaves the others on the same path working.
    assert clickhouse_database.client.query("EXISTS TABLE seen_by_both").result_rows == [(1,)]


def test_migrate_clickhouse_applies_once_and_logs(clickhouse_database, caplog):
    with caplog.at_level("INFO", logger="pepeunit.migrate"):
        assert migrate_clickhouse(clickhouse_database.dsn) == ["0001_initial"]
        assert migrate_clickhouse(clickhouse_database.dsn) == []

    assert "applied ClickHouse migrations: 0001_initial" in caplog.messages
    assert "ClickHouse schema is up to date" in caplog.messages
    tables = clickhouse_database.client.query("SHOW TABLES").result_rows
    assert {"n_last_entry", "window_entry", "aggregation_entry", "unit_logs"} <= {
        name for (name,) in tables
    }


def _read_request_start(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and data[:1] != bytes([TLS_HANDSHAKE_RECORD]):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@contextmanager
def first_bytes_sent_to_a_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback port that records how each connection starts and answers plain HTTP 500.

    No ClickHouse server runs here, so this shows where and how a server URL connects.
    """
    received: list[bytes] = []
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.05)

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    continue
                with connection:
                    connection.settimeout(5)
                    data = _read_request_start(connection)
                    received.append(data)
                    if data[:1] != bytes([TLS_HANDSHAKE_RECORD]):
                        connection.sendall(
                            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                            b"Connection: close\r\n\r\n"
                        )

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield server.getsockname()[1], received
        finally:
            stop.set()
            thread.join(timeout=5)


def test_an_http_url_connects_to_its_host_with_its_credentials():
    with (
        first_bytes_sent_to_a_listener() as (port, received),
        pytest.raises(DatabaseError, match="500"),
    ):
        make_clickhouse_client(f"http://alice:s%40cret@127.0.0.1:{port}/telemetry")

    request = received[0].decode()
    credentials = base64.b64encode(b"alice:s@cret").decode()
    assert request.startswith("POST /")
    assert f"Host: 127.0.0.1:{port}" in request
    assert f"Authorization: Basic {credentials}" in request


def test_an_https_url_speaks_tls_whatever_the_port():
    with first_bytes_sent_to_a_listener() as (port, received), pytest.raises(DatabaseError):
        make_clickhouse_client(f"https://alice:secret@127.0.0.1:{port}/telemetry")

    assert received[0][0] == TLS_HANDSHAKE_RECORD


def test_other_schemes_are_refused():
    with pytest.raises(ValueError, match="clickhouse\\+native"):
        make_clickhouse_client("clickhouse+native://u:p@host:9000/default")
