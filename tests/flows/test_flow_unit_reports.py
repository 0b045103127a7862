"""Unit state and log reports through the live dataflow and a real Mosquitto
(docs/compatibility.md#state-and-log-reports): reserved state keys stored on the unit row, one
report per PU_STATE_SEND_INTERVAL, the firmware update status moved to Success or Error, log entries
in ClickHouse `unit_logs`; malformed and oversized reports are counted and the flow goes on."""

import json
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.db.enums import FirmwareUpdateStatus
from pepeunit_core.db.models import Unit
from pepeunit_core.topics import ReportTopicName, report_topic
from tests.flows.devices import SeededUnit, seed_units
from tests.flows.support import DOMAIN, Publisher, flow_settings, running_flow, wait_until
from tests.services.ports import free_loopback_port

INTERVAL_S = 2


def unit_reports(metrics_port: int) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    pattern = r'^pepeunit_flow_unit_reports_total\{outcome="(\w+)",report="(\w+)"\} ([0-9.]+)$'
    return {(report, outcome): float(n) for outcome, report, n in re.findall(pattern, text, re.M)}


def request_update(url: str, unit: SeededUnit, target: str, requested: datetime) -> None:
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        row = session.get_one(Unit, unit.uuid)
        row.firmware_update_status = FirmwareUpdateStatus.REQUEST_SENT
        row.firmware_update_target_commit = target
        row.last_firmware_update_datetime = requested
        session.commit()


def unit_row(url: str, unit: SeededUnit) -> Unit:
    sessions = make_session_factory(make_engine(url))
    with sessions() as session:
        row = session.get_one(Unit, unit.uuid)
        session.expunge(row)
        return row


def test_state_and_log_reports(tmp_path, sql_url, clickhouse_database, mosquitto_server):
    units = seed_units(sql_url, {"updated": ([], []), "stuck": ([], []), "quiet": ([], [])})
    updated, stuck = units["updated"], units["stuck"]
    now = datetime.now(UTC)
    request_update(sql_url, updated, "c0ffee", now)
    request_update(sql_url, stuck, "new-one", now - timedelta(seconds=10 * INTERVAL_S))
    metrics_port = free_loopback_port()
    settings = flow_settings(
        tmp_path / "data", sql_url, clickhouse_database.dsn, mosquitto_server.port,
        state_send_interval=INTERVAL_S, flow_metrics_port=metrics_port, mqtt_max_payload_size=1,
    )  # fmt: skip
    state_of = {
        name: report_topic(DOMAIN, u.uuid, ReportTopicName.STATE) for name, u in units.items()
    }
    log_of = {name: report_topic(DOMAIN, u.uuid, ReportTopicName.LOG) for name, u in units.items()}
    publisher = Publisher(mosquitto_server.port)

    def state(millis: int, version: str, **extra: object) -> bytes:
        return json.dumps({"millis": millis, "pu_commit_version": version, **extra}).encode()

    with running_flow(settings):
        first = state(5, "c0ffee", mem_free="lots", ifconfig=3, statvfs=[1] * 10, junk=1)
        publisher.publish_raw(state_of["updated"], first).wait_for_publish(5)
        publisher.publish_raw(state_of["updated"], state(6, "c0ffee")).wait_for_publish(5)
        publisher.publish_raw(state_of["stuck"], state(1, "old-one")).wait_for_publish(5)
        for bad in (b"not json", b"[1, 2]", b"\xff\xfe", b"{" + b" " * 2000 + b"}"):
            publisher.publish_raw(state_of["quiet"], bad).wait_for_publish(5)
        entries = [
            {"level": "info", "text": "booted"},
            {"level": "LOUD", "text": "unknown level"},
            {"level": "Error", "text": "sensor timeout", "create_datetime": "2026-01-01T00:00:00Z"},
        ]
        publisher.publish_raw(log_of["updated"], json.dumps(entries).encode()).wait_for_publish(5)
        single = {"level": "CRITICAL", "text": "brown-out"}
        publisher.publish_raw(log_of["updated"], json.dumps(single).encode()).wait_for_publish(5)
        publisher.publish_raw(log_of["quiet"], b'"just a string"').wait_for_publish(5)
        wait_until(lambda: unit_row(sql_url, stuck).unit_state_dict is not None, 15)
        wait_until(lambda: unit_row(sql_url, updated).unit_state_dict is not None, 15)
        time.sleep(INTERVAL_S)
        publisher.publish_raw(state_of["updated"], state(7, "c0ffee")).wait_for_publish(5)
        wait_until(lambda: '"millis":7' in (unit_row(sql_url, updated).unit_state_dict or ""), 15)
        logs_query = (
            f"SELECT level, text, toUnixTimestamp64Milli(create_datetime) FROM unit_logs FINAL "
            f"WHERE unit_uuid = '{updated.uuid}' ORDER BY create_datetime, text"
        )
        wait_until(lambda: len(clickhouse_database.client.query(logs_query).result_rows) == 3, 15)
        counts = unit_reports(metrics_port)
    publisher.close()

    row = unit_row(sql_url, updated)
    assert json.loads(row.unit_state_dict or "") == {
        "millis": 7, "mem_free": None, "mem_alloc": None, "freq": None,
        "ifconfig": [], "statvfs": [], "pu_commit_version": "c0ffee",
    }  # fmt: skip
    assert row.current_commit_version == "c0ffee"
    assert row.firmware_update_status is FirmwareUpdateStatus.SUCCESS
    assert row.last_firmware_update_datetime is None
    stuck_row = unit_row(sql_url, stuck)
    assert stuck_row.firmware_update_status is FirmwareUpdateStatus.ERROR
    assert "old-one" in (stuck_row.firmware_update_error or "")
    assert unit_row(sql_url, units["quiet"]).unit_state_dict is None

    logs = clickhouse_database.client.query(logs_query).result_rows
    assert [(level, text) for level, text, _ in logs] == [
        ("Error", "sensor timeout"), ("Info", "booted"), ("Critical", "brown-out"),
    ]  # fmt: skip
    assert logs[0][2] == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * 1000
    assert counts[("state", "accepted")] == 3
    assert counts[("state", "throttled")] == 1
    assert counts[("state", "malformed")] == 3
    assert counts[("state", "too_large")] == 1
    assert counts[("log", "accepted")] == 2
    assert counts[("log", "malformed")] == 1
