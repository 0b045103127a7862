"""The Python the demo's units run on: the platform's own interpreter, with `pepeunit_sdk`
importable from the repository's sdk/ (PYTHONPATH) and the dependencies of its built-in
clients (`pepeunit-sdk[all]`: paho-mqtt, which the platform has too, and httpx)."""

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# Module imported by the SDK's built-in client → the distribution that provides it.
SDK_CLIENT_DEPENDENCIES = {"paho": "paho-mqtt", "httpx": "httpx"}


class UnitRuntimeError(RuntimeError):
    """The units' dependencies are missing."""


@dataclass(frozen=True)
class UnitRuntime:
    python: Path
    environment: dict[str, str]


def prepare_unit_runtime(sdk_dir: Path) -> UnitRuntime:
    """The runtime; its dependencies come with the platform's own install (pyproject)."""
    missing = [
        distribution
        for module, distribution in SDK_CLIENT_DEPENDENCIES.items()
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        raise UnitRuntimeError(
            f"the example units need {', '.join(missing)}: reinstall the platform "
            "(./pepeunit does it from the pinned versions)"
        )
    paths = [str(sdk_dir), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1"}
    return UnitRuntime(Path(sys.executable), environment)
