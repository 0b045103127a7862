"""The unit page of a real `pepeunit up` in Chromium, with a device on the embedded broker: an
env value edited in the form reaches the device as EnvUpdate and it reads its new env.json;
the firmware archive downloads with the env; another user sees neither the private unit in
the list nor its page. Screenshots: the artifacts dir; docs/images/console-unit.png with
PU_UPDATE_DOCS_IMAGES=1 (browser.docs_image)."""

import io
import json
import threading
import zipfile
from pathlib import Path
from uuid import UUID

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Page, expect

from control_plane.security import make_unit_token
from pepeunit_core.topics import CommandTopicName, ReportTopicName, command_topic, report_topic
from tests.console.browser import chromium, docs_image, watched_page
from tests.console.console_client import PASSWORD, PREFIX
from tests.console.platform_api import add_public_repo, admin_api
from tests.console.test_browser_platform import make_source
from tests.control_plane_registry.git_sources import SourceRepository
from tests.e2e.platform import SECRET_KEY, running_platform
from tests.services.ports import free_loopback_port


class Device:
    """The unit's program on the broker: on EnvUpdate it downloads its env.json, as the
    reference client does (docs/compatibility.md#commands)."""

    def __init__(self, port: int, api: str, domain: str, unit: str) -> None:
        self._token = make_unit_token(UUID(unit), SECRET_KEY)
        self._api, self._unit = api, unit
        self.envs: list[dict] = []
        self.received = threading.Event()
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.username_pw_set(self._token, "")
        self._client.on_message = self._on_message
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._client.subscribe(command_topic(domain, unit, CommandTopicName.ENV_UPDATE), 1)
        assert subscribed.wait(10), "the device could not subscribe"
        self._client.publish(
            report_topic(domain, unit, ReportTopicName.STATE), json.dumps({"millis": 1}), qos=1
        ).wait_for_publish(5)

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if json.loads(message.payload) != {"COMMAND": "EnvUpdate"}:
            return
        answer = httpx.get(
            f"{self._api}/units/env/{self._unit}", headers={"x-auth-token": self._token}
        )
        self.envs.append(answer.json())
        self.received.set()

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def create_private_unit(api: str, source: SourceRepository) -> str:
    """As the Admin, through the API: a registry, a repo and a Private unit."""
    with admin_api(api) as call:
        repo = add_public_repo(call, source)
        unit = call(
            "POST", "/units",
            json={"repo_uuid": repo["uuid"], "visibility_level": "Private",
                  "name": "thermometer-private", "is_auto_update_from_repo_unit": True},
        )  # fmt: skip
    second = httpx.post(f"{api}/users", json={"login": "second", "password": PASSWORD})
    assert second.status_code == 201, second.text
    return unit["uuid"]


def sign_in(page: Page, origin: str, login: str) -> None:
    page.goto(f"{origin}{PREFIX}/sign-in")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{origin}{PREFIX}/units")


def test_the_unit_page_edits_the_env_and_downloads_the_firmware(tmp_path: Path):
    source, _ = make_source(tmp_path)
    broker_port = free_loopback_port()
    with (
        running_platform(tmp_path / "data", PU_MQTT_PORT=str(broker_port)) as platform,
        chromium() as browser,
    ):
        origin = platform.api.removesuffix(f"{PREFIX}/api/v1")
        with watched_page(browser) as watched:
            page = watched.page
            page.goto(f"{origin}{PREFIX}/first-run")
            page.get_by_label("Login").fill("admin")
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_label("Password again").fill(PASSWORD)
            page.get_by_role("button", name="Create the Admin").click()
            expect(page).to_have_url(f"{origin}{PREFIX}/units")

            unit = create_private_unit(platform.api, source)
            device = Device(broker_port, platform.api, platform.domain, unit)
            try:
                page.reload()
                page.get_by_role("link", name="thermometer-private").click()
                expect(page).to_have_url(f"{origin}{PREFIX}/units/{unit}")
                expect(page.locator(".unit-status .badge", has_text="online")).to_be_visible(
                    timeout=15_000
                )
                label = page.get_by_label("DEVICE_LABEL")
                expect(label).to_have_value("unnamed")
                expect(page.get_by_label("PU_AUTH_TOKEN")).to_have_value("")
                label.fill("greenhouse")
                page.get_by_role("button", name="Save env").click()
                expect(page.locator(".notice")).to_contain_text("sent EnvUpdate")
                assert device.received.wait(15), "the device got no EnvUpdate"
                assert device.envs[-1]["DEVICE_LABEL"] == "greenhouse"
                expect(page.get_by_label("DEVICE_LABEL")).to_have_value("greenhouse")

                with page.expect_download() as download:
                    page.get_by_role("link", name="zip", exact=True).click()
                archive = Path(download.value.path())
                with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as opened:
                    assert opened.testzip() is None
                    env = json.loads(opened.read("env.json"))
                assert env["DEVICE_LABEL"] == "greenhouse"
                assert env["PU_AUTH_TOKEN"] == device.envs[-1]["PU_AUTH_TOKEN"]

                page.goto(f"{origin}{PREFIX}/units/{unit}")
                expect(page.get_by_label("DEVICE_LABEL")).to_have_value("greenhouse")
                watched.screenshot("unit-page")
                docs_image(page, "console-unit")
            finally:
                device.close()
            assert watched.errors == []

        with watched_page(browser) as watched:
            page = watched.page
            sign_in(page, origin, "second")
            expect(page.locator("#units-table")).not_to_contain_text("thermometer-private")
            refused = page.goto(f"{origin}{PREFIX}/units/{unit}")
            assert refused is not None and refused.status == 403
            expect(page.locator("main")).to_contain_text("No access to this unit")
            expect(page.locator("main")).not_to_contain_text("DEVICE_LABEL")
            watched.errors.clear()  # the browser reports the 403 itself
