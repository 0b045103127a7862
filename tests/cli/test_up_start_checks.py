"""`pepeunit up` says it is up only when every part runs: a taken port stops it with a message
naming the port and the setting, and a dataflow that dies stops the platform."""

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pepeunit_cli.platform import PlatformStartError, _FlowThread
from pepeunit_core.settings import Settings
from tests.e2e.platform import CLI, ENCRYPT_KEY, SECRET_KEY
from tests.services.ports import LOOPBACK, free_loopback_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind((LOOPBACK, 0))
        other.listen()
        yield int(other.getsockname()[1])


def test_up_with_the_metrics_port_taken_stops_with_a_clear_message(tmp_path: Path, taken_port):
    env = {
        **os.environ,
        "PU_DATA_DIR": str(tmp_path),
        "PU_SECRET_KEY": SECRET_KEY,
        "PU_ENCRYPT_KEY": ENCRYPT_KEY,
        "PU_MQTT_PORT": str(free_loopback_port()),
        "PU_FLOW_METRICS_PORT": str(taken_port),
    }
    result = subprocess.run(
        [str(CLI), "up", "--port", str(free_loopback_port())],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Pepeunit is up" not in output
    assert f"metrics server cannot listen on 127.0.0.1:{taken_port}" in output
    assert "PU_FLOW_METRICS_PORT" in output


def test_a_dataflow_that_cannot_start_is_reported_with_its_reason(tmp_path: Path, taken_port):
    """What the start check cannot see (the port taken between the check and the start)."""
    settings = Settings(
        data_dir=tmp_path,
        flow_metrics_port=taken_port,
        mqtt_port=free_loopback_port(),
        secret_key=SECRET_KEY,
        encrypt_key=ENCRYPT_KEY,
    )
    died: list[bool] = []
    flow = _FlowThread(settings, on_death=lambda: died.append(True))
    flow.start()
    with pytest.raises(PlatformStartError) as raised:
        flow.wait_started()
    message = str(raised.value)
    assert "the dataflow cannot start" in message
    assert f"the metrics port {taken_port} is taken" in message
    assert "PU_FLOW_METRICS_PORT" in message
    assert flow.thread is not None
    flow.thread.join(10)
    assert died == [True]
    assert flow.failure() is not None


def test_up_help_names_every_port():
    result = subprocess.run(
        [str(CLI), "up", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    for port, setting in (
        ("5000", "--port"),
        ("1883", "PU_MQTT_PORT"),
        ("9108", "PU_FLOW_METRICS_PORT"),
    ):
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(port))
        assert setting in line


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_metrics_listen_where_the_api_does_unless_set(tmp_path: Path, host: str):
    from pepeunit_cli.platform import UpOptions, up_settings

    options = UpOptions(host, 5000, embedded_broker=True)
    base = {"data_dir": tmp_path, "secret_key": SECRET_KEY, "encrypt_key": ENCRYPT_KEY}
    assert up_settings(Settings(**base), options).flow_metrics_host == host
    chosen = Settings(**base, flow_metrics_host="10.1.2.3")
    assert up_settings(chosen, options).flow_metrics_host == "10.1.2.3"
