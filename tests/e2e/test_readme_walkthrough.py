"""The README's walkthrough, run as written (bash, curl, git) against `pepeunit up`: the
documented sequence must keep working, from a local repository to a downloaded archive and a
value the unit publishes read back from the API, and a second run must work as the first."""

import json
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
    match = re.search(r"```bash\n(.*?)\n```", after_marker, re.S)
    assert match, "the README walkthrough block is missing"
    return match.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_walkthrough_works_twice_against_pepeunit_up(tmp_path: Path):
    data, mqtt_port = tmp_path / "data", str(free_loopback_port())
    # Stopped as systemd stops a service, SIGTERM to each of its processes: as clean as Ctrl-C.
    with running_platform(
        data, signal.SIGTERM, signal_every_process=True, PU_MQTT_PORT=mqtt_port
    ) as up:
        for run in ("first", "second"):
            work = tmp_path / run
            work.mkdir()
            (work / "try.sh").write_text(walkthrough_script())
            result = subprocess.run(
                ["bash", "try.sh"],
                cwd=work,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "API": up.api},
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, f"{run} run:\n{result.stdout}\n{result.stderr}"
            assert result.stderr == "", f"{run} run:\n{result.stderr}"
            with zipfile.ZipFile(work / "thermostat.zip") as archive:
                names = set(archive.namelist())
            assert {"env.json", "schema.json", "main.py", "env_example.json"} <= names
            stored_line = result.stdout.splitlines()[-1]
            assert stored_line.startswith("stored: "), result.stdout
            (stored,) = json.loads(stored_line.removeprefix("stored: "))
            assert stored["state"] == "21.5"
