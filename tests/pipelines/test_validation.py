"""Validation of the reference pipeline config (docs/pipelines.md#validation,
docs/compatibility.md#naive-datetimes-are-errors) and of the node / unit+topic binding of a pipeline
file."""

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.binding import validate_binding
from pipelines.files import check_pipeline_files
from pipelines.validation import validate_config

NODE = "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"
TIME_WINDOW_SIZES = [
    60, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 43200, 86400,
]  # fmt: skip
"""docs/pipelines.md#processing-policy, written out here rather than imported from the code under
test."""

_BASE: dict[str, Any] = {
    "active_period": {"type": "Permanent"},
    "filters": {"type_input_value": "Number", "max_rate": 0, "max_size": 32},
    "processing_policy": {"policy_type": "LastValue"},
}


NULL = object()
"""Marks an explicit null section in `make_doc`."""
OMIT = object()
"""Marks a field left out in `filters`."""


def make_doc(**sections: Any) -> dict[str, Any]:
    """A valid minimal config with whole sections replaced; a section given as None is removed
    (use `transformations=NULL` to get an explicit null)."""
    document = copy.deepcopy(_BASE)
    for key, value in sections.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = None if value is NULL else value
    return document


def filters(**fields: Any) -> dict[str, Any]:
    section = {"type_input_value": "Number", "max_rate": 0, "max_size": 32}
    section.update(fields)
    return {key: value for key, value in section.items() if value is not OMIT}


def triples(document: Any, **kwargs: Any) -> list[tuple[str, str, str]]:
    _, issues = validate_config(document, **kwargs)
    return [(issue.stage, issue.field, issue.rule) for issue in issues]


def assert_valid(document: Any, **kwargs: Any):
    config, issues = validate_config(document, **kwargs)
    assert issues == []
    assert config is not None
    return config


def assert_single_issue(
    document: Any, stage: str, field: str, rule: str, message_part: str, **kwargs: Any
) -> None:
    config, issues = validate_config(document, **kwargs)
    assert config is None
    assert [(i.stage, i.field, i.rule) for i in issues] == [(stage, field, rule)], issues
    assert message_part.lower() in issues[0].message.lower(), issues[0].message


def yaml_period(text: str) -> dict[str, Any]:
    """An active_period written in YAML, so unquoted timestamps become YAML timestamps."""
    return yaml.safe_load(text)


# --- active_period (docs/pipelines.md#active-period) ----------------------------------------------


@pytest.mark.parametrize(
    "period",
    [
        pytest.param({"type": "Permanent"}, id="permanent"),
        pytest.param(
            {"type": "Permanent", "start": "2030-01-01T00:00:00Z", "end": "2020-01-01T00:00:00Z"},
            id="permanent-ignores-extra-reversed-bounds",
        ),
        pytest.param({"type": "FromDate", "start": "2024-01-01T00:00:00Z"}, id="from-quoted-Z"),
        pytest.param(
            {"type": "FromDate", "start": "2024-01-01T00:00:00+00:00"}, id="from-quoted-offset"
        ),
        pytest.param(
            yaml_period("{type: FromDate, start: 2024-01-01T00:00:00Z}"), id="from-unquoted-Z"
        ),
        pytest.param(
            yaml_period("{type: FromDate, start: 2024-01-01T00:00:00+02:00}"),
            id="from-unquoted-offset",
        ),
        pytest.param(
            {"type": "FromDate", "start": "2024-01-01T00:00:00Z", "end": "2000-01-01T00:00:00Z"},
            id="from-ignores-end",
        ),
        pytest.param({"type": "ToDate", "end": "2030-01-01T00:00:00Z"}, id="to-quoted-Z"),
        pytest.param(yaml_period("{type: ToDate, end: 2030-01-01T00:00:00Z}"), id="to-unquoted"),
        pytest.param(
            {"type": "DateRange", "start": "2024-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"},
            id="range",
        ),
        pytest.param(
            {
                "type": "DateRange",
                "start": "2024-01-01T00:00:00.000Z",
                "end": "2024-01-01T00:00:00.001Z",
            },
            id="range-one-ms",
        ),
        pytest.param(
            yaml_period(
                "{type: DateRange, start: 2024-01-01T00:00:00Z, end: 2024-01-01T00:00:01+00:00}"
            ),
            id="range-unquoted",
        ),
    ],
)
def test_active_period_valid(period):
    config = assert_valid(make_doc(active_period=period))
    assert config.active_period.type == period["type"]


def test_active_period_datetimes_are_aware_and_keep_the_instant():
    period = yaml_period(
        "{type: DateRange, start: 2024-01-01T02:00:00+02:00, end: '2030-01-01T00:00:00Z'}"
    )
    config = assert_valid(make_doc(active_period=period))
    assert config.active_period.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert config.active_period.start.utcoffset() is not None
    assert config.active_period.end == datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "field", "rule", "message_part"),
    [
        pytest.param({"type": "Forever"}, "type", "enum", "'Permanent'", id="type-unknown"),
        pytest.param({"type": "permanent"}, "type", "enum", "'DateRange'", id="type-lowercase"),
        pytest.param({"start": "2024-01-01T00:00:00Z"}, "type", "missing", "Field required"),
        pytest.param(
            {"type": "FromDate"}, "start", "bounds", "start must be provided", id="from-no-start"
        ),
        pytest.param(
            {"type": "FromDate", "start": None, "end": "2030-01-01T00:00:00Z"},
            "start",
            "bounds",
            "start must be provided",
            id="from-null-start",
        ),
        pytest.param({"type": "ToDate"}, "end", "bounds", "end must be provided", id="to-no-end"),
        pytest.param(
            {"type": "ToDate", "start": "2024-01-01T00:00:00Z"},
            "end",
            "bounds",
            "end must be provided",
            id="to-start-only",
        ),
        pytest.param(
            {"type": "DateRange", "start": "2024-01-01T00:00:00Z"},
            "end",
            "bounds",
            "start and end must be provided",
            id="range-no-end",
        ),
        pytest.param(
            {"type": "DateRange", "end": "2030-01-01T00:00:00Z"},
            "start",
            "bounds",
            "start and end must be provided",
            id="range-no-start",
        ),
        pytest.param(
            {"type": "DateRange"},
            "start",
            "bounds",
            "start and end must be provided",
            id="range-no-bounds",
        ),
        pytest.param(
            {"type": "DateRange", "start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
            "end",
            "order",
            "earlier",
            id="range-equal",
        ),
        pytest.param(
            {
                "type": "DateRange",
                "start": "2024-01-01T01:00:00+01:00",
                "end": "2024-01-01T00:00:00Z",
            },
            "end",
            "order",
            "earlier",
            id="range-equal-instant-other-zone",
        ),
        pytest.param(
            {"type": "DateRange", "start": "2030-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
            "end",
            "order",
            "earlier",
            id="range-reversed",
        ),
        # docs/compatibility.md#naive-datetimes-are-errors: a datetime without a zone is an error
        # (the reference silently ignored the node).
        pytest.param(
            {"type": "FromDate", "start": "2023-11-15T00:00:00"},
            "start",
            "timezone_aware",
            "timezone",
            id="naive-quoted-start",
        ),
        pytest.param(
            yaml_period("{type: FromDate, start: 2023-11-15T00:00:00}"),
            "start",
            "timezone_aware",
            "timezone",
            id="naive-unquoted-start",
        ),
        pytest.param(
            yaml_period("{type: ToDate, end: 2030-01-01 00:00:00}"),
            "end",
            "timezone_aware",
            "timezone",
            id="naive-unquoted-end-space",
        ),
        pytest.param(
            {"type": "DateRange", "start": "2024-01-01T00:00:00Z", "end": "2030-01-01T00:00:00"},
            "end",
            "timezone_aware",
            "timezone",
            id="naive-range-end",
        ),
        pytest.param(
            {"type": "Permanent", "start": "2024-01-01T00:00:00"},
            "start",
            "timezone_aware",
            "timezone",
            id="naive-even-when-ignored-by-permanent",
        ),
    ],
)
def test_active_period_invalid(period, field, rule, message_part):
    assert_single_issue(make_doc(active_period=period), "ActivePeriod", field, rule, message_part)


def test_active_period_start_not_a_datetime():
    _, issues = validate_config(make_doc(active_period={"type": "FromDate", "start": "soon"}))
    assert [(i.stage, i.field) for i in issues] == [("ActivePeriod", "start")]
    assert issues[0].rule.startswith("datetime")


def test_naive_yaml_timestamp_really_is_naive():
    """Guards the fix-8 cases above: PyYAML gives a naive datetime for a zoneless timestamp."""
    period = yaml_period("{type: FromDate, start: 2023-11-15T00:00:00}")
    assert isinstance(period["start"], datetime)
    assert period["start"].tzinfo is None
    zoned = yaml_period("{type: FromDate, start: 2023-11-15T00:00:00Z}")
    assert zoned["start"].utcoffset() == timedelta(0)


# --- filters (docs/pipelines.md#filters) ----------------------------------------------------------


@pytest.mark.parametrize(
    "section",
    [
        pytest.param(filters(), id="number-minimal"),
        pytest.param(filters(type_input_value="Text"), id="text-minimal"),
        pytest.param(
            filters(type_value_filtering="WhiteList", filtering_values=[1, 2.5, -3, 0]),
            id="number-whitelist-numbers",
        ),
        pytest.param(
            filters(type_value_filtering="BlackList", filtering_values=[-127.0, 85.0]),
            id="number-blacklist-floats",
        ),
        pytest.param(
            filters(
                type_input_value="Text",
                type_value_filtering="WhiteList",
                filtering_values=["Open", "Closed", "1"],
            ),
            id="text-whitelist-strings",
        ),
        pytest.param(
            filters(type_input_value="Text", type_value_filtering="BlackList", filtering_values=[]),
            id="text-blacklist-empty",
        ),
        pytest.param(
            filters(type_value_filtering="WhiteList"), id="whitelist-without-values-accepted"
        ),
        pytest.param(
            filters(type_value_filtering="WhiteList", filtering_values=None),
            id="whitelist-null-values",
        ),
        pytest.param(filters(filtering_values=["a", "b"]), id="number-strings-without-type"),
        pytest.param(
            filters(type_input_value="Text", filtering_values=[1, 2.5]),
            id="text-numbers-without-type",
        ),
        pytest.param(
            filters(type_value_filtering=None, filtering_values=["a"]),
            id="number-strings-null-type",
        ),
        pytest.param(filters(type_value_threshold="Min", threshold_min=-5), id="min"),
        pytest.param(filters(type_value_threshold="Max", threshold_max=5), id="max"),
        pytest.param(
            filters(type_value_threshold="Range", threshold_min=-1, threshold_max=0), id="range"
        ),
        pytest.param(
            filters(type_value_threshold="Min", threshold_min=0, threshold_max=-10),
            id="min-ignores-max",
        ),
        pytest.param(filters(threshold_min=7, threshold_max=1), id="bounds-without-threshold"),
        pytest.param(
            filters(type_input_value="Text", type_value_threshold="Min"), id="text-min-no-bound"
        ),
        pytest.param(
            filters(type_input_value="Text", type_value_threshold="Max"), id="text-max-no-bound"
        ),
        pytest.param(
            filters(type_input_value="Text", type_value_threshold="Range"),
            id="text-range-no-bounds",
        ),
        pytest.param(
            filters(
                type_input_value="Text",
                type_value_threshold="Range",
                threshold_min=5,
                threshold_max=1,
            ),
            id="text-range-reversed",
        ),
        pytest.param(filters(max_rate=0), id="max-rate-0"),
        pytest.param(filters(max_rate=86400), id="max-rate-86400"),
        pytest.param(filters(max_size=0), id="max-size-0"),
        pytest.param(filters(max_size=262144), id="max-size-262144"),
        pytest.param(filters(last_unique_check=True), id="unique-true"),
        pytest.param(filters(colour="red"), id="unknown-key-ignored"),
    ],
)
def test_filters_valid(section):
    assert_valid(make_doc(filters=section))


def test_last_unique_check_defaults_to_false():
    config = assert_valid(make_doc(filters=filters()))
    assert config.filters.last_unique_check is False
    config = assert_valid(make_doc(filters=filters(last_unique_check=True)))
    assert config.filters.last_unique_check is True


@pytest.mark.parametrize("value", [5.0, -3.0])
def test_integral_float_thresholds_are_accepted_as_integers(value):
    section = filters(type_value_threshold="Range", threshold_min=value, threshold_max=100.0)
    config = assert_valid(make_doc(filters=section))
    assert config.filters.threshold_min == value
    assert type(config.filters.threshold_min) is int
    assert type(config.filters.threshold_max) is int


@pytest.mark.parametrize(
    ("section", "field", "rule", "message_part"),
    [
        pytest.param(
            filters(type_input_value=OMIT), "type_input_value", "missing", "Field required"
        ),
        pytest.param(filters(type_input_value="Float"), "type_input_value", "enum", "'Number'"),
        pytest.param(filters(type_input_value="text"), "type_input_value", "enum", "'Text'"),
        pytest.param(filters(type_input_value=None), "type_input_value", "enum", "'Number'"),
        pytest.param(
            filters(type_value_filtering="GreyList"), "type_value_filtering", "enum", "'WhiteList'"
        ),
        pytest.param(
            filters(type_value_filtering="WhiteList", filtering_values=["a"]),
            "filtering_values",
            "item_type",
            "must be numbers",
            id="number-whitelist-string",
        ),
        pytest.param(
            filters(type_value_filtering="BlackList", filtering_values=[1, "2"]),
            "filtering_values",
            "item_type",
            "must be numbers",
            id="number-blacklist-numeric-string",
        ),
        pytest.param(
            filters(
                type_input_value="Text", type_value_filtering="WhiteList", filtering_values=[1]
            ),
            "filtering_values",
            "item_type",
            "must be strings",
            id="text-whitelist-int",
        ),
        pytest.param(
            filters(
                type_input_value="Text",
                type_value_filtering="BlackList",
                filtering_values=["a", 2.5],
            ),
            "filtering_values",
            "item_type",
            "must be strings",
            id="text-blacklist-float",
        ),
        pytest.param(
            filters(filtering_values="Open"),
            "filtering_values",
            "list_type",
            "valid list",
            id="values-not-a-list",
        ),
        pytest.param(
            filters(filtering_values=[1, [2]]),
            "filtering_values[1]",
            "item_type",
            "string or a number",
            id="values-nested-list",
        ),
        pytest.param(
            filters(type_value_threshold="Between"), "type_value_threshold", "enum", "'Range'"
        ),
        pytest.param(
            filters(type_value_threshold="Min", threshold_min=0.5),
            "threshold_min",
            "int_from_float",
            "integer",
            id="min-half",
        ),
        pytest.param(
            filters(threshold_max=1.5),
            "threshold_max",
            "int_from_float",
            "integer",
            id="max-fraction-even-unused",
        ),
        pytest.param(
            filters(type_value_threshold="Min"),
            "threshold_min",
            "bounds",
            "threshold_min must be provided",
            id="min-missing",
        ),
        pytest.param(
            filters(type_value_threshold="Min", threshold_max=10),
            "threshold_min",
            "bounds",
            "threshold_min must be provided",
            id="min-given-max-only",
        ),
        pytest.param(
            filters(type_value_threshold="Max", threshold_min=1),
            "threshold_max",
            "bounds",
            "threshold_max must be provided",
            id="max-missing",
        ),
        pytest.param(
            filters(type_value_threshold="Range", threshold_max=10),
            "threshold_min",
            "bounds",
            "threshold_min must be provided",
            id="range-no-min",
        ),
        pytest.param(
            filters(type_value_threshold="Range", threshold_min=10),
            "threshold_max",
            "bounds",
            "threshold_max must be provided",
            id="range-no-max",
        ),
        pytest.param(
            filters(type_value_threshold="Range", threshold_min=10, threshold_max=10),
            "threshold_max",
            "order",
            "less than",
            id="range-equal",
        ),
        pytest.param(
            filters(type_value_threshold="Range", threshold_min=10, threshold_max=-10),
            "threshold_max",
            "order",
            "less than",
            id="range-reversed",
        ),
        pytest.param(filters(max_rate=OMIT), "max_rate", "missing", "Field required"),
        pytest.param(
            filters(max_rate=-1),
            "max_rate",
            "greater_than_equal",
            "greater than or equal to 0",
            id="max-rate-negative",
        ),
        pytest.param(
            filters(max_rate=86401),
            "max_rate",
            "less_than_equal",
            "less than or equal to 86400",
            id="max-rate-86401",
        ),
        pytest.param(filters(max_rate="often"), "max_rate", "int_parsing", "valid integer"),
        pytest.param(filters(max_size=OMIT), "max_size", "missing", "Field required"),
        pytest.param(
            filters(max_size=-1),
            "max_size",
            "greater_than_equal",
            "greater than or equal to 0",
            id="max-size-negative",
        ),
        pytest.param(
            filters(max_size=262145),
            "max_size",
            "less_than_equal",
            "less than or equal to 262144",
            id="max-size-262145",
        ),
        pytest.param(
            filters(last_unique_check="maybe"), "last_unique_check", "bool_parsing", "boolean"
        ),
    ],
)
def test_filters_invalid(section, field, rule, message_part):
    assert_single_issue(make_doc(filters=section), "Filters", field, rule, message_part)


@pytest.mark.parametrize(
    "section",
    [
        pytest.param(filters(filtering_values=[None]), id="no-filtering-type"),
        pytest.param(
            filters(type_value_filtering="WhiteList", filtering_values=[1, None]), id="number"
        ),
        pytest.param(
            filters(
                type_input_value="Text",
                type_value_filtering="BlackList",
                filtering_values=["a", "b", None],
            ),
            id="text",
        ),
    ],
)
def test_null_filtering_value_gives_one_error_naming_the_item(section):
    """pydantic reports a bad `str | int | float` item once per union member: one issue only."""
    index = len(section["filtering_values"]) - 1
    assert_single_issue(
        make_doc(filters=section),
        "Filters",
        f"filtering_values[{index}]",
        "item_type",
        "string or a number",
    )


@pytest.mark.parametrize(
    ("max_payload_size", "max_size", "valid"),
    [
        (1024, 1024, True),
        (1024, 1025, False),
        (1024, 0, True),
        (512 * 1024, 262145, True),
        (512 * 1024, 512 * 1024, True),
        (512 * 1024, 512 * 1024 + 1, False),
    ],
)
def test_max_size_limit_follows_max_payload_size(max_payload_size, max_size, valid):
    document = make_doc(filters=filters(max_size=max_size))
    if valid:
        assert_valid(document, max_payload_size=max_payload_size)
    else:
        assert_single_issue(
            document,
            "Filters",
            "max_size",
            "less_than_equal",
            f"less than or equal to {max_payload_size}",
            max_payload_size=max_payload_size,
        )


# --- transformations (docs/pipelines.md#transformations) ------------------------------------------


def test_transformations_absent_or_null_is_none():
    assert assert_valid(make_doc()).transformations is None
    assert assert_valid(make_doc(transformations=NULL)).transformations is None


@pytest.mark.parametrize(
    "section",
    [
        {},
        {"round_decimal_point": 0},
        {"round_decimal_point": 7},
        {"multiplication_ratio": 0},
        {"multiplication_ratio": -2.5},
        {"multiplication_ratio": 0.0625},
        {"multiplication_ratio": 1000000},
        {"slice_start": -5, "slice_end": -1},
        {"slice_start": 0, "slice_end": 32},
        {"slice_start": 100, "slice_end": -100},
        {"slice_start": None, "slice_end": 3},
        {"multiplication_ratio": 2, "slice_start": 1},  # no cross-check against the type
        {"rotate": 90},
    ],
)
def test_transformations_valid(section):
    config = assert_valid(make_doc(transformations=section))
    assert config.transformations is not None
    for key, value in section.items():
        if key != "rotate":
            assert getattr(config.transformations, key) == value


@pytest.mark.parametrize(
    ("section", "field", "rule", "message_part"),
    [
        ({"round_decimal_point": -1}, "round_decimal_point", "greater_than_equal", "0"),
        ({"round_decimal_point": 8}, "round_decimal_point", "less_than_equal", "7"),
        ({"round_decimal_point": 2.5}, "round_decimal_point", "int_from_float", "integer"),
        ({"multiplication_ratio": "double"}, "multiplication_ratio", "float_parsing", "number"),
        ({"slice_start": 1.5}, "slice_start", "int_from_float", "integer"),
        ({"slice_end": "end"}, "slice_end", "int_parsing", "integer"),
        ([1, 2], "transformations", "model_type", "dictionary"),
    ],
)
def test_transformations_invalid(section, field, rule, message_part):
    assert_single_issue(
        make_doc(transformations=section), "Transformations", field, rule, message_part
    )


# --- processing_policy (docs/pipelines.md#processing-policy) --------------------------------------


@pytest.mark.parametrize(
    "section",
    [
        pytest.param({"policy_type": "LastValue"}, id="last-value"),
        pytest.param({"policy_type": "NRecords", "n_records_count": 1}, id="n-1"),
        pytest.param({"policy_type": "NRecords", "n_records_count": 256}, id="n-256"),
        pytest.param({"policy_type": "NRecords", "n_records_count": 1024}, id="n-1024"),
        *[
            pytest.param(
                {"policy_type": "TimeWindow", "time_window_size": size}, id=f"window-{size}"
            )
            for size in TIME_WINDOW_SIZES
        ],
        *[
            pytest.param(
                {
                    "policy_type": "Aggregation",
                    "time_window_size": size,
                    "aggregation_functions": "Avg",
                },
                id=f"aggregation-{size}",
            )
            for size in TIME_WINDOW_SIZES
        ],
        *[
            pytest.param(
                {
                    "policy_type": "Aggregation",
                    "time_window_size": 900,
                    "aggregation_functions": function,
                },
                id=f"aggregation-{function}",
            )
            for function in ("Avg", "Min", "Max", "Sum")
        ],
        # Fields that do not apply to the chosen policy are accepted and ignored.
        pytest.param(
            {
                "policy_type": "LastValue",
                "n_records_count": 0,
                "time_window_size": 61,
                "aggregation_functions": "Sum",
            },
            id="last-value-ignores-others",
        ),
        pytest.param(
            {"policy_type": "NRecords", "n_records_count": 5, "time_window_size": 7},
            id="n-records-ignores-window",
        ),
        pytest.param(
            {"policy_type": "TimeWindow", "time_window_size": 60, "n_records_count": 99999},
            id="window-ignores-n",
        ),
        pytest.param(
            {"policy_type": "TimeWindow", "time_window_size": 60, "aggregation_functions": "Max"},
            id="window-ignores-function",
        ),
        pytest.param({"policy_type": "LastValue", "retention": "forever"}, id="unknown-key"),
    ],
)
def test_processing_policy_valid(section):
    config = assert_valid(make_doc(processing_policy=section))
    assert config.processing_policy.policy_type == section["policy_type"]


@pytest.mark.parametrize(
    ("section", "field", "rule", "message_part"),
    [
        pytest.param({}, "policy_type", "missing", "Field required", id="type-missing"),
        pytest.param(
            {"policy_type": "Latest"}, "policy_type", "enum", "'LastValue'", id="type-unknown"
        ),
        pytest.param(
            {"policy_type": "NRecords"},
            "n_records_count",
            "range",
            "between 1 and 1024",
            id="n-missing",
        ),
        *[
            pytest.param(
                {"policy_type": "NRecords", "n_records_count": count},
                "n_records_count",
                "range",
                "between 1 and 1024",
                id=f"n-{count}",
            )
            for count in (0, -1, 1025, None)
        ],
        pytest.param(
            {"policy_type": "NRecords", "n_records_count": 2.5},
            "n_records_count",
            "int_from_float",
            "integer",
            id="n-fraction",
        ),
        pytest.param(
            {"policy_type": "TimeWindow"},
            "time_window_size",
            "allowed_values",
            "Invalid time_window_size",
            id="window-missing",
        ),
        *[
            pytest.param(
                {"policy_type": policy, "time_window_size": size, "aggregation_functions": "Avg"},
                "time_window_size",
                "allowed_values",
                "Must be one of",
                id=f"{policy}-{size}",
            )
            for policy in ("TimeWindow", "Aggregation")
            for size in (61, 0, 120, -60, 172800, None)
        ],
        pytest.param(
            {"policy_type": "Aggregation", "time_window_size": 900},
            "aggregation_functions",
            "bounds",
            "aggregation_functions must be provided",
            id="aggregation-function-missing",
        ),
        pytest.param(
            {"policy_type": "Aggregation", "time_window_size": 900, "aggregation_functions": None},
            "aggregation_functions",
            "bounds",
            "aggregation_functions must be provided",
            id="aggregation-function-null",
        ),
        *[
            pytest.param(
                {
                    "policy_type": "Aggregation",
                    "time_window_size": 900,
                    "aggregation_functions": function,
                },
                "aggregation_functions",
                "enum",
                "'Avg'",
                id=f"aggregation-function-{function}",
            )
            for function in (["Avg"], ["Avg", "Max"], "avg", "Median")
        ],
        pytest.param(
            {"policy_type": "Aggregation", "time_window_size": 61},
            "time_window_size",
            "allowed_values",
            "Invalid time_window_size",
            id="aggregation-stops-at-first-rule",
        ),
        pytest.param(
            {"policy_type": "LastValue", "aggregation_functions": "Median"},
            "aggregation_functions",
            "enum",
            "'Sum'",
            id="unused-field-still-typed",
        ),
    ],
)
def test_processing_policy_invalid(section, field, rule, message_part):
    assert_single_issue(
        make_doc(processing_policy=section), "ProcessingPolicy", field, rule, message_part
    )


def test_time_window_size_error_lists_every_allowed_size():
    _, issues = validate_config(
        make_doc(processing_policy={"policy_type": "TimeWindow", "time_window_size": 61})
    )
    assert str(TIME_WINDOW_SIZES) in issues[0].message


# --- whole document --------------------------------------------------------------------------


def test_unknown_keys_are_ignored_everywhere():
    document = make_doc(
        active_period={"type": "Permanent", "note": "x"},
        filters=filters(colour="red"),
        transformations={"round_decimal_point": 1, "unit": "°C"},
        processing_policy={"policy_type": "LastValue", "ttl": 5},
    )
    document["alerts_v0"] = {"anything": [1, 2]}
    document["comment"] = "kept in git"
    assert_valid(document)


@pytest.mark.parametrize(
    ("key", "stage"),
    [
        ("active_period", "ActivePeriod"),
        ("filters", "Filters"),
        ("processing_policy", "ProcessingPolicy"),
    ],
)
def test_missing_section_is_field_required_on_its_stage(key, stage):
    config, issues = validate_config(make_doc(**{key: None}))
    assert config is None
    assert [(i.stage, i.field, i.rule) for i in issues] == [(stage, key, "missing")]
    assert issues[0].message == "Field required"


@pytest.mark.parametrize("key", ["active_period", "filters", "processing_policy"])
def test_null_required_section_is_an_error_on_its_stage(key):
    _, issues = validate_config(make_doc(**{key: NULL}))
    assert len(issues) == 1
    assert issues[0].field == key
    assert (
        issues[0].stage
        == {
            "active_period": "ActivePeriod",
            "filters": "Filters",
            "processing_policy": "ProcessingPolicy",
        }[key]
    )


def test_empty_mapping_reports_every_required_section_in_stage_order():
    assert triples({}) == [
        ("ActivePeriod", "active_period", "missing"),
        ("Filters", "filters", "missing"),
        ("ProcessingPolicy", "processing_policy", "missing"),
    ]


def test_several_broken_sections_give_one_issue_per_field_in_stage_order():
    # Written in reverse stage order on purpose: issues still come in stage order.
    document = {
        "processing_policy": {"policy_type": "Latest"},
        "transformations": {"round_decimal_point": 9, "slice_start": "x"},
        "filters": {"type_input_value": "Number", "max_rate": -1, "max_size": -1},
        "active_period": {"type": "Forever"},
    }
    found = triples(document)
    assert [stage for stage, _, _ in found] == [
        "ActivePeriod",
        "Filters",
        "Filters",
        "Transformations",
        "Transformations",
        "ProcessingPolicy",
    ]
    assert set(found) == {
        ("ActivePeriod", "type", "enum"),
        ("Filters", "max_rate", "greater_than_equal"),
        ("Filters", "max_size", "greater_than_equal"),
        ("Transformations", "round_decimal_point", "less_than_equal"),
        ("Transformations", "slice_start", "int_parsing"),
        ("ProcessingPolicy", "policy_type", "enum"),
    }


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        pytest.param(
            {"active_period": {"type": "DateRange", "start": "soon"}},
            [("ActivePeriod", "start")],
            id="date-range-bad-start-no-bounds-rule",
        ),
        pytest.param(
            {
                "filters": filters(
                    type_value_filtering="WhiteList", filtering_values=["a"], max_rate=-1
                )
            },
            [("Filters", "max_rate")],
            id="filters-bad-field-no-item-type-rule",
        ),
        pytest.param(
            {"filters": filters(type_value_threshold="Range", threshold_min=0.5)},
            [("Filters", "threshold_min")],
            id="filters-bad-min-no-missing-max-rule",
        ),
        pytest.param(
            {
                "processing_policy": {
                    "policy_type": "NRecords",
                    "aggregation_functions": "Median",
                }
            },
            [("ProcessingPolicy", "aggregation_functions")],
            id="policy-bad-field-no-n-records-rule",
        ),
    ],
)
def test_cross_field_rule_does_not_run_when_a_field_failed(sections, expected):
    found = triples(make_doc(**sections))
    assert [(stage, field) for stage, field, _ in found] == expected
    assert all(rule not in {"bounds", "order", "range", "item_type"} for _, _, rule in found)


@pytest.mark.parametrize(
    ("document", "kind"),
    [(None, "empty"), ([1, 2], "list"), ("Permanent", "str"), (42, "int")],
)
def test_document_must_be_a_mapping(document, kind):
    config, issues = validate_config(document)
    assert config is None
    assert [(i.stage, i.field, i.rule) for i in issues] == [("File", "document", "type")]
    assert "mapping" in issues[0].message
    assert kind in issues[0].message


def test_issue_str_and_dict():
    _, issues = validate_config(make_doc(filters=filters(max_rate=-1)))
    (issue,) = issues
    assert str(issue) == f"Filters.max_rate: {issue.message}"
    assert issue.as_dict() == {
        "stage": "Filters",
        "field": "max_rate",
        "message": issue.message,
        "rule": "greater_than_equal",
    }


# --- reference example configs --------------------------------------------------------------------

EXAMPLE_A = """
active_period:
  type: Permanent
filters:
  type_input_value: Text
  max_rate: 10
  last_unique_check: true
  max_size: 64
transformations:
  slice_start: 0
  slice_end: 32
processing_policy:
  policy_type: LastValue
"""

EXAMPLE_B = """
active_period:
  type: FromDate
  start: '2024-01-01T00:00:00Z'
filters:
  type_input_value: Text
  type_value_filtering: WhiteList
  filtering_values: [Open, Closed, Fault]
  max_rate: 0
  last_unique_check: true
  max_size: 16
processing_policy:
  policy_type: NRecords
  n_records_count: 256
"""

EXAMPLE_C = """
active_period:
  type: DateRange
  start: '2024-01-01T00:00:00+00:00'
  end: '2030-01-01T00:00:00+00:00'
filters:
  type_input_value: Number
  type_value_filtering: BlackList
  filtering_values: [-127.0, 85.0]
  type_value_threshold: Range
  threshold_min: -50
  threshold_max: 120
  max_rate: 0
  last_unique_check: false
  max_size: 32
transformations:
  multiplication_ratio: 0.0625
  round_decimal_point: 2
processing_policy:
  policy_type: Aggregation
  time_window_size: 900
  aggregation_functions: Avg
"""

EXAMPLE_D = """
active_period: {type: ToDate, end: '2030-01-01T00:00:00Z'}
filters: {type_input_value: Number, type_value_threshold: Range, threshold_min: 0, threshold_max: 100, max_rate: 60, last_unique_check: false, max_size: 16}
transformations: {round_decimal_point: 1}
processing_policy: {policy_type: TimeWindow, time_window_size: 3600}
"""  # noqa: E501

EXAMPLE_C_STORED_JSON = {
    "active_period": {
        "type": "DateRange",
        "start": "2024-01-01T00:00:00+00:00",
        "end": "2030-01-01T00:00:00+00:00",
    },
    "filters": {
        "type_input_value": "Number",
        "type_value_filtering": "BlackList",
        "filtering_values": [-127.0, 85.0],
        "type_value_threshold": "Range",
        "threshold_min": -50,
        "threshold_max": 120,
        "max_rate": 0,
        "last_unique_check": False,
        "max_size": 32,
    },
    "transformations": {
        "multiplication_ratio": 0.0625,
        "round_decimal_point": 2,
        "slice_start": None,
        "slice_end": None,
    },
    "processing_policy": {
        "policy_type": "Aggregation",
        "n_records_count": None,
        "time_window_size": 900,
        "aggregation_functions": "Avg",
    },
}


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        pytest.param(EXAMPLE_A, "LastValue", id="A"),
        pytest.param(EXAMPLE_B, "NRecords", id="B"),
        pytest.param(EXAMPLE_C, "Aggregation", id="C"),
        pytest.param(EXAMPLE_D, "TimeWindow", id="D"),
    ],
)
def test_reference_examples_are_valid(text, policy):
    config = assert_valid(yaml.safe_load(text))
    assert config.processing_policy.policy_type == policy


def test_reference_example_c_stored_json_form_is_valid_and_means_the_same():
    from_yaml = assert_valid(yaml.safe_load(EXAMPLE_C))
    from_json = assert_valid(EXAMPLE_C_STORED_JSON)
    assert from_yaml == from_json
    assert from_json.active_period.start == datetime(2024, 1, 1, tzinfo=UTC)


# --- binding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "node", "unit", "topic"),
    [
        ({"node": NODE}, NODE, None, None),
        ({"node": NODE.upper()}, NODE, None, None),
        (
            {"unit": "greenhouse-01", "topic": "current_temp/pepeunit"},
            None,
            "greenhouse-01",
            "current_temp/pepeunit",
        ),
        ({"unit": "u", "topic": "a/b/pepeunit"}, None, "u", "a/b/pepeunit"),
    ],
)
def test_binding_valid(keys, node, unit, topic):
    binding, issues = validate_binding({**make_doc(), **keys})
    assert issues == []
    assert binding is not None
    assert binding.node_uuid == node
    assert binding.unit == unit
    assert binding.topic == topic


@pytest.mark.parametrize(
    ("keys", "field", "rule", "message_part"),
    [
        pytest.param({}, "node", "missing", "Field required", id="none"),
        pytest.param({"node": "not-a-uuid"}, "node", "uuid_parsing", "UUID", id="bad-uuid"),
        pytest.param(
            {"node": NODE[:-1]}, "node", "uuid_parsing", "UUID", id="uuid-one-digit-short"
        ),
        pytest.param(
            {"node": NODE, "unit": "u"}, "node", "exclusive", "not both", id="node-and-unit"
        ),
        pytest.param(
            {"node": NODE, "topic": "t/pepeunit"},
            "node",
            "exclusive",
            "not both",
            id="node-and-topic",
        ),
        pytest.param(
            {"node": NODE, "unit": "u", "topic": "t/pepeunit"},
            "node",
            "exclusive",
            "not both",
            id="node-and-unit-topic",
        ),
        pytest.param({"unit": "u"}, "topic", "missing", "'topic'", id="unit-without-topic"),
        pytest.param({"topic": "t/pepeunit"}, "unit", "missing", "'unit'", id="topic-without-unit"),
        pytest.param(
            {"unit": "u", "topic": "current_temp"},
            "topic",
            "string_pattern_mismatch",
            "/pepeunit",
            id="topic-no-suffix",
        ),
        pytest.param(
            {"unit": "u", "topic": "a/pepeunit/x"},
            "topic",
            "string_pattern_mismatch",
            "/pepeunit",
            id="topic-suffix-not-last",
        ),
        pytest.param(
            {"unit": "u", "topic": "pepeunit"},
            "topic",
            "string_pattern_mismatch",
            "/pepeunit",
            id="topic-bare-pepeunit",
        ),
        pytest.param(
            {"unit": "u", "topic": "a/pepeunits"},
            "topic",
            "string_pattern_mismatch",
            "/pepeunit",
            id="topic-longer-suffix",
        ),
        pytest.param(
            {"unit": "", "topic": "a/pepeunit"},
            "unit",
            "string_too_short",
            "at least 1",
            id="empty-unit",
        ),
    ],
)
def test_binding_invalid(keys, field, rule, message_part):
    binding, issues = validate_binding({**make_doc(), **keys})
    assert binding is None
    assert [(i.stage, i.field, i.rule) for i in issues] == [("Binding", field, rule)]
    assert message_part.lower() in issues[0].message.lower(), issues[0].message


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_file_without_binding_is_an_error_only_when_a_binding_is_required(tmp_path):
    path = _write(tmp_path / "p.yaml", make_doc())
    report = check_pipeline_files([path])
    assert [(e.path, e.issue.stage, e.issue.field, e.issue.rule) for e in report.errors] == [
        (path, "Binding", "node", "missing")
    ]
    assert report.files == []
    relaxed = check_pipeline_files([path], require_binding=False)
    assert relaxed.errors == []
    assert len(relaxed.files) == 1
    assert relaxed.files[0].binding is None


def test_partial_binding_is_checked_even_when_not_required(tmp_path):
    path = _write(tmp_path / "p.yaml", {"unit": "u", **make_doc()})
    report = check_pipeline_files([path], require_binding=False)
    assert [(e.issue.stage, e.issue.field) for e in report.errors] == [("Binding", "topic")]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"node": NODE}, []),
        ({"unit": "u", "topic": "t/pepeunit"}, []),
        ({"node": "xyz"}, [("Binding", "node")]),
        ({"node": NODE, "unit": "u"}, [("Binding", "node")]),
        ({"unit": "u", "topic": "t/other"}, [("Binding", "topic")]),
    ],
)
def test_binding_through_files(tmp_path, keys, expected):
    path = _write(tmp_path / "p.yaml", {**keys, **make_doc()})
    report = check_pipeline_files([path])
    assert [(e.issue.stage, e.issue.field) for e in report.errors] == expected
    assert len(report.files) == (0 if expected else 1)


def test_binding_issue_comes_before_config_issues(tmp_path):
    path = _write(tmp_path / "p.yaml", make_doc(filters=filters(max_rate=-1)))
    report = check_pipeline_files([path])
    assert [(e.issue.stage, e.issue.field) for e in report.errors] == [
        ("Binding", "node"),
        ("Filters", "max_rate"),
    ]
