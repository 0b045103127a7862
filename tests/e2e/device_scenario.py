"""A device program against `pepeunit up`, with its embedded broker or with a real Mosquitto
authorised by the generated ACL file (docs/compatibility.md#routing-by-the-dataflow,
docs/compatibility.md#least-privilege-broker-access,
docs/compatibility.md#broker-login-with-the-unit-token). The scenario is the same whichever
client library the program is written with: the published `pepeunit-client`
(tests/e2e/test_reference_client.py) or our SDK (tests/sdk/test_specification_program.py).

One unit is the device: created from a local git repository holding the program, its tgz
firmware unpacked the way the clients unpack it, its program run as `<python> main.py`. It
publishes values a pipeline stores, receives a value routed from another unit's output, and
serves EnvUpdate, SchemaUpdate, LogSync and an Update to a new tag (downloading and unpacking
the archive), after which its state report moves the firmware status to Success.

What the program must do: publish a number on `temperature/pepeunit` every half second, append
`<input name> <payload>` to `received.txt` for each message on its inputs, and log
`device started` once when it starts.
"""

import io
import json
import os
import subprocess
import tarfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from control_plane.security import make_unit_token
from pepeunit_core.topics import node_topic
from tests.control_plane_registry.git_sources import SourceRepository
from tests.e2e.platform import SECRET_KEY, RunningPlatform, running_platform
from tests.services.mosquitto import running_mosquitto
from tests.services.ports import free_loopback_port

BROKERS = ("embedded-broker", "mosquitto")
SCHEMA = {
    "input_base_topic": [
        "update/pepeunit", "env_update/pepeunit", "schema_update/pepeunit", "log_sync/pepeunit",
    ],
    "output_base_topic": ["state/pepeunit", "log/pepeunit"],
    "input_topic": ["command/pepeunit"],
    "output_topic": ["temperature/pepeunit"],
}  # fmt: skip
PIPELINE = """
active_period: {type: Permanent}
filters: {type_input_value: Number, max_rate: 0, max_size: 16}
processing_policy: {policy_type: NRecords, n_records_count: 100}
"""
PASSWORD = "e2e-pass-word.1"


def device_source(directory: Path, program: bytes) -> SourceRepository:
    """The device's repository: `program` as main.py, tagged v1.0.0."""
    directory.mkdir()
    repository = SourceRepository(directory, "thermostat")
    first = repository.commit(
        "Thermostat v1",
        {
            "schema_example.json": json.dumps(SCHEMA).encode(),
            "env_example.json": b'{"DEVICE_LABEL": "unnamed"}\n',
            "main.py": program,
            ".pepeignore": b"docs/\n",
            "docs/notes.md": b"not for the device\n",
        },
    )
    repository.tag("v1.0.0", first)
    repository.publish()
    return repository


@contextmanager
def platform_with(broker: str, tmp_path: Path) -> Iterator[RunningPlatform]:
    """`pepeunit up` with `broker`: one of BROKERS."""
    if broker == "embedded-broker":
        with running_platform(tmp_path / "data", PU_MQTT_PORT=str(free_loopback_port())) as up:
            yield up
        return
    acl_file, pid_file = tmp_path / "acl" / "pepeunit.acl", tmp_path / "mosquitto.pid"
    acl_file.parent.mkdir()
    acl_file.write_text("")
    config = [f"acl_file {acl_file}", f"pid_file {pid_file}"]
    with running_mosquitto(tmp_path / "mosquitto", config, allow_anonymous=True) as broker_server:
        environment = {
            "PU_MQTT_HOST": "127.0.0.1",
            "PU_MQTT_PORT": str(broker_server.port),
            "PU_MOSQUITTO_ACL_FILE": str(acl_file),
            "PU_MOSQUITTO_PID_FILE": str(pid_file),
        }
        with running_platform(tmp_path / "data", **environment) as up:
            yield up


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.2)


class Api:
    def __init__(self, platform: RunningPlatform) -> None:
        self._http = httpx.Client(base_url=platform.api, timeout=30)
        self._headers: dict[str, str] = {}

    def login(self, login: str, *, create: bool = True) -> None:
        """Creates the user `login` (unless `create` is false: it exists) and logs in."""
        if create:
            created = self._http.post("/users", json={"login": login, "password": PASSWORD})
            assert created.status_code == 201, created.text
        token = self._http.post("/users/auth", json={"credentials": login, "password": PASSWORD})
        self._headers = {"x-auth-token": token.json()["token"]}

    def call(self, method: str, url: str, expect: int = 200, **kwargs: object) -> httpx.Response:
        response = self._http.request(method, url, headers=self._headers, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == expect, f"{method} {url}: {response.text}"
        return response

    def close(self) -> None:
        self._http.close()


def unpack_firmware(archive: bytes, directory: Path) -> None:
    """As the reference client does: a zlib stream with a 512-byte window around a tar."""
    with tarfile.open(fileobj=io.BytesIO(zlib.decompress(archive, 9))) as tar:
        tar.extractall(directory, filter="data")


class UnitPublisher:
    """Another unit: logs in with its token and publishes on its output node topic."""

    def __init__(self, port: int, token: str) -> None:
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.username_pw_set(token, "")
        connected = threading.Event()
        self._client.on_connect = lambda *_: connected.set()
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        assert connected.wait(10)

    def publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def node_uuids(api: Api, unit: str) -> dict[str, str]:
    nodes = api.call("GET", f"/unit_nodes?unit_uuid={unit}").json()["unit_nodes"]
    return {node["topic_name"]: node["uuid"] for node in nodes}


@dataclass(frozen=True)
class DeviceRun:
    """A device after the scenario: updated to `second_version` and running it."""

    api: "Api"
    device: str
    program: Path
    process: subprocess.Popen[bytes]
    second_version: str


def run_device(
    platform: RunningPlatform,
    command: Sequence[str],
    source: SourceRepository,
    tmp_path: Path,
    *,
    environment: Mapping[str, str] | None = None,
    then: Callable[[DeviceRun], None] | None = None,
) -> None:
    """The scenario, with the program run as `command` (e.g. `[python, "main.py"]`) in its
    unpacked firmware; `then(run)` checks more once the device runs the new tag."""
    api = Api(platform)
    api.login("owner")
    registry = api.call(
        "POST", "/repository_registry", 201,
        json={"platform": "Github", "repository_url": source.url, "is_public_repository": True},
    ).json()  # fmt: skip
    # As a 1.x client that registers a repository and asks for a sync at once (with the default
    # sync interval: creating it is not a sync).
    api.call("PATCH", f"/repository_registry/update_local_repository/{registry['uuid']}", 204)
    repo = api.call(
        "POST", "/repos", 201,
        json={"repository_registry_uuid": registry["uuid"], "default_branch": "main",
              "visibility_level": "Public", "name": "thermostat"},
    ).json()  # fmt: skip
    units = {
        name: api.call(
            "POST", "/units", 201,
            json={"repo_uuid": repo["uuid"], "visibility_level": "Public", "name": name,
                  "is_auto_update_from_repo_unit": True},
        ).json()["uuid"]
        for name in ("device-a", "sensor-b")
    }  # fmt: skip
    device, sensor = units["device-a"], units["sensor-b"]
    device_nodes, sensor_nodes = node_uuids(api, device), node_uuids(api, sensor)
    output = device_nodes["temperature/pepeunit"]
    api.call("PATCH", f"/unit_nodes/{output}", json={"is_data_pipe_active": True})
    api.call(
        "POST", f"/unit_nodes/set_data_pipe_config?uuid={output}", 204,
        files={"data": ("pipeline.yaml", PIPELINE.encode(), "application/yaml")},
    )  # fmt: skip
    api.call(
        "POST", "/unit_nodes/create_unit_node_edge", 201,
        json={"node_output_uuid": sensor_nodes["temperature/pepeunit"],
              "node_input_uuid": device_nodes["command/pepeunit"]},
    )  # fmt: skip

    program = tmp_path / "device"
    program.mkdir()
    unpack_firmware(api.call("GET", f"/units/firmware/tgz/{device}").content, program)
    assert not (program / "docs").exists()
    first_version = json.loads((program / "env.json").read_text())["PU_COMMIT_VERSION"]
    with (tmp_path / "device.log").open("wb") as device_log:
        process = subprocess.Popen(
            list(command), cwd=program, stdout=device_log, stderr=subprocess.STDOUT,
            env={**os.environ, **(environment or {})},
        )  # fmt: skip
    sensor_client = UnitPublisher(platform.mqtt_port, make_unit_token(UUID(sensor), SECRET_KEY))
    try:
        second_version = run_device_scenario(
            api, platform, program, process, sensor_client, device, sensor_nodes, output,
            first_version, source, repo["uuid"], registry["uuid"],
        )  # fmt: skip
        if then is not None:
            then(DeviceRun(api, device, program, process, second_version))
    finally:
        sensor_client.close()
        process.terminate()
        process.wait(timeout=10)
        api.close()
        print((tmp_path / "device.log").read_text(errors="replace")[-3000:])


def run_device_scenario(
    api: Api,
    platform: RunningPlatform,
    program: Path,
    process: subprocess.Popen,
    sensor_client: UnitPublisher,
    device: str,
    sensor_nodes: dict[str, str],
    output: str,
    first_version: str,
    source: SourceRepository,
    repo: str,
    registry: str,
) -> str:
    """Returns the commit of the new tag the device runs at the end."""

    def alive() -> None:
        assert process.poll() is None, "the device program exited"

    def stored_values() -> int:
        alive()
        query = f"/unit_nodes/get_data_pipe_data/?uuid={output}&type=NRecords"
        return api.call("GET", query).json()["count"]

    wait_until(lambda: stored_values() >= 3, "the device's values stored by its pipeline")

    unit = api.call("GET", f"/units/{device}").json()
    wait_until(
        lambda: (
            api.call("GET", f"/units/{device}").json()["current_commit_version"] == first_version
        ),
        "the device's state report naming its version",
    )
    assert unit["name"] == "device-a"

    sensor_topic = node_topic(platform.domain, sensor_nodes["temperature/pepeunit"],
                              "temperature/pepeunit")  # fmt: skip
    received = program / "received.txt"

    def routed() -> bool:
        alive()
        sensor_client.publish(sensor_topic, "42")
        return received.exists() and "command/pepeunit 42" in received.read_text()

    wait_until(routed, "the value routed from the sensor's output to the device's input")

    # As a 1.x client edits the env: the whole env it read, PU_COMMIT_VERSION included, sent
    # back with one key changed.
    env = api.call("GET", f"/units/env/{device}").json()
    assert env["PU_COMMIT_VERSION"] == first_version
    api.call(
        "PATCH", f"/units/env/{device}", 204,
        json={"env_json_string": json.dumps({**env, "DEVICE_LABEL": "kitchen"})},
    )  # fmt: skip
    command = f"/units/send_command_to_input_base_topic/{device}"
    api.call("POST", f"{command}?command=EnvUpdate", 204)
    wait_until(
        lambda: json.loads((program / "env.json").read_text()).get("DEVICE_LABEL") == "kitchen",
        "env.json downloaded after EnvUpdate",
    )
    (program / "schema.json").write_text("{}")  # the download must bring it back
    api.call("POST", f"{command}?command=SchemaUpdate", 204)
    wait_until(
        lambda: json.loads((program / "schema.json").read_text()).get("input_topic"),
        "schema.json downloaded after SchemaUpdate",
    )

    def started_entries() -> int:
        logs = api.call("GET", f"/units/log_list/?uuid={device}&limit=500").json()["unit_logs"]
        return sum(entry["text"] == "device started" for entry in logs)

    wait_until(lambda: started_entries() == 1, "the device's log entries stored")
    api.call("POST", f"{command}?command=LogSync", 204)
    time.sleep(1)
    # LogSync deleted the stored logs; the device then sent its whole log.json again.
    wait_until(lambda: started_entries() == 1, "the device's log stored again after LogSync")

    second = source.commit("Thermostat v2", {"VERSION": b"2\n"})
    source.tag("v2.0.0", second)
    source.publish()
    api.call("PATCH", f"/repository_registry/update_local_repository/{registry}", 204)
    api.call("PATCH", f"/repos/update_units_firmware/{repo}", 204)
    wait_until(lambda: (program / "VERSION").exists(), "the v2 archive unpacked by the device")

    def updated() -> bool:
        alive()
        unit = api.call("GET", f"/units/{device}").json()
        return (
            unit["firmware_update_status"] == "Success" and unit["current_commit_version"] == second
        )

    wait_until(updated, "the firmware status Success after the device reported v2", 90)
    return second
