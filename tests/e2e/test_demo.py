"""`pepeunit demo` as a user runs it, for a bounded time: the example units run from their
downloaded archives, the thermometer's values are routed to the heater, whose decisions its
NRecords pipeline stores and whose log reaches the platform; the thermometer's Aggregation
pipeline writes a row once the first full minute has ended; the guide's commands work as
printed; Ctrl-C stops the units, then the platform, with exit code 0."""

import json
import math
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from pepeunit_cli.demo.guide import READY_LINE, guide_commands
from pepeunit_cli.demo.runner import DEMO_LOGIN, DEMO_PASSWORD
from tests.e2e.platform import CLI
from tests.services.ports import free_loopback_port

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 60
# The units' first values come within seconds of the guide; this much more for a loaded machine.
FIRST_VALUES_S = 45
# The first window holding values ends at the first minute boundary after the thermometer's
# first value; its row follows within seconds, once later values moved the clock past it.
AGGREGATION_GRACE_S = 30
DECISION = re.compile(r"heating (on|off) at (-?\d+\.\d\d) °C")


@dataclass(frozen=True)
class RunningDemo:
    process: subprocess.Popen[bytes]
    api: str
    work_dir: Path
    stdout_path: Path
    stderr_path: Path
    ready_at: float
    """Wall-clock time the guide was printed."""

    def guide(self) -> str:
        text = self.stdout_path.read_text(errors="replace")
        return text[text.index(READY_LINE) :]

    def output(self) -> str:
        return (
            self.stdout_path.read_text(errors="replace")[-4000:]
            + self.stderr_path.read_text(errors="replace")[-8000:]
        )

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"pepeunit demo exited:\n{self.output()}"


@contextmanager
def running_demo(tmp_path: Path) -> Iterator[RunningDemo]:
    """`pepeunit demo` on free ports, its platform data in its work directory; stopped with
    SIGINT (as Ctrl-C), which must end it cleanly."""
    port = free_loopback_port()
    environment = {
        **os.environ,
        "PU_MQTT_PORT": str(free_loopback_port()),
        "PU_FLOW_METRICS_PORT": "0",
        "PU_FLOW_FLUSH_INTERVAL": "0.2",
        "PU_FLOW_CONFIG_POLL_INTERVAL": "0.5",
    }
    environment.pop("PU_DATA_DIR", None)
    work_dir = tmp_path / "work"
    stdout_path, stderr_path = tmp_path / "demo.out", tmp_path / "demo.err"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [str(CLI), "demo", "--port", str(port), "--work-dir", str(work_dir)],
            env=environment, stdout=stdout, stderr=stderr, cwd=tmp_path,
        )  # fmt: skip
    api = f"http://127.0.0.1:{port}/pepeunit/api/v1"
    demo = RunningDemo(process, api, work_dir, stdout_path, stderr_path, 0.0)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Stop with Ctrl-C." not in _tail_after_ready(stdout_path):
            demo.assert_alive()
            assert time.monotonic() < deadline, f"the demo did not start:\n{demo.output()}"
            time.sleep(0.2)
        yield replace(demo, ready_at=time.time())
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"the demo did not stop on Ctrl-C:\n{demo.output()}") from None
        assert code == 0, f"pepeunit demo exited with {code}:\n{demo.output()}"


def _tail_after_ready(stdout_path: Path) -> str:
    text = stdout_path.read_text(errors="replace")
    return text[text.index(READY_LINE) :] if READY_LINE in text else ""


def wait_until(condition: Callable[[], object], what: str, deadline: float) -> None:
    """Until `condition()` holds or the wall clock passes `deadline`."""
    while not condition():
        assert time.time() < deadline, f"{what}: not in time"
        time.sleep(0.5)


class Api:
    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=30)
        token = self._http.post(
            "/users/auth", json={"credentials": DEMO_LOGIN, "password": DEMO_PASSWORD}
        )
        assert token.status_code == 200, token.text
        self._http.headers["x-auth-token"] = token.json()["token"]

    def get(self, url: str) -> Any:
        response = self._http.get(url)
        assert response.status_code == 200, f"GET {url}: {response.text}"
        return response.json()

    def unit(self, name: str) -> tuple[str, dict[str, str]]:
        """The unit's uuid and its nodes' uuids by topic name."""
        units = self.get(f"/units?search_string={name}")["units"]
        (uuid,) = [unit["uuid"] for unit in units if unit["name"] == name]
        nodes = self.get(f"/unit_nodes?unit_uuid={uuid}")["unit_nodes"]
        return uuid, {node["topic_name"]: node["uuid"] for node in nodes}

    def rows(self, node: str, policy: str) -> list[dict[str, Any]]:
        query = f"/unit_nodes/get_data_pipe_data/?uuid={node}&type={policy}"
        return list(self.get(query)["pipe_data"])

    def log_texts(self, unit: str) -> list[str]:
        entries = self.get(f"/units/log_list/?uuid={unit}&limit=500")["unit_logs"]
        return [entry["text"] for entry in entries]

    def close(self) -> None:
        self._http.close()


def test_demo_runs_a_living_system_and_stops_on_ctrl_c(tmp_path: Path):
    with running_demo(tmp_path) as demo:
        api = Api(demo.api)
        try:
            check_living_system(demo, api)
        finally:
            api.close()
    stopped = demo.stderr_path.read_text()
    assert "thermometer-1 stopped (exit code 0)" in stopped
    assert "heater-1 stopped (exit code 0)" in stopped
    # The units stopped before the dataflow and the broker, which stopped cleanly.
    assert stopped.index("heater-1 stopped") < stopped.index("stopping the dataflow")
    assert "Pepeunit stopped" in stopped
    # What the units printed: their log entries, as the README says.
    for unit, started in (("thermometer-1", "thermometer started"), ("heater-1", "heater started")):
        printed = (demo.work_dir / "logs" / f"{unit}.log").read_text()
        assert re.search(rf"^\S+\+00:00 Info: {started} at version [0-9a-f]{{40}}$", printed, re.M)
    heater_printed = (demo.work_dir / "logs" / "heater-1.log").read_text()
    assert any(DECISION.match(line.partition(": ")[2]) for line in heater_printed.splitlines())


def check_living_system(demo: RunningDemo, api: Api) -> None:
    heater, heater_nodes = api.unit("heater-1")
    _thermometer, thermometer_nodes = api.unit("thermometer-1")
    heating = heater_nodes["heating/pepeunit"]
    soon = demo.ready_at + FIRST_VALUES_S

    def decisions_stored() -> bool:
        demo.assert_alive()
        return len(api.rows(heating, "NRecords")) >= 3

    wait_until(decisions_stored, "the heater's decisions stored by its NRecords pipeline", soon)
    values_seen_at = time.time()  # the thermometer's first value came before
    assert {row["state"] for row in api.rows(heating, "NRecords")} <= {"on", "off"}

    # The heater decides only on temperatures routed to it: its log says what it received.
    def decision_logged() -> bool:
        return any(DECISION.match(text) for text in api.log_texts(heater))

    wait_until(decision_logged, "the heater's log entry on a routed temperature", soon)
    for text in api.log_texts(heater):
        if match := DECISION.match(text):
            assert 10 < float(match.group(2)) < 30, text  # the thermometer's range

    temperature = thermometer_nodes["temperature/pepeunit"]
    window_end = math.ceil(values_seen_at / 60) * 60
    wait_until(
        lambda: api.rows(temperature, "Aggregation"),
        "the thermometer's first Aggregation row (a minute's average)",
        window_end + AGGREGATION_GRACE_S,
    )
    (row,) = api.rows(temperature, "Aggregation")[-1:]
    assert row["aggregation_type"] == "Avg" and row["time_window_size"] == 60
    assert 10 < row["state"] < 30

    if shutil.which("curl") is not None:  # the guide's commands are curl, as printed
        check_guide_commands(demo)


def check_guide_commands(demo: RunningDemo) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", guide_commands(demo.guide())],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    counts = [answer["count"] for answer in answers]
    assert len(counts) == 3 and all(count > 0 for count in counts), result.stdout
    # The last two commands set the heater's target and sent EnvUpdate: it downloads env.json.
    env_path = demo.work_dir / "units" / "heater-1" / "env.json"

    def target_downloaded() -> bool:
        try:
            return json.loads(env_path.read_text()).get("TARGET_TEMPERATURE") == 21
        except ValueError:  # being written
            return False

    wait_until(
        target_downloaded,
        "the heater's env.json downloaded after EnvUpdate",
        time.time() + 20,
    )
