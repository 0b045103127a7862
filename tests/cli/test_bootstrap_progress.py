"""The first `./pepeunit` installs about 1.1 GB: the install says how far it is instead of
staying silent, and a failed install shows pip's own error."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "pip-install-with-progress.sh"
PROGRESS_LINE = re.compile(r"^\[bootstrap\] \d+ s: resolved \d+ package\(s\), \d+ MB in v/; .+$")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bootstrap") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    return path


def install(venv: Path, requirement: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INSTALL), str(venv), requirement],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PROGRESS_INTERVAL_S": "1"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_an_install_prints_progress_while_it_runs(venv: Path):
    result = install(venv, "six==1.16.0")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(PROGRESS_LINE.match(line) for line in lines[:-1]), result.stderr
    assert re.match(r"^\[bootstrap\] installed 1 package\(s\) in \d+ s, \d+ MB$", lines[-1])
    assert result.stdout == ""
    assert (venv / "bin" / "python").exists()


def test_a_failed_install_shows_what_pip_said(venv: Path):
    result = install(venv, "no-such-distribution-of-pepeunit==1.0")
    assert result.returncode == 1
    assert "[bootstrap] pip failed:" in result.stderr
    assert "No matching distribution found for no-such-distribution-of-pepeunit" in result.stderr
