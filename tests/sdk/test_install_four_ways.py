"""pepeunit-sdk built from sdk/ and installed with each extra (min, rest, mqtt, all) into clean
virtualenvs, with the versions pinned in constraints.txt, and a smoke script run in each.

pip builds the wheel from sdk/ once (what `pip install ./sdk` does first) and installs it four
times: four builds in four build environments would cost a minute on two busy cores."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.sdk.conftest import SDK_ROOT

REPOSITORY = SDK_ROOT.parent
SMOKE_SCRIPT = Path(__file__).with_name("install_smoke.py")
EXTRAS = ("min", "rest", "mqtt", "all")
REST_PACKAGES = {"httpx", "httpcore", "anyio", "certifi", "h11", "idna", "typing-extensions"}
# Each virtualenv's third-party distributions: `min` none at all, the others their client's.
EXPECTED_PACKAGES = {
    "min": set(),
    "rest": REST_PACKAGES,
    "mqtt": {"paho-mqtt"},
    "all": REST_PACKAGES | {"paho-mqtt"},
}
MISSING = {
    "mqtt": "missing: the built-in MQTT client needs paho-mqtt: "
    "pip install 'pepeunit-sdk[mqtt]' (or pass your own client)",
    "rest": "missing: the built-in REST client needs httpx: "
    "pip install 'pepeunit-sdk[rest]' (or pass your own client)",
}


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def pinned_versions() -> dict[str, str]:
    lines = (REPOSITORY / "constraints.txt").read_text().splitlines()
    pins = (line.split("==") for line in lines if "==" in line and not line.startswith("#"))
    return {normalized(name): version.strip() for name, version in pins}


def normalized(name: str) -> str:
    return name.strip().lower().replace("_", "-")


PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check")


def built_wheel(wheel_dir: Path) -> Path:
    run(*PIP, "wheel", "--quiet", "--no-deps", "--wheel-dir", wheel_dir, SDK_ROOT)
    (wheel,) = wheel_dir.glob("pepeunit_sdk-*.whl")
    return wheel


def install_and_smoke(wheel: Path, extra: str, work_dir: Path) -> dict[str, Any]:
    """A virtualenv without pip of its own: the test's pip installs into it (ensurepip would
    cost several seconds more per virtualenv)."""
    work_dir.mkdir(parents=True)
    venv = work_dir / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    pip = [*PIP, "--python", python]
    run(*pip, "install", "--quiet", "-c", REPOSITORY / "constraints.txt", f"{wheel}[{extra}]")
    smoke = json.loads(run(python, "-I", SMOKE_SCRIPT, cwd=work_dir))
    packages = {normalized(name): version for name, version in smoke["distributions"].items()}
    return {"packages": packages, "smoke": smoke}


@pytest.fixture(scope="module")
def installs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("sdk-installs")
    wheel = built_wheel(root / "wheel")
    with ThreadPoolExecutor(max_workers=2) as pool:  # the machine's two cores
        futures = {
            extra: pool.submit(install_and_smoke, wheel, extra, root / extra) for extra in EXTRAS
        }
        return {extra: future.result() for extra, future in futures.items()}


@pytest.mark.parametrize("extra", EXTRAS)
def test_each_install_has_exactly_its_dependencies_at_the_pinned_versions(
    installs: dict[str, dict[str, Any]], extra: str
):
    packages = installs[extra]["packages"]
    assert packages.pop("pepeunit-sdk") == "0.1.0"
    packages.pop("pip", None)
    packages.pop("setuptools", None)
    assert set(packages) == EXPECTED_PACKAGES[extra]
    pins = pinned_versions()
    assert {name: pins[name] for name in packages} == packages


@pytest.mark.parametrize("extra", EXTRAS)
def test_each_install_runs_the_smoke_script(installs: dict[str, dict[str, Any]], extra: str):
    smoke = installs[extra]["smoke"]
    assert "/venv/lib/" in smoke["package_file"]
    assert smoke["optional_imported_by_core"] == []
    assert (smoke["unit_uuid"], smoke["x"], smoke["log"]) == (
        "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60",
        1,
        ["smoke"],
    )
    assert smoke["refusals"] == [
        "MQTT is not enabled: build the PepeunitClient with mqtt=True (or enable_mqtt=True)",
        "REST is not enabled: build the PepeunitClient with rest=True (or enable_rest=True)",
    ]
    has_mqtt, has_rest = extra in ("mqtt", "all"), extra in ("rest", "all")
    assert smoke["mqtt"] == ("PahoMqttClient" if has_mqtt else MISSING["mqtt"])
    assert smoke["rest"] == ("HttpxRestClient" if has_rest else MISSING["rest"])
