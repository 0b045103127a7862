"""Our real platform for the SDK tests: the control-plane API served by uvicorn on a free port
(SQLite, a registry cloned from a local git repository), the broker the units use, and a
stand-in for the platform's command publisher (paho, as the platform publishes)."""

import base64
import io
import json
import os
import queue
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import uvicorn
from argon2 import PasswordHasher

from control_plane.app import create_app
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_sources import SourceRepository
from tests.services.ports import LOOPBACK, free_loopback_port
from tests.services.processes import stop_process

API = "/pepeunit/api/v1"
SDK_ROOT = Path(__file__).resolve().parents[2] / "sdk"
UNIT_PROGRAM = Path(__file__).with_name("unit_program.py")
STATE_SEND_INTERVAL_S = 1
PASSWORD = "pass-word.1"
# Real argon2id with the smallest cost it allows.
CHEAP_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def schema_example(inputs: list[str], outputs: list[str]) -> bytes:
    return json.dumps(
        {
            "input_base_topic": [
                "update/pepeunit",
                "env_update/pepeunit",
                "schema_update/pepeunit",
                "log_sync/pepeunit",
            ],
            "output_base_topic": ["log/pepeunit", "state/pepeunit"],
            "input_topic": inputs,
            "output_topic": outputs,
        }
    ).encode()


@dataclass(frozen=True)
class ProgramVersions:
    """The unit repository: v1, then v2 with a new program and one more input."""

    v1: str
    v2: str


def commit_unit_program(repository: SourceRepository) -> ProgramVersions:
    program = UNIT_PROGRAM.read_bytes()
    v1 = repository.commit(
        "Unit program v1",
        {
            "schema_example.json": schema_example(["command/pepeunit"], ["value/pepeunit"]),
            "env_example.json": b'{"GREETING": "hello"}\n',
            "main.py": program,
            "lib/helpers.py": b"ANSWER = 1\n",
        },
    )
    v2 = repository.commit(
        "Unit program v2",
        {
            "schema_example.json": schema_example(
                ["command/pepeunit", "mode/pepeunit"], ["value/pepeunit"]
            ),
            "main.py": program.replace(b'VERSION = "v1"', b'VERSION = "v2"'),
            "lib/helpers.py": b"ANSWER = 2\n",
        },
    )
    repository.publish()
    return ProgramVersions(v1, v2)


class Platform:
    """The API over real HTTP, used as the unit's creator (alice) would."""

    def __init__(self, base_url: str, settings: Settings, versions: ProgramVersions) -> None:
        self.base_url = base_url
        self.settings = settings
        self.versions = versions
        self.http = httpx.Client(base_url=f"{base_url}{API}", timeout=30)
        self.repo_uuid = ""
        self.alice: dict[str, str] = {}

    def set_up(self, repository_url: str) -> None:
        self._check(self.http.post("/users", json={"login": "alice", "password": PASSWORD}))
        token = self._check(
            self.http.post("/users/auth", json={"credentials": "alice", "password": PASSWORD})
        )["token"]
        self.alice = {"x-auth-token": token}
        self.repo_uuid = self.add_repository(repository_url, "sdk-units")

    def add_repository(self, repository_url: str, name: str) -> str:
        """A registry for the git repository and a public repo on its main branch."""
        registry = self._check(
            self.http.post(
                "/repository_registry",
                json={
                    "platform": "Github",
                    "repository_url": repository_url,
                    "is_public_repository": True,
                },
                headers=self.alice,
            )
        )
        repo = {
            "repository_registry_uuid": registry["uuid"],
            "default_branch": "main",
            "visibility_level": "Public",
            "name": name,
        }
        return self._check(self.http.post("/repos", json=repo, headers=self.alice))["uuid"]

    def create_unit(self, commit: str | None = None, repo_uuid: str | None = None) -> str:
        """A unit pinned to `commit` (default v1) of branch main; returns its uuid."""
        body = {
            "repo_uuid": repo_uuid or self.repo_uuid,
            "visibility_level": "Public",
            "name": f"unit-{uuid.uuid4().hex[:10]}",
            "is_auto_update_from_repo_unit": False,
            "repo_branch": "main",
            "repo_commit": commit or self.versions.v1,
        }
        return self._check(self.http.post("/units", json=body, headers=self.alice))["uuid"]

    def set_unit_commit(self, unit_uuid: str, commit: str) -> None:
        self._check(
            self.http.patch(f"/units/{unit_uuid}", json={"repo_commit": commit}, headers=self.alice)
        )

    def edit_env(self, unit_uuid: str, **variables: object) -> None:
        body = {"env_json_string": json.dumps(variables)}
        response = self.http.patch(f"/units/env/{unit_uuid}", json=body, headers=self.alice)
        assert response.status_code == 204, response.text

    def env(self, unit_uuid: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/units/env/{unit_uuid}", headers=self.alice))

    def schema(self, unit_uuid: str) -> dict[str, Any]:
        return self._check(
            self.http.get(f"/units/get_current_schema/{unit_uuid}", headers=self.alice)
        )

    def firmware(self, unit_uuid: str, archive_format: str, query: str = "") -> bytes:
        url = f"/units/firmware/{archive_format}/{unit_uuid}{query}"
        response = self.http.get(url, headers=self.alice)
        assert response.status_code == 200, response.text
        return response.content

    def install_unit_files(self, unit_uuid: str, program_dir: Path) -> Path:
        """env.json and schema.json of the unit, as a device is first given them."""
        program_dir.mkdir(parents=True, exist_ok=True)
        (program_dir / "env.json").write_text(json.dumps(self.env(unit_uuid), indent=4))
        (program_dir / "schema.json").write_text(json.dumps(self.schema(unit_uuid), indent=4))
        return program_dir

    @staticmethod
    def _check(response: httpx.Response) -> Any:
        assert response.status_code in (200, 201), response.text
        return response.json()


@contextmanager
def running_platform(
    work_dir: Path, mqtt_host: str, mqtt_port: int, versions: ProgramVersions, repository_url: str
) -> Iterator[Platform]:
    database_url = f"sqlite:///{work_dir / 'pepeunit.sqlite'}"
    migrate_sql(database_url)
    port = free_loopback_port()
    settings = Settings(
        data_dir=work_dir / "data",
        sqlalchemy_database_url=database_url,
        secret_key=base64.b64encode(b"s" * 32).decode(),
        encrypt_key=base64.b64encode(b"e" * 32).decode(),
        domain=f"{LOOPBACK}:{port}",
        secure=False,
        save_repo_path=work_dir / "repos",
        registry_allowed_url_schemes=("https", "file"),
        registry_file_roots=(Path(tempfile.gettempdir()),),
        state_send_interval=STATE_SEND_INTERVAL_S,
        mqtt_host=mqtt_host,
        mqtt_port=mqtt_port,
    )
    app = create_app(settings, password_hasher=CHEAP_ARGON2)
    server = uvicorn.Server(
        uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="sdk-test-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    platform = Platform(f"http://{LOOPBACK}:{port}", settings, versions)
    try:
        platform.set_up(repository_url)
        yield platform
    finally:
        platform.http.close()
        server.should_exit = True
        thread.join(timeout=30)


@dataclass(frozen=True)
class Received:
    topic: str
    payload: str


class BrokerProbe:
    """The platform's side of the broker: publishes commands and records what units send."""

    def __init__(self, host: str, port: int) -> None:
        self.messages: queue.Queue[Received] = queue.Queue()
        self.history: list[Received] = []
        self._client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"sdk-test-probe-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_message = self._received
        self._client.connect(host, port)
        self._client.loop_start()

    def _received(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        received = Received(message.topic, message.payload.decode())
        self.history.append(received)
        self.messages.put(received)

    def has_seen(self, predicate: Callable[[Received], bool]) -> bool:
        return any(predicate(message) for message in list(self.history))

    def subscribe(self, *topics: str) -> None:
        acknowledged = threading.Event()
        self._client.on_subscribe = lambda *_args: acknowledged.set()
        result, _mid = self._client.subscribe([(topic, 0) for topic in topics])
        assert result == paho.MQTT_ERR_SUCCESS
        assert acknowledged.wait(10), f"no SUBACK for {topics}"

    def publish(self, topic: str, payload: str, until: Callable[[], object] | None = None) -> None:
        """Publish; with `until`, again every half second until it holds: a subscription the
        unit just made may reach the broker after this message (they use two connections)."""
        deadline = time.monotonic() + 20
        while True:
            self._client.publish(topic, payload, qos=1).wait_for_publish(10)
            if until is None:
                return
            resend_at = time.monotonic() + 0.5
            while time.monotonic() < resend_at:
                if until():
                    return
                time.sleep(0.02)
            assert time.monotonic() < deadline, f"{topic}: nothing came of {payload!r}"

    def send_command(
        self,
        schema: dict[str, Any],
        name: str,
        payload: dict[str, Any],
        until: Callable[[], object] | None = None,
    ) -> None:
        """Publish a command as the platform does (docs/compatibility.md#commands)."""
        self.publish(schema["input_base_topic"][name][0], json.dumps(payload), until)

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 20.0) -> Received:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no such message arrived in time"
            try:
                message = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(message):
                return message

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def wait_until(condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.05)


def flash(platform: Platform, unit_uuid: str, program_dir: Path) -> None:
    """What a device's first installation does: unpack the tgz (zlib, window 9) as it is."""
    content = zlib.decompress(platform.firmware(unit_uuid, "tgz"), 9)
    with tarfile.open(fileobj=io.BytesIO(content)) as archive:
        archive.extractall(program_dir, filter="data")


@contextmanager
def running_unit_program(
    platform: Platform, unit_uuid: str, program_dir: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """The unit's program from its archive, run as `python main.py` in its directory."""
    flash(platform, unit_uuid, program_dir)
    with (program_dir.parent / f"{program_dir.name}-output.txt").open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "main.py"],
            cwd=program_dir,
            env={**os.environ, "PYTHONPATH": str(SDK_ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        stop_process(process)
