"""The README's walkthrough, run as written (bash, curl, git) against `pepeunit up`: the
documented sequence must keep working, from a local repository to a downloaded archive."""

import re
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.e2e.platform import ROOT, running_platform
from tests.services.ports import free_loopback_port

MARKER = "<!-- walkthrough:"


def walkthrough_script() -> str:
    readme = (ROOT / "README.md").read_text()
    after_marker = readme[readme.index(MARKER) :]
    match = re.search(r"```sh\n(.*?)\n```", after_marker, re.S)
    assert match, "the README walkthrough block is missing"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_walkthrough_works_against_pepeunit_up(tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    data, mqtt_port = tmp_path / "data", str(free_loopback_port())
    # Stopped with SIGTERM, as systemd, Docker and CI stop it: as clean as Ctrl-C.
    with running_platform(data, signal.SIGTERM, PU_MQTT_PORT=mqtt_port) as up:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough_script()],
            cwd=work,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "API": up.api},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    with zipfile.ZipFile(work / "thermostat-1.zip") as archive:
        names = set(archive.namelist())
    assert {"env.json", "schema.json", "main.py", "env_example.json"} <= names
    assert "env.json" in result.stdout
