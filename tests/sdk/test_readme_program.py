"""The complete unit program of sdk/README.md, committed to a repository of its own, flashed
from the platform's archive and run: it publishes temperatures and logs what its input says."""

import json
import re
from pathlib import Path

import pytest

from tests.control_plane_registry.git_sources import SourceRepository
from tests.sdk.live_platform import (
    SDK_ROOT,
    BrokerProbe,
    Platform,
    running_unit_program,
    schema_example,
)


def readme_program() -> bytes:
    readme = (SDK_ROOT / "README.md").read_text()
    section = readme.split("## A complete unit program", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the README's unit program is gone"
    return match.group(1).encode()


@pytest.fixture(scope="module")
def readme_unit(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> str:
    repository = SourceRepository(tmp_path_factory.mktemp("readme-unit"), "readme-unit")
    commit = repository.commit(
        "The README's unit",
        {
            "schema_example.json": schema_example(["relay/pepeunit"], ["temperature/pepeunit"]),
            "env_example.json": b'{"READ_INTERVAL": 5}\n',
            "main.py": readme_program(),
        },
    )
    repository.publish()
    repo_uuid = platform.add_repository(repository.url, "readme-unit")
    unit_uuid = platform.create_unit(commit, repo_uuid=repo_uuid)
    platform.edit_env(unit_uuid, READ_INTERVAL=0)
    return unit_uuid


def test_the_readme_program_runs_as_a_unit(
    platform: Platform, readme_unit: str, probe: BrokerProbe, tmp_path: Path
):
    schema = platform.schema(readme_unit)
    temperature_topic = schema["output_topic"]["temperature/pepeunit"][0]
    relay_topic = schema["input_topic"]["relay/pepeunit"][0]
    probe.subscribe(temperature_topic)
    program_dir = tmp_path / "readme-unit"
    with running_unit_program(platform, readme_unit, program_dir) as process:
        reading = probe.wait_for(lambda m: m.topic == temperature_topic, timeout=30)
        assert 20 <= float(reading.payload) <= 21
        log_path = program_dir / "log.json"

        def logged_relay() -> bool:
            return log_path.exists() and "relay set to on" in log_path.read_text()

        probe.publish(relay_topic, "on", until=logged_relay)
        assert process.poll() is None
    with log_path.open() as log_file:
        entries = json.load(log_file)
    assert entries[0]["text"].startswith("started at version ")
