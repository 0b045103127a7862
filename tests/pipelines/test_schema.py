"""The JSON Schema of pipeline files: committed copy up to date, a valid Draft 2020-12 schema,
accepts the examples, and gives the same verdict as the pydantic validation."""

# ruff: noqa: E501  (the consistency table below keeps one case per line)

import copy
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pipelines.files import check_pipeline_files
from pipelines.schema import SCHEMA_PATH, render_schema

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "pipeline-files").glob("*.yaml"))
NODE = "5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60"


def committed_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validator() -> jsonschema.Draft202012Validator:
    # The format checker makes `format: uuid` count (a bad node uuid is invalid for both);
    # `date-time` needs an optional package and is not relied upon (see the skipped cases).
    return jsonschema.Draft202012Validator(
        committed_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def to_json_types(value: Any) -> Any:
    """YAML timestamps are datetimes; JSON has none, so they become ISO strings."""
    if isinstance(value, dict):
        return {key: to_json_types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json_types(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def test_committed_schema_is_what_the_models_generate():
    assert SCHEMA_PATH == REPO / "pipelines" / "pipeline.schema.json"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema()


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = committed_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator


def test_examples_exist():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_every_example_file_validates_against_the_schema(path):
    document = to_json_types(yaml.safe_load(path.read_text(encoding="utf-8")))
    errors = [error.message for error in validator().iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_files_point_editors_at_the_schema(path):
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../../pipelines/pipeline.schema.json"
    assert (path.parent / "../../pipelines/pipeline.schema.json").resolve() == SCHEMA_PATH


# --- consistency: jsonschema verdict == pydantic verdict --------------------------------------

BASE = f"""\
node: {NODE}
active_period: {{type: Permanent}}
filters: {{type_input_value: Number, max_rate: 0, max_size: 32}}
processing_policy: {{policy_type: LastValue}}
"""


def document(patch: str = "{}") -> dict[str, Any]:
    """BASE with `patch` (YAML) merged in: a top-level mapping value is merged into the section of
    the same name; `~drop` as a value removes the key."""
    result = copy.deepcopy(yaml.safe_load(BASE))
    for key, value in (yaml.safe_load(patch) or {}).items():
        if value == "~drop":
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            merged = {**result[key], **value}
            result[key] = {k: v for k, v in merged.items() if v != "~drop"}
        else:
            result[key] = value
    return result


# (id, YAML patch, whether the rule is one pydantic accepts). Cases with rules JSON Schema cannot
# express (start < end, threshold_min < threshold_max) are not here. Neither are naive datetimes:
# JSON Schema's `date-time` format is not asserted by default, so the schema cannot catch them.
CONSISTENCY_CASES = [
    ("base", "{}", True),
    ("unknown-top-level-key", "{owner: ops}", True),
    ("active-from-date-unquoted-Z", "active_period: {type: FromDate, start: 2024-01-01T00:00:00Z}", True),
    ("active-date-range-offset", "active_period: {type: DateRange, start: '2024-01-01T00:00:00+00:00', end: '2030-01-01T00:00:00Z'}", True),
    ("active-type-unknown", "active_period: {type: Forever}", False),
    ("active-from-date-no-start", "active_period: {type: FromDate}", False),
    ("active-from-date-null-start", "active_period: {type: FromDate, start: null}", False),
    ("active-to-date-no-end", "active_period: {type: ToDate, start: 2024-01-01T00:00:00Z}", False),
    ("active-date-range-no-end", "active_period: {type: DateRange, start: 2024-01-01T00:00:00Z}", False),
    ("filters-type-missing", "filters: {type_input_value: ~drop}", False),
    ("filters-type-unknown", "filters: {type_input_value: Float}", False),
    ("filters-filtering-type-unknown", "filters: {type_value_filtering: GreyList}", False),
    ("number-whitelist-numbers", "filters: {type_value_filtering: WhiteList, filtering_values: [1, 2.5]}", True),
    ("number-whitelist-string", "filters: {type_value_filtering: WhiteList, filtering_values: [1, a]}", False),
    ("number-strings-without-filtering-type", "filters: {filtering_values: [a, b]}", True),
    ("text-blacklist-strings", "filters: {type_input_value: Text, type_value_filtering: BlackList, filtering_values: [a]}", True),
    ("text-blacklist-number", "filters: {type_input_value: Text, type_value_filtering: BlackList, filtering_values: [a, 1]}", False),
    ("text-numbers-without-filtering-type", "filters: {type_input_value: Text, filtering_values: [1, 2]}", True),
    ("null-filtering-value", "filters: {type_input_value: Text, filtering_values: [a, null]}", False),
    ("whitelist-null-values", "filters: {type_value_filtering: WhiteList, filtering_values: null}", True),
    ("number-min-without-bound", "filters: {type_value_threshold: Min}", False),
    ("number-max-without-bound", "filters: {type_value_threshold: Max, threshold_min: 1}", False),
    ("number-range-without-max", "filters: {type_value_threshold: Range, threshold_min: 1}", False),
    ("number-range-null-min", "filters: {type_value_threshold: Range, threshold_min: null, threshold_max: 5}", False),
    ("number-range-ok", "filters: {type_value_threshold: Range, threshold_min: -1, threshold_max: 5}", True),
    ("text-min-without-bound", "filters: {type_input_value: Text, type_value_threshold: Min}", True),
    ("threshold-half", "filters: {type_value_threshold: Min, threshold_min: 0.5}", False),
    ("threshold-integral-float", "filters: {type_value_threshold: Min, threshold_min: 5.0}", True),
    ("threshold-type-unknown", "filters: {type_value_threshold: Between, threshold_min: 1}", False),
    ("max-rate-missing", "filters: {max_rate: ~drop}", False),
    ("max-rate-86400", "filters: {max_rate: 86400}", True),
    ("max-rate-86401", "filters: {max_rate: 86401}", False),
    ("max-rate-negative", "filters: {max_rate: -1}", False),
    ("max-size-262144", "filters: {max_size: 262144}", True),
    ("max-size-262145", "filters: {max_size: 262145}", False),
    ("max-size-missing", "filters: {max_size: ~drop}", False),
    ("last-unique-check-not-bool", "filters: {last_unique_check: maybe}", False),
    ("transformations-null", "transformations: null", True),
    ("transformations-negative-ratio-and-slices", "transformations: {multiplication_ratio: -0.5, slice_start: -3, slice_end: -1}", True),
    ("round-7", "transformations: {round_decimal_point: 7}", True),
    ("round-8", "transformations: {round_decimal_point: 8}", False),
    ("round-negative", "transformations: {round_decimal_point: -1}", False),
    ("policy-type-unknown", "processing_policy: {policy_type: Latest}", False),
    ("n-records-1024", "processing_policy: {policy_type: NRecords, n_records_count: 1024}", True),
    ("n-records-0", "processing_policy: {policy_type: NRecords, n_records_count: 0}", False),
    ("n-records-1025", "processing_policy: {policy_type: NRecords, n_records_count: 1025}", False),
    ("n-records-missing", "processing_policy: {policy_type: NRecords}", False),
    ("n-records-unused-by-last-value", "processing_policy: {policy_type: LastValue, n_records_count: 0, time_window_size: 61}", True),
    ("window-3600", "processing_policy: {policy_type: TimeWindow, time_window_size: 3600}", True),
    ("window-61", "processing_policy: {policy_type: TimeWindow, time_window_size: 61}", False),
    ("window-120", "processing_policy: {policy_type: TimeWindow, time_window_size: 120}", False),
    ("window-missing", "processing_policy: {policy_type: TimeWindow}", False),
    ("aggregation-ok", "processing_policy: {policy_type: Aggregation, time_window_size: 86400, aggregation_functions: Sum}", True),
    ("aggregation-window-0", "processing_policy: {policy_type: Aggregation, time_window_size: 0, aggregation_functions: Sum}", False),
    ("aggregation-function-missing", "processing_policy: {policy_type: Aggregation, time_window_size: 60}", False),
    ("aggregation-function-list", "processing_policy: {policy_type: Aggregation, time_window_size: 60, aggregation_functions: [Avg]}", False),
    ("aggregation-function-unknown", "processing_policy: {policy_type: Aggregation, time_window_size: 60, aggregation_functions: Median}", False),
    ("section-missing-filters", "filters: ~drop", False),
    ("section-missing-processing-policy", "processing_policy: ~drop", False),
    ("binding-unit-topic", "{node: ~drop, unit: pump, topic: status/pepeunit}", True),
    ("binding-none", "{node: ~drop}", False),
    ("binding-node-and-unit", "{unit: pump}", False),
    ("binding-node-and-unit-topic", "{unit: pump, topic: status/pepeunit}", False),
    ("binding-unit-without-topic", "{node: ~drop, unit: pump}", False),
    ("binding-topic-without-unit", "{node: ~drop, topic: status/pepeunit}", False),
    ("binding-topic-wrong-suffix", "{node: ~drop, unit: pump, topic: status/other}", False),
    ("binding-bad-uuid", "{node: not-a-uuid}", False),
    ("binding-empty-unit", "{node: ~drop, unit: '', topic: status/pepeunit}", False),
    # An explicit null is "not given" for pydantic; the schema must agree.
    ("binding-null-node-with-unit-topic", "{node: null, unit: pump, topic: status/pepeunit}", True),
    ("binding-node-with-null-unit-topic", "{unit: null, topic: null}", True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("patch", "expected_valid"),
    [pytest.param(patch, valid, id=case_id) for case_id, patch, valid in CONSISTENCY_CASES],
)
def test_schema_verdict_equals_pydantic_verdict(tmp_path, patch, expected_valid):
    doc = document(patch)
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    report = check_pipeline_files([path])
    pydantic_valid = report.ok
    schema_errors = [error.message for error in validator().iter_errors(to_json_types(doc))]
    schema_valid = not schema_errors

    assert pydantic_valid is expected_valid, [str(e) for e in report.errors]
    assert schema_valid is pydantic_valid, (schema_errors, [str(e) for e in report.errors])


def test_yaml_datetimes_round_trip_through_json_types():
    doc = document("active_period: {type: FromDate, start: 2024-01-01T00:00:00Z}")
    assert isinstance(doc["active_period"]["start"], datetime)
    converted = to_json_types(doc)
    assert converted["active_period"]["start"] == "2024-01-01T00:00:00+00:00"
    json.dumps(converted)  # JSON-serialisable now
