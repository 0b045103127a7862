"""A device program written from the client library's specification alone
(tests/sdk/specification_program.py: no `connect()`, `mqtt=True, rest=True`,
`settings.PEPEUNIT_TOKEN`, a list given to `publish_to_topics`, `set_state_storage(uuid, state)`)
runs as a real process against `pepeunit up`, with its embedded broker and with Mosquitto: the
scenario of tests/e2e/device_scenario.py (values stored, an input received, EnvUpdate,
SchemaUpdate, LogSync, an Update to a new tag ending in Success), then the update's own log entry
stored by the platform and the state storage kept across the restart."""

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.device_scenario import (
    BROKERS,
    DeviceRun,
    device_source,
    platform_with,
    run_device,
    wait_until,
)
from tests.e2e.platform import RunningPlatform
from tests.sdk.live_platform import SDK_ROOT

PROGRAM = Path(__file__).with_name("specification_program.py")


@pytest.fixture(params=BROKERS)
def pepeunit_up(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningPlatform]:
    with platform_with(request.param, tmp_path) as up:
        yield up


def the_update_is_logged_and_the_storage_kept(run: DeviceRun) -> None:
    def logged(text: str) -> int:
        query = f"/units/log_list/?uuid={run.device}&limit=500"
        entries = run.api.call("GET", query).json()["unit_logs"]
        return sum(entry["text"] == text for entry in entries)

    # Written by the program just before it replaced itself with the new version.
    wait_until(lambda: logged(f"Program updated to {run.second_version}") == 1, "update entry")
    wait_until(lambda: logged("device started") == 2, "the new version's start entry")

    env = run.api.call("GET", f"/units/env/{run.device}").json()
    stored = run.api.call("GET", f"/units/get_state_storage/{run.device}").json()
    assert json.loads(stored) == {
        "starts": 2,
        "token_length": len(env["PU_AUTH_TOKEN"]),
        "state_send_interval": env["PU_STATE_SEND_INTERVAL"],
    }
    assert run.process.poll() is None
    log = json.loads((run.program / "log.json").read_text())
    assert [entry["text"] for entry in log].count("device started") == 2


def test_a_program_written_from_the_specification_runs_as_a_device(
    pepeunit_up: RunningPlatform, tmp_path: Path
):
    run_device(
        pepeunit_up,
        [sys.executable, "main.py"],
        device_source(tmp_path / "git", PROGRAM.read_bytes()),
        tmp_path,
        environment={"PYTHONPATH": str(SDK_ROOT)},
        then=the_update_is_logged_and_the_storage_kept,
    )
