"""The units' programs as child processes, `python main.py` in their program directories.

Each runs in a session of its own, so a Ctrl-C in the terminal reaches only the demo, which
then stops the units with SIGTERM (the example programs stop their main cycle on it) before
the platform.
"""

import logging
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pepeunit_cli.demo.unit_runtime import UnitRuntime

logger = logging.getLogger("pepeunit.demo")

STOP_TIMEOUT_S = 10
WATCH_INTERVAL_S = 1.0


class UnitsStoppedError(RuntimeError):
    """A unit was to start after the units were stopped."""


@dataclass(frozen=True)
class RunningUnit:
    name: str
    process: subprocess.Popen[bytes]
    output_path: Path


class UnitProcesses:
    def __init__(self, runtime: UnitRuntime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._units: list[RunningUnit] = []
        self._stopped = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="demo-units", daemon=True)

    def start(self, name: str, program_dir: Path, output_path: Path) -> RunningUnit:
        with self._lock:
            if self._stopped.is_set():
                raise UnitsStoppedError(f"{name} not started: the demo is stopping")
            with output_path.open("ab") as output:
                process = subprocess.Popen(
                    [str(self._runtime.python), "main.py"],
                    cwd=program_dir,
                    env=self._runtime.environment,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            unit = RunningUnit(name, process, output_path)
            self._units.append(unit)
            if not self._watcher.is_alive():
                self._watcher.start()
        logger.info("%s runs as process %d in %s", name, process.pid, program_dir)
        return unit

    def stop_all(self) -> None:
        """SIGTERM to every unit still running, then SIGKILL to those that have not stopped
        within STOP_TIMEOUT_S."""
        with self._lock:
            self._stopped.set()
            units = list(self._units)
        for unit in units:
            if unit.process.poll() is None:
                unit.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for unit in units:
            try:
                code = unit.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop on SIGTERM: killing it", unit.name)
                unit.process.kill()
                code = unit.process.wait()
            logger.info("%s stopped (exit code %d)", unit.name, code)

    def _watch(self) -> None:
        """Says once when a unit's program ends by itself."""
        reported: set[str] = set()
        while not self._stopped.wait(WATCH_INTERVAL_S):
            with self._lock:
                units = list(self._units)
            for unit in units:
                code = unit.process.poll()
                if code is not None and unit.name not in reported and not self._stopped.is_set():
                    reported.add(unit.name)
                    logger.error(
                        "%s exited with code %d: see %s", unit.name, code, unit.output_path
                    )
