"""Fixtures of the SDK tests: our platform (API + broker), a unit created through it with its
env.json and schema.json, and clients built on them."""

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.control_plane_registry.git_sources import SourceRepository
from tests.sdk.live_platform import (
    SDK_ROOT,
    BrokerProbe,
    Platform,
    ProgramVersions,
    commit_unit_program,
    running_platform,
)
from tests.services.mosquitto import MosquittoServer

# pepeunit-sdk is a distribution of its own, not installed in the project's virtualenv: the
# tests import it from the source tree (test_install_four_ways installs it for real).
if str(SDK_ROOT) not in sys.path:
    sys.path.insert(0, str(SDK_ROOT))

from pepeunit_sdk import PepeunitClient, RestartMode


@pytest.fixture(scope="session")
def unit_source(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SourceRepository, ProgramVersions]:
    repository = SourceRepository(tmp_path_factory.mktemp("sdk-unit-source"), "sdk-unit")
    return repository, commit_unit_program(repository)


@pytest.fixture(scope="session")
def platform(
    tmp_path_factory: pytest.TempPathFactory,
    mosquitto_server: MosquittoServer,
    unit_source: tuple[SourceRepository, ProgramVersions],
) -> Iterator[Platform]:
    repository, versions = unit_source
    with running_platform(
        tmp_path_factory.mktemp("sdk-platform"),
        mosquitto_server.host,
        mosquitto_server.port,
        versions,
        repository.url,
    ) as running:
        yield running


@pytest.fixture
def probe(mosquitto_server: MosquittoServer) -> Iterator[BrokerProbe]:
    broker_probe = BrokerProbe(mosquitto_server.host, mosquitto_server.port)
    yield broker_probe
    broker_probe.close()


@dataclass(frozen=True)
class UnitFiles:
    uuid: str
    program_dir: Path

    @property
    def env_path(self) -> Path:
        return self.program_dir / "env.json"

    @property
    def schema_path(self) -> Path:
        return self.program_dir / "schema.json"

    @property
    def log_path(self) -> Path:
        return self.program_dir / "log.json"


@pytest.fixture
def unit(platform: Platform, tmp_path: Path) -> UnitFiles:
    """A new unit at v1, with the env.json and schema.json the platform made for it."""
    uuid = platform.create_unit()
    return UnitFiles(uuid, platform.install_unit_files(uuid, tmp_path / "unit"))


MakeClient = Callable[..., PepeunitClient]


@pytest.fixture
def make_client(unit: UnitFiles) -> Iterator[MakeClient]:
    """PepeunitClient on the unit's files (no restart after updates); closed afterwards."""
    clients: list[PepeunitClient] = []

    def make(**options: Any) -> PepeunitClient:
        options.setdefault("restart_mode", RestartMode.NONE)
        client = PepeunitClient(unit.env_path, unit.schema_path, unit.log_path, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
