"""A node's Pipeline and Data pages on a real `pepeunit up` in Chromium, with a unit publishing
over MQTT: Check shows a bad field inline with its line, Try runs the draft on an uploaded
recording, Apply makes it the node's pipeline, and the values the unit publishes next are
drawn and listed on the Data page."""

import json
import re
import time
from pathlib import Path
from uuid import UUID

from playwright.sync_api import expect

from control_plane.security import make_unit_token
from pepeunit_core.topics import node_topic
from tests.console.browser import chromium, watched_page
from tests.console.console_client import PASSWORD, PREFIX
from tests.console.test_browser_platform import UnitClient, create_unit, make_source
from tests.e2e.platform import SECRET_KEY, running_platform
from tests.services.ports import free_loopback_port

BAD_FIELD = """active_period: {type: Permanent}
filters:
  type_input_value: Number
  max_rate: -5
  max_size: 64
processing_policy: {policy_type: NRecords, n_records_count: 50}
"""
DRAFT = """active_period: {type: Permanent}
filters: {type_input_value: Number, max_rate: 0, max_size: 64}
transformations: {multiplication_ratio: 10}
processing_policy: {policy_type: NRecords, n_records_count: 50}
"""
RECORDING = [
    {"t": "2026-01-01T00:00:00Z", "payload": "1.5"},
    {"t": "2026-01-01T00:00:05Z", "payload": "warm"},
    {"t": "2026-01-01T00:00:10Z", "payload": "2"},
]
STORED_ROWS = 3


def test_check_try_apply_then_the_data_page_draws_the_stored_rows(tmp_path: Path):
    source, _version = make_source(tmp_path)
    recording = tmp_path / "messages.jsonl"
    recording.write_text("".join(json.dumps(line) + "\n" for line in RECORDING))
    broker_port = free_loopback_port()
    with (
        running_platform(tmp_path / "data", PU_MQTT_PORT=str(broker_port)) as platform,
        chromium() as browser,
        watched_page(browser) as watched,
    ):
        origin = platform.api.removesuffix(f"{PREFIX}/api/v1")
        page = watched.page
        page.goto(f"{origin}{PREFIX}/first-run")
        page.get_by_label("Login").fill("admin")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create the Admin").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/units")
        unit, node = create_unit(platform.api, source)

        page.reload()
        page.get_by_role("link", name="temperature/pepeunit").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/nodes/{node}/data")
        page.get_by_role("link", name="Pipeline", exact=True).click()
        expect(page).to_have_url(f"{origin}{PREFIX}/nodes/{node}/pipeline")
        editor = page.get_by_label("Pipeline YAML")
        expect(editor).to_have_value(re.compile("policy_type: LastValue"))

        editor.fill(BAD_FIELD)
        page.get_by_role("button", name="Check").click()
        issue = page.locator("#check-result .issues li")
        expect(issue).to_have_count(1)
        expect(issue).to_contain_text("line 4")
        expect(issue).to_contain_text("Filters.max_rate")
        watched.screenshot("node-pipeline-check")

        editor.fill(DRAFT)
        page.get_by_label("a recording").check()
        page.locator("#recording-file").set_input_files(recording)
        page.get_by_role("button", name="Try").click()
        trial = page.locator("#trial")
        expect(trial).to_contain_text("3 messages: 2 accepted, 1 rejected")
        expect(page.locator("#trial-draft")).to_contain_text("15.000000")
        expect(page.locator("#trial-draft")).to_contain_text("20.000000")
        expect(page.locator("#trial-active output")).to_have_text(re.compile(r"^2(\.0+)?$"))
        watched.screenshot("node-pipeline-try")

        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#applied")).to_be_visible()
        expect(editor).to_have_value(re.compile("multiplication_ratio: 10"))

        device = UnitClient(broker_port, make_unit_token(UUID(unit), SECRET_KEY))
        topic = node_topic(platform.domain, node, "temperature/pepeunit")
        try:
            data = f"{origin}{PREFIX}/nodes/{node}/data"
            deadline = time.monotonic() + 60
            reading = 0
            while True:
                reading += 1
                device.publish(topic, str(reading))
                time.sleep(0.5)
                page.goto(data)
                rows = page.locator("#rows tbody tr")
                if rows.count() >= STORED_ROWS:
                    break
                assert time.monotonic() < deadline, "the applied pipeline stored no rows"
        finally:
            device.close()
        expect(page.locator("#chart")).to_have_attribute("data-drawn", str(rows.count()))
        expect(page.locator("#chart canvas")).to_be_visible()
        expect(rows.first).to_contain_text(f"{reading * 10}.000000")
        watched.screenshot("node-data")
        assert watched.errors == []
