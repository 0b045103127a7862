"""A unit's program as a real process, as on a device: flashed with the platform's archive at
v1, it runs, gets an Update to v2 and replaces itself with the new program (os.execv)."""

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.sdk.conftest import UnitFiles
from tests.sdk.live_platform import BrokerProbe, Platform, running_unit_program


@pytest.fixture
def unit_process(platform: Platform, unit: UnitFiles) -> Iterator[subprocess.Popen[bytes]]:
    with running_unit_program(platform, unit.uuid, unit.program_dir) as process:
        yield process


def test_an_update_replaces_the_running_program(
    platform: Platform,
    unit: UnitFiles,
    probe: BrokerProbe,
    unit_process: subprocess.Popen[bytes],
):
    schema = platform.schema(unit.uuid)
    output_topic = schema["output_topic"]["value/pepeunit"][0]
    command_topic = schema["input_topic"]["command/pepeunit"][0]
    log_topic = schema["output_base_topic"]["log/pepeunit"][0]
    probe.subscribe(output_topic, log_topic)

    def answers(version: str) -> None:
        probe.wait_for(lambda m: m.payload == f"{version} hello", timeout=30)
        probe.publish(
            command_topic,
            "ping",
            until=lambda: probe.has_seen(lambda m: m.payload == f"{version} got ping"),
        )

    answers("v1")
    platform.set_unit_commit(unit.uuid, platform.versions.v2)
    probe.send_command(
        schema, "update/pepeunit", {"COMMAND": "Update", "PU_COMMIT_VERSION": platform.versions.v2}
    )
    answers("v2")
    assert unit_process.poll() is None
    # The entry written just before the restart went out to the broker before it.
    updated = f"Program updated to {platform.versions.v2}"
    assert probe.has_seen(lambda m: m.topic == log_topic and updated in m.payload)
    log = [entry["text"] for entry in json.loads((unit.program_dir / "log.json").read_text())]
    assert log[:1] == ["Program v1 started"]
    assert log.index(updated) < log.index("Program v2 started")
