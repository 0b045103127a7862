"""The published Python client (`pepeunit-client` 1.3.0 from PyPI), unmodified, as a device
against `pepeunit up`: once with its embedded broker, once with a real Mosquitto
(tests/e2e/device_scenario.py has the scenario). Its program is tests/e2e/device_main.py.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.control_plane_registry.git_sources import SourceRepository
from tests.e2e.device_scenario import BROKERS, device_source, platform_with, run_device
from tests.e2e.platform import RunningPlatform, make_client_venv


@pytest.fixture(scope="module")
def client_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_client_venv(tmp_path_factory.mktemp("reference-client") / "venv")


@pytest.fixture
def source(tmp_path: Path) -> SourceRepository:
    return device_source(tmp_path / "git", (Path(__file__).parent / "device_main.py").read_bytes())


@pytest.fixture(params=BROKERS)
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningPlatform]:
    with platform_with(request.param, tmp_path) as up:
        yield up


def test_reference_client_runs_as_a_device(
    platform: RunningPlatform, client_python: Path, source: SourceRepository, tmp_path: Path
):
    run_device(platform, [str(client_python), "main.py"], source, tmp_path)
