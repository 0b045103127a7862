"""One firmware download resolves the unit's target once: the branch history of its repo is
read a single time for the env, the schema and the tree together (issue 13)."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from control_plane.services import registry
from pepeunit_core.settings import Settings

from . import test_units_api
from .test_units_api import UNITS, Source, World, created, pinned, unit_headers

settings = test_units_api.settings
source = test_units_api.source
world = test_units_api.world


@pytest.fixture
def history_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The branches whose history was read, one entry per read (the real function runs)."""
    reads: list[str] = []
    real: Callable = registry.commits

    def counted(path, branch, *args, **kwargs):
        reads.append(branch)
        return real(path, branch, *args, **kwargs)

    monkeypatch.setattr(registry, "commits", counted)
    return reads


@pytest.mark.parametrize("archive_format", ["zip", "tar", "tgz"])
def test_a_firmware_download_reads_the_branch_history_once(
    client: TestClient,
    world: World,
    settings: Settings,
    source: Source,
    history_reads: list[str],
    archive_format: str,
):
    auto = created(client, world, f"once-auto-{archive_format}")
    fixed = created(client, world, f"once-pinned-{archive_format}", **pinned(source))
    for unit, headers in ((auto, world.headers("alice")), (fixed, unit_headers(settings, fixed))):
        history_reads.clear()
        response = client.get(f"{UNITS}/firmware/{archive_format}/{unit['uuid']}", headers=headers)
        assert response.status_code == 200, response.text
        assert len(history_reads) == 1, history_reads
