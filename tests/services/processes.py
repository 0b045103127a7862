"""Starting, waiting for and stopping service subprocesses."""

import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServiceError(RuntimeError):
    """A private service could not be found or started."""


def find_binary(name: str, candidates: Sequence[Path], debian_package: str) -> Path:
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    found = shutil.which(name)
    if found is None:
        raise ServiceError(
            f"`{name}` not found: install the Debian package `{debian_package}` "
            f"(apt-get install {debian_package})"
        )
    return Path(found)


def with_parent_death_signal(command: Sequence[str], signal_name: str) -> list[str]:
    """Prefix `command` so the service gets `signal_name` if pytest dies without tearing down.

    setpriv execs the service in place, so the Popen pid stays the service's pid.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return list(command)
    return [setpriv, f"--pdeathsig={signal_name}", "--", *command]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(no log at {path}: {error})"
    return "\n".join(text.splitlines()[-lines:])


def wait_until_ready(
    process: subprocess.Popen[bytes],
    is_ready: Callable[[], bool],
    *,
    what: str,
    log_path: Path,
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServiceError(
                f"{what} exited with code {process.returncode} before accepting connections; "
                f"log {log_path}:\n{log_tail(log_path)}"
            )
        if is_ready():
            return
        if time.monotonic() > deadline:
            raise ServiceError(
                f"{what} did not accept connections within {timeout:g} s; "
                f"log {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(0.05)


def stop_process(
    process: subprocess.Popen[bytes],
    first_signal: int = signal.SIGTERM,
    timeout: float = 10.0,
) -> None:
    if process.poll() is None:
        process.send_signal(first_signal)
    wait_or_kill(process, timeout)


def wait_or_kill(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Waits up to `timeout` s for `process` to end, then kills it."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
