"""`pepeunit up` as a child process, with the published `pepeunit-client` in a virtualenv of
its own, for the end-to-end tests."""

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.services.ports import free_loopback_port

CLI = Path(sys.executable).parent / "pepeunit"
ROOT = Path(__file__).resolve().parents[2]
REFERENCE_CLIENT = "pepeunit-client[all]==1.3.0"
SECRET_KEY = base64.b64encode(b"e2e-secret-key-of-32-bytes-long!").decode()
ENCRYPT_KEY = base64.b64encode(b"e2e-encrypt-key-of-32-bytes-long").decode()
START_TIMEOUT_S = 90


@dataclass(frozen=True)
class RunningPlatform:
    api: str
    """Base URL of the API, e.g. http://localhost:5001/pepeunit/api/v1."""
    domain: str
    mqtt_port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def make_client_venv(path: Path) -> Path:
    """A virtualenv with the reference client from PyPI (versions pinned by constraints.txt
    where they overlap ours); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    python = path / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-c", str(ROOT / "constraints.txt"), REFERENCE_CLIENT],
        check=True,
    )  # fmt: skip
    return python


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@contextmanager
def running_platform(
    data_dir: Path,
    stop_signal: int = signal.SIGINT,
    *,
    signal_every_process: bool = False,
    port: int | None = None,
    **environment: str,
) -> Iterator[RunningPlatform]:
    """`pepeunit up` on a free API port with `environment` (PU_ variables) added; stopped
    afterwards with `stop_signal` (SIGINT as Ctrl-C, SIGTERM as Docker), sent to each of its
    processes at once with `signal_every_process` (as systemd stops a service), which must end
    it cleanly: the dataflow stores what it holds, and nothing is left behind. `port`: the
    API's (default: a free one), e.g. the one it had before a restart."""
    port = port or free_loopback_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PU_DATA_DIR": str(data_dir),
        "PU_SECRET_KEY": SECRET_KEY,
        "PU_ENCRYPT_KEY": ENCRYPT_KEY,
        "PU_STATE_SEND_INTERVAL": "2",
        "PU_FLOW_METRICS_PORT": "0",
        "PU_FLOW_FLUSH_INTERVAL": "0.2",
        "PU_FLOW_CONFIG_POLL_INTERVAL": "0.5",
        **environment,
    }
    log_path = data_dir / "up.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(CLI), "up", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir,
            start_new_session=signal_every_process,
        )  # fmt: skip
    platform = RunningPlatform(
        f"http://localhost:{port}/pepeunit/api/v1",
        f"localhost:{port}",
        int(env.get("PU_MQTT_PORT", "1883")),
        log_path,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(f"http://localhost:{port}/pepeunit"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"pepeunit up did not start:\n{platform.log()}")
            time.sleep(0.2)
        yield platform
    finally:
        if signal_every_process:
            os.killpg(process.pid, stop_signal)
        else:
            process.send_signal(stop_signal)
        name = signal.Signals(stop_signal).name
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"pepeunit up did not stop on {name}:\n{platform.log()}") from None
        log = platform.log()
        assert code == 0, f"pepeunit up exited with {code} on {name}:\n{log}"
        assert "Pepeunit is up." in log, log  # said once the API answered
        assert "stopping the dataflow (storing what it holds)" in log, log
        assert "Pepeunit stopped" in log, log
        assert "leaked semaphore" not in log, log
