"""The Python the demo's units run on: the platform's own interpreter, with `pepeunit_sdk`
importable from the repository's sdk/ (PYTHONPATH) and the dependencies of its built-in
clients (`pepeunit-sdk[all]`: paho-mqtt, which the platform has too, and httpx)."""

import importlib.util
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("pepeunit.demo")

# Module imported by the SDK's built-in client → the distribution that provides it.
SDK_CLIENT_DEPENDENCIES = {"paho": "paho-mqtt", "httpx": "httpx"}


class UnitRuntimeError(RuntimeError):
    """The units' dependencies cannot be installed."""


@dataclass(frozen=True)
class UnitRuntime:
    python: Path
    environment: dict[str, str]


def prepare_unit_runtime(sdk_dir: Path, constraints: Path) -> UnitRuntime:
    """Installs what the SDK's clients need into this interpreter's environment when it lacks
    it (httpx, on a base install), at the pinned versions; then the runtime."""
    missing = [
        distribution
        for module, distribution in SDK_CLIENT_DEPENDENCIES.items()
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        _install(missing, constraints)
    paths = [str(sdk_dir), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1"}
    return UnitRuntime(Path(sys.executable), environment)


def _install(distributions: list[str], constraints: Path) -> None:
    logger.info(
        "the example units use pepeunit-sdk[all]: installing %s into %s (once)",
        ", ".join(distributions),
        sys.prefix,
    )
    pinned = ["--constraint", str(constraints)] if constraints.is_file() else []
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    result = subprocess.run(
        [*command, *pinned, *distributions], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise UnitRuntimeError(
            f"installing {', '.join(distributions)} for the example units failed:\n"
            f"{result.stderr.strip()}"
        )
    importlib.invalidate_caches()
