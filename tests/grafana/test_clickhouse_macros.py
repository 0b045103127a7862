"""The macro expander mirrors the ClickHouse plugin's documented output examples exactly."""

from datetime import UTC, datetime

import pytest

from tests.grafana.clickhouse_macros import QueryContext, UnknownMacroError, expand_macros

# The time range of the plugin's documentation examples: 1415792726.123 .. 1447328726.456.
CONTEXT = QueryContext(
    datetime(2014, 11, 12, 11, 45, 26, 123000, tzinfo=UTC),
    datetime(2015, 11, 12, 11, 45, 26, 456000, tzinfo=UTC),
    interval_s=20,
)


@pytest.mark.parametrize(
    ("macro", "expansion"),
    [
        (
            "$__timeFilter(time)",
            "time >= toDateTime(1415792726) AND time <= toDateTime(1447328726)",
        ),
        (
            "$__timeFilter_ms(time)",
            "time >= fromUnixTimestamp64Milli(1415792726123)"
            " AND time <= fromUnixTimestamp64Milli(1447328726456)",
        ),
        ("$__dateFilter(date)", "date >= toDate('2014-11-12') AND date <= toDate('2015-11-12')"),
        ("$__timeFrom(time)", "time >= toDateTime(1415792726)"),
        ("$__timeTo(time)", "time <= toDateTime(1447328726)"),
        ("$__fromTime", "toDateTime(1415792726)"),
        ("$__toTime", "toDateTime(1447328726)"),
        ("$__fromTime_ms", "fromUnixTimestamp64Milli(1415792726123)"),
        ("$__toTime_ms", "fromUnixTimestamp64Milli(1447328726456)"),
        ("$__interval_s", "20"),
        ("$__timeInterval(column)", "toStartOfInterval(toDateTime(column), INTERVAL 20 second)"),
    ],
)
def test_documented_expansions(macro: str, expansion: str) -> None:
    assert expand_macros(f"SELECT 1 WHERE {macro}", CONTEXT) == f"SELECT 1 WHERE {expansion}"


@pytest.mark.parametrize("sql", ["SELECT $__nope", "SELECT $__timeFilter(a, b)", "$__timeFilter"])
def test_anything_else_is_refused(sql: str) -> None:
    with pytest.raises(UnknownMacroError):
        expand_macros(sql, CONTEXT)
