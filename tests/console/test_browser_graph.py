"""The graph page of a real `pepeunit up` in Chromium: an edge drawn by clicking a unit's Output
node and another unit's Input node in the drawing routes the first unit's values to the second
over MQTT (docs/compatibility.md#routing-by-the-dataflow), and a second open page shows the new
edge without a reload. Its screenshot is the README's picture of the graph
(PU_UPDATE_DOCS_IMAGES=1 rewrites it: browser.docs_image)."""

import re
import threading
import time
from pathlib import Path
from uuid import UUID

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Page, expect

from control_plane.security import make_unit_token
from pepeunit_core.topics import node_topic
from tests.console.browser import chromium, docs_image, watched_page
from tests.console.console_client import PASSWORD, PREFIX
from tests.console.platform_api import add_public_repo, admin_api
from tests.console.test_browser_platform import UnitClient, make_source
from tests.control_plane_registry.git_sources import SourceRepository
from tests.e2e.platform import SECRET_KEY, running_platform
from tests.services.ports import free_loopback_port

DRAWN = "([id, version]) => document.getElementById(id)?.dataset.version === version"
HAS_ELEMENT = "(id) => document.getElementById('graph-canvas').cy.getElementById(id).nonempty()"


class Listener:
    """A unit on the broker that subscribes to its input node's topic."""

    def __init__(self, port: int, token: str, topic: str) -> None:
        self.received: list[str] = []
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.username_pw_set(token, "")
        subscribed = threading.Event()
        self._client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.on_message = lambda _c, _u, message: self.received.append(
            message.payload.decode()
        )
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        assert subscribed.wait(10), "the unit could not subscribe"

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def make_units(api: str, source: SourceRepository, names: list[str]) -> dict[str, dict[str, str]]:
    """As the Admin, through the API: per unit, its uuid and its nodes' uuids by topic."""
    with admin_api(api) as call:
        repo = add_public_repo(call, source)
        units = {}
        for name in names:
            unit = call(
                "POST", "/units",
                json={"repo_uuid": repo["uuid"], "visibility_level": "Public", "name": name,
                      "is_auto_update_from_repo_unit": True},
            )  # fmt: skip
            nodes = call("GET", f"/unit_nodes?unit_uuid={unit['uuid']}")["unit_nodes"]
            units[name] = {"uuid": unit["uuid"]} | {n["topic_name"]: n["uuid"] for n in nodes}
        call(
            "POST", "/unit_nodes/create_unit_node_edge",
            json={"node_output_uuid": units["sensor"]["temperature/pepeunit"],
                  "node_input_uuid": units["display"]["setpoint/pepeunit"]},
        )  # fmt: skip
        return units


def click_node(page: Page, node: str) -> None:
    """Clicks where cytoscape drew the node."""
    position = page.evaluate(
        "(id) => document.getElementById('graph-canvas').cy.getElementById(id).renderedPosition()",
        node,
    )
    box = page.locator("#graph-canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + position["x"], box["y"] + position["y"])


def test_an_edge_drawn_in_the_graph_routes_values_and_shows_in_another_page(tmp_path: Path):
    source, _ = make_source(tmp_path)
    broker_port = free_loopback_port()
    with (
        running_platform(tmp_path / "data", PU_MQTT_PORT=str(broker_port)) as platform,
        chromium() as browser,
        watched_page(browser) as watched,
    ):
        origin = platform.api.removesuffix(f"{PREFIX}/api/v1")
        page = watched.page
        page.goto(f"{origin}{PREFIX}/")
        page.get_by_label("Login").fill("admin")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create the Admin").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/units")

        units = make_units(platform.api, source, ["display", "heater", "sensor"])
        output = units["sensor"]["temperature/pepeunit"]
        input_ = units["heater"]["setpoint/pepeunit"]
        edge = f"edge-{output}-{input_}"
        other = page.context.new_page()  # the same session: a second tab
        other_errors: list[str] = []
        other.on("pageerror", lambda error: other_errors.append(str(error)))
        for shown in (page, other):
            shown.goto(f"{origin}{PREFIX}/graph")
            expect(shown.locator("#graph")).to_have_attribute(
                "data-version", re.compile(r"^[0-9a-f]{16}$")
            )
        expect(other.locator("#graph-edges")).to_contain_text("sensor · temperature/pepeunit")

        heater = Listener(
            broker_port,
            make_unit_token(UUID(units["heater"]["uuid"]), SECRET_KEY),
            node_topic(platform.domain, input_, "setpoint/pepeunit"),
        )
        sensor = UnitClient(broker_port, make_unit_token(UUID(units["sensor"]["uuid"]), SECRET_KEY))
        try:
            click_node(page, output)
            expect(page.locator("#graph-hint")).to_contain_text("now select an Input node")
            click_node(page, input_)
            expect(page.locator("#graph-hint")).to_contain_text(
                "Create the edge from sensor · temperature/pepeunit to heater · setpoint/pepeunit"
            )
            page.get_by_role("button", name="Create edge").click()
            expect(page.locator("#graph-hint")).to_have_text("The edge is created.")
            expect(page.locator(f"#{edge}")).to_be_visible()
            page.wait_for_function(HAS_ELEMENT, arg=edge, timeout=5_000)

            # The other tab follows through its stream, without a reload.
            other.wait_for_function(HAS_ELEMENT, arg=edge, timeout=5_000)
            expect(other.locator(f"#{edge}")).to_be_visible(timeout=5_000)

            topic = node_topic(platform.domain, output, "temperature/pepeunit")
            deadline = time.monotonic() + 30
            while "23.5" not in heater.received and time.monotonic() < deadline:
                sensor.publish(topic, "23.5")  # until the dataflow loaded the new edge
                time.sleep(0.5)
            assert "23.5" in heater.received, "the value was not routed to the heater"

            page.locator("#graph-fit").click()
            watched.screenshot("graph-live")
            docs_image(page, "console-graph")  # the README's picture
        finally:
            sensor.close()
            heater.close()
        assert watched.errors == []
        assert other_errors == []
