"""Unit report grammar (docs/compatibility.md#state-and-log-reports) as plain functions: reserved
state keys with their types, log entries with levels, dates and stable identities."""

from datetime import UTC, datetime, timedelta

import pytest

from flows.units.log_report import parse_log_report
from flows.units.state_report import MalformedReportError, parse_state_report

RECEIVED = datetime(2026, 12, 1, 12, 0, 0, 250_000, tzinfo=UTC)
UNIT = "0f1e2d3c-4b5a-4697-8877-665544332211"


def test_state_keeps_reserved_keys_and_clears_wrong_types():
    state = parse_state_report(
        '{"millis": 12, "mem_free": 1.5, "mem_alloc": true, "freq": "160", '
        '"ifconfig": ["10.0.0.2", "255.0.0.0"], "statvfs": {}, "pu_commit_version": 7, "x": 1}'
    )
    assert state == {
        "millis": 12, "mem_free": 1.5, "mem_alloc": None, "freq": None,
        "ifconfig": ["10.0.0.2", "255.0.0.0"], "statvfs": [], "pu_commit_version": None,
    }  # fmt: skip
    assert parse_state_report("{}")["ifconfig"] == []


@pytest.mark.parametrize("payload", ["", "nope", "[]", '"text"', "1", "NaN"])
def test_state_that_is_not_an_object_is_malformed(payload: str):
    with pytest.raises(MalformedReportError):
        parse_state_report(payload)


def test_log_entries_levels_dates_and_identities():
    text = (
        '[{"level": "warning", "text": "low battery"}, {"level": "Trace", "text": "?"},'
        ' {"text": "no level"}, 5, {"level": "Info", "text": 3},'
        ' {"level": "ERROR", "text": "dated", "create_datetime": "2026-11-30T10:00:00+02:00"},'
        ' {"level": "Debug", "text": "naive", "create_datetime": "2026-11-30T10:00:00"},'
        ' {"level": "Debug", "text": "bad date", "create_datetime": "yesterday"}]'
    )
    parsed = parse_log_report(text, UNIT, 42, RECEIVED, timedelta(days=1))
    assert parsed.skipped == 4
    assert [(row.level, row.text) for row in parsed.rows] == [
        ("Warning", "low battery"), ("Error", "dated"), ("Debug", "naive"), ("Debug", "bad date"),
    ]  # fmt: skip
    created = [row.create_datetime for row in parsed.rows]
    assert created == [
        RECEIVED,
        datetime(2026, 11, 30, 8, tzinfo=UTC),
        datetime(2026, 11, 30, 10, tzinfo=UTC),
        RECEIVED + timedelta(seconds=7),
    ]
    assert {row.expiration_datetime for row in parsed.rows} == {
        datetime(2026, 12, 2, 12, tzinfo=UTC)
    }
    assert len({row.uuid for row in parsed.rows}) == 4
    again = parse_log_report(text, UNIT, 42, RECEIVED, timedelta(days=1))
    assert [row.uuid for row in again.rows] == [row.uuid for row in parsed.rows]
    other = parse_log_report(text, UNIT, 43, RECEIVED, timedelta(days=1))
    assert not {row.uuid for row in other.rows} & {row.uuid for row in parsed.rows}


def test_a_single_entry_and_malformed_logs():
    parsed = parse_log_report('{"level": "info", "text": "one"}', UNIT, 1, RECEIVED, timedelta(1))
    assert [(row.level, row.text, row.unit_uuid) for row in parsed.rows] == [("Info", "one", UNIT)]
    for payload in ("", '"text"', "3", "{"):
        with pytest.raises(MalformedReportError):
            parse_log_report(payload, UNIT, 1, RECEIVED, timedelta(1))
