"""Issue 18's end-to-end rollout: ten SDK devices, each a real process running its unpacked
firmware, against `pepeunit up` (API, dataflow and schedules in one process) with a Mosquitto
the platform authorises by its ACL file (so the devices stay connected while the platform
restarts). The platform steps rollouts every half second, the devices report state every two
seconds and each stage soaks one second: every gate is judged on real reports and logs, and
the test stays as short as ten devices and two platform starts allow.

One fleet, two rollouts:
- a good version goes canary (1 unit) -> 50 % -> all, each stage started only after the one
  before confirmed the version and soaked; the platform is stopped and started again while the
  50 % stage runs, and the stage goes on from the database;
- a bad version (it logs an error on every cycle) halts at the canary, which is sent back to
  the good version and installs it; the nine other units are never sent anything.
"""

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.control_plane_registry.git_sources import SourceRepository
from tests.e2e.device_scenario import SCHEMA, Api, unpack_firmware
from tests.e2e.platform import RunningPlatform, running_platform
from tests.sdk.live_platform import SDK_ROOT
from tests.services.mosquitto import MosquittoServer, running_mosquitto
from tests.services.ports import free_loopback_port
from tests.services.processes import stop_process

PROGRAM = Path(__file__).with_name("rollout_device.py").read_bytes()
DEVICES = 10
SOAK_S = 1
POLL_S = 0.5
ROLLOUT_SETTINGS = {
    "PU_STATE_SEND_INTERVAL": "2",
    "PU_ROLLOUT_STEP_INTERVAL": "0.5",
    "PU_SCHEDULES_POLL_INTERVAL": "0.5",
}


STARTED = time.monotonic()


def wait_until(condition: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    """Polls every half second (the API serves ten busy devices meanwhile), printing when each
    phase ended (shown when the test fails)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(POLL_S)
    print(f"{time.monotonic() - STARTED:6.1f} s: {what}")


def fleet_source(directory: Path) -> tuple[SourceRepository, dict[str, str]]:
    """v1.0.0 and v2.0.0 run fine; v3.0.0 logs an error on every cycle."""
    directory.mkdir()
    repository = SourceRepository(directory, "fleet")
    base = {"schema_example.json": json.dumps(SCHEMA).encode(), "env_example.json": b"{}\n"}
    broken = PROGRAM.replace(b"BROKEN = False", b"BROKEN = True")
    commits = {}
    for tag, program in (("v1.0.0", PROGRAM), ("v2.0.0", PROGRAM), ("v3.0.0", broken)):
        commits[tag] = repository.commit(tag, base | {"main.py": program, "VERSION": tag.encode()})
        repository.tag(tag, commits[tag])
    repository.publish()
    return repository, commits


class Fleet:
    """The platform (restartable on the same port, so the devices' env.json stays right) and
    the device processes."""

    def __init__(self, tmp_path: Path, broker: MosquittoServer, acl: Path, pid: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_loopback_port()
        self.environment = ROLLOUT_SETTINGS | {
            "PU_MQTT_HOST": broker.host,
            "PU_MQTT_PORT": str(broker.port),
            "PU_MOSQUITTO_ACL_FILE": str(acl),
            "PU_MOSQUITTO_PID_FILE": str(pid),
        }
        self.devices: dict[str, subprocess.Popen[bytes]] = {}
        self.programs: dict[str, Path] = {}

    @contextmanager
    def platform(self) -> Iterator[tuple[RunningPlatform, Api]]:
        with running_platform(self.tmp_path / "data", port=self.port, **self.environment) as up:
            api = Api(up)
            try:
                yield up, api
            finally:
                api.close()

    def start_device(self, api: Api, unit: str) -> None:
        program = self.tmp_path / "devices" / unit
        program.mkdir(parents=True)
        unpack_firmware(api.call("GET", f"/units/firmware/tgz/{unit}").content, program)
        with (program.parent / f"{unit}.out").open("wb") as output:
            self.devices[unit] = subprocess.Popen(
                [sys.executable, "main.py"], cwd=program, stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT,
                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SDK_ROOT)},
            )  # fmt: skip
        self.programs[unit] = program

    def log_texts(self, unit: str) -> list[str]:
        """The device's own log.json, kept across its updates."""
        path = self.programs[unit] / "log.json"
        return [entry["text"] for entry in json.loads(path.read_text())] if path.exists() else []

    def stop(self) -> None:
        for process in self.devices.values():
            stop_process(process)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    acl, pid = tmp_path / "acl" / "pepeunit.acl", tmp_path / "mosquitto.pid"
    acl.parent.mkdir()
    acl.write_text("")
    config = [f"acl_file {acl}", f"pid_file {pid}"]
    with ExitStack() as stack:
        broker = stack.enter_context(running_mosquitto(tmp_path / "mosquitto", config))
        built = Fleet(tmp_path, broker, acl, pid)
        stack.callback(built.stop)
        yield built


def stages(soak_s: int) -> list[dict[str, Any]]:
    sizes = [("Units", 1), ("Percent", 50), ("Percent", 100)]
    return [
        {"size_kind": kind, "size_value": value, "soak_seconds": soak_s,
         "confirm_deadline_seconds": 300, "max_error_log_increase": 0}
        for kind, value in sizes
    ]  # fmt: skip


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def rollout(api: Api, uuid: str) -> dict[str, Any]:
    return api.call("GET", f"/rollouts/{uuid}").json()


def unit_versions(api: Api, units: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """Each unit's reported commit and firmware status, in one request."""
    query = "&".join(f"uuids={unit}" for unit in units)
    found = api.call("GET", f"/units?{query}&limit={len(units)}").json()["units"]
    return {row["uuid"]: (row["current_commit_version"], row["firmware_update_status"])
            for row in found}  # fmt: skip


def create_fleet(api: Api, fleet: Fleet, source: SourceRepository, v1: str) -> list[str]:
    api.login("owner")
    registry = api.call(
        "POST", "/repository_registry", 201,
        json={"platform": "Github", "repository_url": source.url, "is_public_repository": True},
    ).json()  # fmt: skip
    repo = api.call(
        "POST", "/repos", 201,
        json={"repository_registry_uuid": registry["uuid"], "default_branch": "main",
              "visibility_level": "Public", "name": "fleet"},
    ).json()  # fmt: skip
    units = [
        api.call(
            "POST", "/units", 201,
            json={"repo_uuid": repo["uuid"], "visibility_level": "Public", "name": f"dev-{index}",
                  "is_auto_update_from_repo_unit": False, "repo_branch": "main",
                  "repo_commit": v1},
        ).json()["uuid"]
        for index in range(DEVICES)
    ]  # fmt: skip
    for unit in units:
        fleet.start_device(api, unit)
    return [repo["uuid"], *units]


def check_the_stages_waited(detail: dict[str, Any]) -> None:
    """Each stage started after every unit of the one before confirmed and soaked, and its
    units were sent their Update once it had started."""
    stage_rows = detail["stages"]
    for stage in range(1, len(stage_rows)):
        before = [unit for unit in detail["units"] if unit["stage"] == stage - 1]
        soaked = max(at(unit["confirmed_datetime"]) for unit in before)
        started = at(stage_rows[stage]["started_datetime"])
        assert started >= soaked + timedelta(seconds=SOAK_S), (stage, detail)
        for unit in detail["units"]:
            if unit["stage"] == stage:
                assert at(unit["update_sent_datetime"]) >= started


def test_ten_devices_take_a_good_version_in_stages_and_a_bad_one_halts_at_the_canary(
    fleet: Fleet, tmp_path: Path
):
    global STARTED
    STARTED = time.monotonic()
    source, commits = fleet_source(tmp_path / "git")
    v1, v2, v3 = commits["v1.0.0"], commits["v2.0.0"], commits["v3.0.0"]
    with fleet.platform() as (_up, api):
        repo, *units = create_fleet(api, fleet, source, v1)
        wait_until(
            lambda: set(unit_versions(api, units).values()) == {(v1, None)},
            "every device reporting v1", 60,
        )  # fmt: skip
        body = {"repo_uuid": repo, "target_kind": "Tag", "target_ref": "v2.0.0",
                "stages": stages(SOAK_S)}  # fmt: skip
        good = api.call("POST", "/rollouts", 201, json=body).json()
        assert [unit["stage"] for unit in good["units"]] == [0, 1, 1, 1, 1, 2, 2, 2, 2, 2]

        def half_way_confirmed() -> bool:
            detail = rollout(api, good["uuid"])
            assert detail["status"] in ("Pending", "Running"), detail
            stage = [unit for unit in detail["units"] if unit["stage"] == 1]
            return detail["current_stage"] == 1 and any(
                unit["outcome"] == "Confirmed" for unit in stage
            )

        wait_until(half_way_confirmed, "the 50 % stage soaking", 60)
    with fleet.platform() as (_up, api):
        api.login("owner", create=False)
        wait_until(
            lambda: rollout(api, good["uuid"])["status"] not in ("Running", "Pending"),
            "the good rollout finishing", 90,
        )  # fmt: skip
        detail = rollout(api, good["uuid"])
        assert detail["status"] == "Completed", detail
        assert {unit["outcome"] for unit in detail["units"]} == {"Healthy"}
        check_the_stages_waited(detail)
        reasons = [event["reason"] for event in detail["history"][2:]]
        assert reasons == ["stage 0 passed", "stage 1 passed", "every stage passed"], detail
        assert set(unit_versions(api, units).values()) == {(v2, "Success")}
        for unit in units:
            assert fleet.log_texts(unit).count(f"Program updated to {v2}") == 1, unit

        body = body | {"target_ref": "v3.0.0", "stages": stages(soak_s=60)}
        bad = api.call("POST", "/rollouts", 201, json=body).json()
        canary, others = units[0], units[1:]
        assert bad["units"][0] == {**bad["units"][0], "unit_uuid": canary, "stage": 0}
        wait_until(
            lambda: rollout(api, bad["uuid"])["status"] == "Halted", "the bad rollout halting", 60
        )
        wait_until(
            lambda: unit_versions(api, [canary])[canary] == (v2, "Success"),
            "the canary back on v2", 60,
        )  # fmt: skip
        detail = rollout(api, bad["uuid"])
        assert detail["current_stage"] == 0
        assert "error logs after the update" in detail["status_reason"], detail
        outcomes = {unit["unit_uuid"]: unit for unit in detail["units"]}
        assert outcomes[canary]["outcome"] == "RolledBack"
        assert outcomes[canary]["previous_commit_version"] == v2
        for unit in others:
            assert outcomes[unit]["outcome"] == "Pending"
            assert outcomes[unit]["update_sent_datetime"] is None
        assert set(unit_versions(api, others).values()) == {(v2, "Success")}
        texts = fleet.log_texts(canary)
        assert texts.count(f"Program updated to {v3}") == 1
        assert texts[-1] == f"started {v2}" or f"started {v2}" in texts[-3:], texts[-5:]
        for unit in others:
            assert f"Program updated to {v3}" not in fleet.log_texts(unit), unit
        for unit, process in fleet.devices.items():
            assert process.poll() is None, unit
