"""schema_example.json validation and the generated schema.json
(docs/compatibility.md#schema-files; with docs/compatibility.md#routing-by-the-dataflow an input
lists only the unit's own input node topic)."""

import json

import pytest

from control_plane.services.firmware import (
    SchemaExampleError,
    build_schema_json,
    parse_schema_example,
    validate_schema_example,
)
from tests.control_plane_firmware.builders import (
    DOMAIN,
    INPUT_NODE_UUID,
    OPAQUE_OUTPUT_NODE_UUID,
    OUTPUT_NODE_UUID,
    SCHEMA_EXAMPLE,
    UNIT_UUID,
    sample_content,
)


def test_generated_schema_maps_every_template_to_its_physical_topics():
    schema = sample_content(None).schema_json

    assert schema == {
        "input_base_topic": {
            "update/pepeunit": [f"{DOMAIN}/input_base_topic/{UNIT_UUID}/update/pepeunit"],
            "env_update/pepeunit": [f"{DOMAIN}/input_base_topic/{UNIT_UUID}/env_update/pepeunit"],
            "schema_update/pepeunit": [
                f"{DOMAIN}/input_base_topic/{UNIT_UUID}/schema_update/pepeunit"
            ],
            "log_sync/pepeunit": [f"{DOMAIN}/input_base_topic/{UNIT_UUID}/log_sync/pepeunit"],
        },
        "output_base_topic": {
            "state/pepeunit": [f"{DOMAIN}/output_base_topic/{UNIT_UUID}/state/pepeunit"],
            "log/pepeunit": [f"{DOMAIN}/output_base_topic/{UNIT_UUID}/log/pepeunit"],
        },
        "input_topic": {"set_fan_state/pepeunit": [f"{DOMAIN}/{INPUT_NODE_UUID}/pepeunit"]},
        "output_topic": {
            "current_temp/pepeunit": [f"{DOMAIN}/{OUTPUT_NODE_UUID}/pepeunit"],
            "raw_adc": [f"{DOMAIN}/{OPAQUE_OUTPUT_NODE_UUID}"],
        },
    }
    # What the clients load: a plain JSON object with the four sections.
    assert json.loads(json.dumps(schema)) == schema


def test_base_templates_are_used_as_written():
    example = validate_schema_example(
        {
            "input_base_topic": ["update/pepeunit", "reset/pepeunit"],
            "output_base_topic": [],
            "input_topic": [],
            "output_topic": [],
        }
    )
    schema = build_schema_json(
        example, domain="d", unit_uuid="u", input_node_uuids={}, output_node_uuids={}
    )

    assert schema["input_base_topic"] == {
        "update/pepeunit": ["d/input_base_topic/u/update/pepeunit"],
        "reset/pepeunit": ["d/input_base_topic/u/reset/pepeunit"],
    }
    assert schema["output_base_topic"] == schema["input_topic"] == schema["output_topic"] == {}


def test_input_lists_only_the_units_own_node_and_extra_nodes_are_ignored():
    example = validate_schema_example(SCHEMA_EXAMPLE)
    schema = build_schema_json(
        example,
        domain="d",
        unit_uuid="u",
        input_node_uuids={"set_fan_state/pepeunit": "own", "removed/pepeunit": "stale"},
        output_node_uuids={"current_temp/pepeunit": "out", "raw_adc": "adc"},
    )

    assert schema["input_topic"] == {"set_fan_state/pepeunit": ["d/own/pepeunit"]}


def test_a_template_without_its_node_is_a_caller_error():
    with pytest.raises(ValueError, match=r"output_topic templates \['raw_adc'\]"):
        build_schema_json(
            validate_schema_example(SCHEMA_EXAMPLE),
            domain="d",
            unit_uuid="u",
            input_node_uuids={"set_fan_state/pepeunit": "in"},
            output_node_uuids={"current_temp/pepeunit": "out"},
        )


def test_parse_keeps_the_repo_order_and_ignores_extra_keys():
    text = json.dumps({**SCHEMA_EXAMPLE, "comment": "ignored", "output_topic": ["b", "a"]})

    example = parse_schema_example(text.encode())

    assert example.output_topic == ("b", "a")
    assert example.input_base_topic == tuple(SCHEMA_EXAMPLE["input_base_topic"])


def _with(section, value):
    return {**SCHEMA_EXAMPLE, section: value}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object .* it is an array"),
        ({"input_topic": []}, "lacks the keys input_base_topic, output_base_topic, output_topic"),
        (_with("input_topic", {"a": 1}), "input_topic must be a list of topics; it is an object"),
        (_with("output_topic", "temp"), "output_topic must be a list of topics; it is a string"),
        (_with("output_topic", ["ok", 5]), r"output_topic\[1\] must be a string; it is a number"),
        (_with("input_topic", [None]), r"input_topic\[0\] must be a string; it is null"),
        (_with("input_topic", [""]), r"input_topic\[0\] is an empty topic"),
        (_with("input_topic", ["temp/+"]), r"characters outside \[A-Za-z0-9/_-\]: \['\+'\]"),
        (_with("input_topic", ["t #é"]), r"\[' ', '#', 'é'\]"),
        (_with("input_topic", ["/temp"]), "has an empty level"),
        (_with("input_topic", ["temp/"]), "has an empty level"),
        (_with("input_topic", ["a//b"]), "has an empty level"),
        (_with("output_topic", ["t/pepeunit", "t/pepeunit"]), "'t/pepeunit' is listed twice"),
        (_with("output_topic", ["a" * 65_435]), "65435 characters long; the limit is 65434"),
    ],
)
def test_invalid_schema_examples_are_refused_with_the_reason(data, message):
    with pytest.raises(SchemaExampleError, match=message):
        validate_schema_example(data)


def test_the_longest_allowed_template_passes():
    example = validate_schema_example(_with("output_topic", ["a" * 65_434]))

    assert len(example.output_topic[0]) == 65_434


def test_a_long_bad_template_is_shortened_in_the_message():
    with pytest.raises(SchemaExampleError) as error:
        validate_schema_example(_with("output_topic", ["a" * 1000 + "!"]))

    assert len(str(error.value)) < 300


@pytest.mark.parametrize("text", ["", "{", "{'a': []}", b"\xff\xfe\x00"])
def test_text_that_is_not_json_is_refused(text):
    with pytest.raises(SchemaExampleError, match=r"schema_example\.json is not valid JSON"):
        parse_schema_example(text)
