"""The console of a real `pepeunit up` (API, dataflow, embedded broker) in Chromium: the first
run in the browser, then a unit that publishes over MQTT goes online and its value changes on
the open units page within 1 s of the publish (docs/compatibility.md#state-and-log-reports)."""

import json
import threading
import time
from pathlib import Path
from uuid import UUID

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import expect

from control_plane.security import make_unit_token
from pepeunit_core.topics import ReportTopicName, node_topic, report_topic
from tests.console.browser import chromium, watched_page
from tests.console.console_client import PASSWORD, PREFIX
from tests.console.platform_api import add_public_repo, admin_api
from tests.control_plane_registry.git_sources import SourceRepository
from tests.e2e.platform import SECRET_KEY, running_platform
from tests.services.ports import free_loopback_port

SCHEMA = {
    "input_base_topic": ["update/pepeunit", "env_update/pepeunit"],
    "output_base_topic": ["state/pepeunit", "log/pepeunit"],
    "input_topic": ["setpoint/pepeunit"],
    "output_topic": ["temperature/pepeunit"],
}
LIVE_WITHIN_S = 1.0
SHOWS = "([id, text]) => document.getElementById(id)?.textContent.trim() === text"
# The default pipeline keeps at most one value per 5 s: this one keeps every value.
EVERY_VALUE = """
active_period: {type: Permanent}
filters: {type_input_value: Number, max_rate: 0, max_size: 64}
processing_policy: {policy_type: LastValue}
"""


class UnitClient:
    """A unit on the broker: logs in with its token and publishes."""

    def __init__(self, port: int, token: str) -> None:
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.username_pw_set(token, "")
        connected = threading.Event()
        self._client.on_connect = lambda *_: connected.set()
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        assert connected.wait(10), "the unit could not connect to the broker"

    def publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def make_source(root: Path) -> tuple[SourceRepository, str]:
    """The unit's repository, and its commit tagged v1.0.0."""
    (root / "git").mkdir()
    source = SourceRepository(root / "git", "thermometer")
    first = source.commit(
        "Thermometer v1",
        {
            "schema_example.json": json.dumps(SCHEMA).encode(),
            "env_example.json": b'{"DEVICE_LABEL": "unnamed"}\n',
            "main.py": b"print('a thermometer')\n",
        },
    )
    source.tag("v1.0.0", first)
    source.publish()
    return source, first


def create_unit(api: str, source: SourceRepository) -> tuple[str, str]:
    """As the Admin, through the API: a registry, a repo and a unit; its uuid and its output
    node's."""
    with admin_api(api) as call:
        repo = add_public_repo(call, source)
        unit = call(
            "POST", "/units",
            json={"repo_uuid": repo["uuid"], "visibility_level": "Public",
                  "name": "thermometer-1", "is_auto_update_from_repo_unit": True},
        )  # fmt: skip
        nodes = call("GET", f"/unit_nodes?unit_uuid={unit['uuid']}&type=Output")["unit_nodes"]
        (output,) = [node for node in nodes if node["topic_name"] == "temperature/pepeunit"]
        assert output["is_data_pipe_active"]
        pipeline = {"data": ("pipeline.yaml", EVERY_VALUE.encode(), "application/yaml")}
        call("POST", f"/unit_nodes/set_data_pipe_config?uuid={output['uuid']}", files=pipeline)
        return unit["uuid"], output["uuid"]


def test_a_unit_goes_online_and_its_value_shows_live(tmp_path: Path):
    source, version = make_source(tmp_path)
    broker_port = free_loopback_port()
    with (
        running_platform(tmp_path / "data", PU_MQTT_PORT=str(broker_port)) as platform,
        chromium() as browser,
        watched_page(browser) as watched,
    ):
        origin = platform.api.removesuffix(f"{PREFIX}/api/v1")
        page = watched.page
        page.goto(f"{origin}{PREFIX}/")
        expect(page).to_have_url(f"{origin}{PREFIX}/first-run")
        page.get_by_label("Login").fill("admin")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create the Admin").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/units")

        unit, node = create_unit(platform.api, source)
        page.reload()
        row = page.locator(f"#unit-{unit}")
        expect(row).to_contain_text("thermometer-1")
        expect(row).to_contain_text("offline")
        expect(row).to_contain_text("v1.0.0")  # its target, from the registry's clone

        device = UnitClient(broker_port, make_unit_token(UUID(unit), SECRET_KEY))
        try:
            state = json.dumps({"millis": 1000, "mem_free": 20000, "pu_commit_version": version})
            device.publish(report_topic(platform.domain, unit, ReportTopicName.STATE), state)
            expect(row.locator(".badge", has_text="online")).to_be_visible(timeout=15_000)
            expect(row.locator(f"[sse-swap='current-{unit}']")).to_have_text(version[:8])

            value = page.locator(f"#value-{node}")
            topic = node_topic(platform.domain, node, "temperature/pepeunit")
            # The first value also waits for the dataflow to load the unit's pipeline.
            device.publish(topic, "20.5")
            expect(value).to_have_text("20.5", timeout=30_000)
            for reading in ("21.75", "22", "19.125"):
                published = time.monotonic()
                device.publish(topic, reading)
                # Checked in the page every 20 ms (expect() backs off to 500 ms between checks).
                page.wait_for_function(SHOWS, arg=[f"value-{node}", reading], polling=20,
                                       timeout=5_000)  # fmt: skip
                took = time.monotonic() - published
                assert took < LIVE_WITHIN_S, f"{reading} showed {took:.2f} s after the publish"
            watched.screenshot("units-live")
        finally:
            device.close()
        assert watched.errors == []
