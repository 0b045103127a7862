"""`pepeunit api` as the installed console script: migrations, then uvicorn serving the app
with Content-Length on every response (MicroPython clients cannot read chunked bodies)."""

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pepeunit_cli.api import tcp_listening_socket
from tests.services.ports import LOOPBACK, accepts_connections, free_loopback_port
from tests.services.processes import stop_process, wait_until_ready, with_parent_death_signal

from .conftest import API, PASSWORD

CLI = Path(sys.executable).parent / "pepeunit"


@contextmanager
def running_api(data_dir: Path, *options: str) -> Iterator[str]:
    port = free_loopback_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PU_")}
    environment["PU_DATA_DIR"] = str(data_dir)
    log_path = data_dir.parent / f"api-{port}.log"
    command = [str(CLI), "api", "--host", LOOPBACK, "--port", str(port), *options]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            with_parent_death_signal(command, "TERM"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        wait_until_ready(
            process,
            lambda: accepts_connections(LOOPBACK, port),
            what="pepeunit api",
            log_path=log_path,
            timeout=30,
        )
        yield f"http://{LOOPBACK}:{port}"
    finally:
        stop_process(process)


def raw_response_head(base_url: str, request_line: str) -> tuple[str, dict[str, str]]:
    """Status line and headers as a MicroPython client sees them (HTTP/1.1, Connection: close)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(
            f"{request_line} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return head[0], {name.lower(): value for name, value in headers.items()}


def test_api_command_migrates_and_serves_with_content_length(tmp_path: Path):
    with running_api(tmp_path / "data") as base_url:
        created = httpx.post(
            f"{base_url}{API}/users", json={"login": "admin", "password": PASSWORD}
        )
        assert created.status_code == 201 and created.json()["role"] == "Admin"
        for request_line, status in (
            ("GET /pepeunit", "200"),
            (f"GET {API}/users", "403"),
            (f"GET {API}/users/nope", "403"),
            ("GET /pepeunit/docs", "200"),
        ):
            status_line, headers = raw_response_head(base_url, request_line)
            assert status_line.split(" ")[1] == status, request_line
            assert int(headers["content-length"]) > 0, request_line
            assert "transfer-encoding" not in headers, request_line


def test_no_migrate_leaves_the_database_alone(tmp_path: Path):
    data_dir = tmp_path / "data"
    with running_api(data_dir, "--no-migrate") as base_url:
        assert httpx.get(f"{base_url}/pepeunit").status_code == 200
    database = data_dir / "pepeunit.sqlite"
    if database.exists():
        with sqlite3.connect(database) as connection:
            tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
        assert tables == []


def test_several_workers_serve_the_api(tmp_path: Path):
    with (
        running_api(tmp_path / "data", "--workers", "2") as base_url,
        httpx.Client(base_url=base_url) as client,  # one keep-alive connection
    ):
        statuses = [client.get("/pepeunit").status_code for _ in range(5)]
    assert statuses == [200] * 5


def test_the_workers_socket_gets_nagle_off_on_accepted_connections():
    """asyncio sets TCP_NODELAY only on connections accepted from an IPPROTO_TCP socket; the
    socket uvicorn makes for its workers has protocol 0 (so keep-alive replies wait ~40 ms)."""
    listening = tcp_listening_socket(LOOPBACK, 0)
    nodelay: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            nodelay.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def accept_one() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        async with server:
            port = listening.getsockname()[1]
            _, writer = await asyncio.open_connection(LOOPBACK, port)
            for _ in range(100):
                if nodelay:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(accept_one())
    assert listening.proto == socket.IPPROTO_TCP
    assert nodelay == [1]
