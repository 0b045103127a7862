"""The example units are models of how to write a unit: each has the files a unit repository
needs, valid for the platform, and a pepeunit.toml that describes exactly its settings and
topics; their firmware leaves out what .pepeignore names; the demo's pipeline files are valid
and bound to the demo's units."""

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from control_plane.services.firmware.env_json import parse_env_object
from control_plane.services.firmware.schema_json import parse_schema_example
from control_plane.services.firmware.source_tree import firmware_files
from pepeunit_cli.demo.sources import find_sources
from pepeunit_cli.demo.system import EDGE, EXAMPLE_UNITS
from pipelines.validation import validate_config

SOURCES = find_sources()
EXAMPLES = [SOURCES.examples / example.example for example in EXAMPLE_UNITS]
# docs/compatibility.md#repository-files
TOML_SECTIONS = {
    "general", "video", "images", "models", "files", "physical_io", "env_description",
    "topic_assignment", "work_algorithm", "installation",
}  # fmt: skip
UNIT_FILES = {
    "main.py", "env_example.json", "schema_example.json", "pepeunit.toml", ".pepeignore",
    ".gitignore", "README.md",
}  # fmt: skip


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_is_a_complete_unit_repository(example: Path):
    assert {path.name for path in example.iterdir()} >= UNIT_FILES
    schema = parse_schema_example((example / "schema_example.json").read_bytes())
    env = parse_env_object((example / "env_example.json").read_bytes())
    assert set(schema.input_base_topic) == {
        "update/pepeunit", "env_update/pepeunit", "schema_update/pepeunit", "log_sync/pepeunit",
    }  # fmt: skip
    assert set(schema.output_base_topic) == {"state/pepeunit", "log/pepeunit"}
    compile((example / "main.py").read_text(), str(example / "main.py"), "exec")

    description = tomllib.loads((example / "pepeunit.toml").read_text())
    assert set(description) <= TOML_SECTIONS
    assert set(description["env_description"]) == set(env)
    topics = {*schema.input_base_topic, *schema.output_base_topic, *schema.input_topic}
    assert set(description["topic_assignment"]) == topics | set(schema.output_topic)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_firmware_holds_only_the_program(example: Path):
    shipped = {file.archive_path for file in firmware_files(example)}
    assert "main.py" in shipped
    left_out = {".pepeignore", ".gitignore", "env_example.json", "schema_example.json",
                "pepeunit.toml", "README.md"}  # fmt: skip
    assert not shipped & left_out


def test_demo_pipelines_are_valid_and_bound_to_demo_unit_outputs():
    outputs = {}
    for example in EXAMPLE_UNITS:
        schema = json.loads(
            (SOURCES.examples / example.example / "schema_example.json").read_text()
        )
        outputs[example.unit_name] = set(schema["output_topic"])
    files = sorted(SOURCES.pipelines.glob("*.yaml"))
    policies = set()
    for path in files:
        document = yaml.safe_load(path.read_text())
        config, issues = validate_config(document, 256 * 1024)
        assert config is not None, (path, issues)
        assert document["topic"] in outputs[document["unit"]], path
        policies.add(config.processing_policy.policy_type.value)
    assert policies == {"Aggregation", "NRecords"}
    output, target = EDGE
    assert output.topic in outputs[output.unit_name]
    heater = next(e for e in EXAMPLE_UNITS if e.unit_name == target.unit_name)
    heater_schema = json.loads(
        (SOURCES.examples / heater.example / "schema_example.json").read_text()
    )
    assert target.topic in heater_schema["input_topic"]
