"""A repo's `schema_example.json` and the `schema.json` made from it per unit
(docs/compatibility.md#schema-files).

The dataflow routes linked outputs to inputs (docs/compatibility.md#routing-by-the-dataflow), so
an input template lists only the unit's own input node topic, never the topics of the outputs
linked to it.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from control_plane.services.firmware.json_types import json_type_name
from pepeunit_core.topics import BaseTopicDestination, base_topic, node_topic

SCHEMA_EXAMPLE_FILE = "schema_example.json"
TOPIC_CHARACTERS = "A-Za-z0-9/_-"
# The reference keeps templates 100 characters short of the MQTT limit (65 535) for the levels
# the platform adds around them.
MAX_TEMPLATE_LENGTH = 65_435

_TEMPLATE_PATTERN = re.compile(f"[{TOPIC_CHARACTERS}]+")
_SHOWN_TEMPLATE_LENGTH = 80

SchemaJson = dict[str, dict[str, list[str]]]


class SchemaSection(StrEnum):
    INPUT_BASE_TOPIC = "input_base_topic"
    OUTPUT_BASE_TOPIC = "output_base_topic"
    INPUT_TOPIC = "input_topic"
    OUTPUT_TOPIC = "output_topic"


class SchemaExampleError(ValueError):
    """schema_example.json is not usable; the message names the problem."""


@dataclass(frozen=True)
class SchemaExample:
    """The template topics of each section, in the order the repo lists them."""

    input_base_topic: tuple[str, ...]
    output_base_topic: tuple[str, ...]
    input_topic: tuple[str, ...]
    output_topic: tuple[str, ...]


def parse_schema_example(text: str | bytes) -> SchemaExample:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SchemaExampleError(f"{SCHEMA_EXAMPLE_FILE} is not valid JSON: {error}") from None
    return validate_schema_example(data)


def validate_schema_example(data: object) -> SchemaExample:
    """Checks the reference rules: the four keys (others are ignored), each a list of topics
    made of `[A-Za-z0-9/_-]`. Stricter than the reference: no empty topics or empty levels, and
    no template listed twice in a section (it would name two nodes the same way)."""
    if not isinstance(data, dict):
        raise SchemaExampleError(
            f"{SCHEMA_EXAMPLE_FILE} must be a JSON object with the keys "
            f"{', '.join(SchemaSection)}; it is {json_type_name(data)}"
        )
    missing = [section for section in SchemaSection if section not in data]
    if missing:
        raise SchemaExampleError(f"{SCHEMA_EXAMPLE_FILE} lacks the keys {', '.join(missing)}")
    return SchemaExample(
        **{section.value: _validated_templates(section, data[section]) for section in SchemaSection}
    )


def build_schema_json(
    example: SchemaExample,
    *,
    domain: str,
    unit_uuid: UUID | str,
    input_node_uuids: Mapping[str, UUID | str],
    output_node_uuids: Mapping[str, UUID | str],
) -> SchemaJson:
    """The unit's schema.json: each template mapped to its list of physical topics.

    `input_node_uuids` / `output_node_uuids` give the unit's node for each template of
    `input_topic` / `output_topic`; nodes of templates the example does not list are ignored.
    """
    return {
        SchemaSection.INPUT_BASE_TOPIC.value: {
            template: [base_topic(domain, BaseTopicDestination.INPUT, unit_uuid, template)]
            for template in example.input_base_topic
        },
        SchemaSection.OUTPUT_BASE_TOPIC.value: {
            template: [base_topic(domain, BaseTopicDestination.OUTPUT, unit_uuid, template)]
            for template in example.output_base_topic
        },
        SchemaSection.INPUT_TOPIC.value: _node_topics(
            domain, SchemaSection.INPUT_TOPIC, example.input_topic, input_node_uuids
        ),
        SchemaSection.OUTPUT_TOPIC.value: _node_topics(
            domain, SchemaSection.OUTPUT_TOPIC, example.output_topic, output_node_uuids
        ),
    }


def _node_topics(
    domain: str,
    section: SchemaSection,
    templates: tuple[str, ...],
    node_uuids: Mapping[str, UUID | str],
) -> dict[str, list[str]]:
    missing = [template for template in templates if template not in node_uuids]
    if missing:
        raise ValueError(f"no unit node given for the {section} templates {missing}")
    return {
        template: [node_topic(domain, node_uuids[template], template)] for template in templates
    }


def _validated_templates(section: SchemaSection, value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise SchemaExampleError(
            f"{SCHEMA_EXAMPLE_FILE}: {section} must be a list of topics; "
            f"it is {json_type_name(value)}"
        )
    seen: set[str] = set()
    for index, template in enumerate(value):
        where = f"{SCHEMA_EXAMPLE_FILE}: {section}[{index}]"
        if not isinstance(template, str):
            raise SchemaExampleError(f"{where} must be a string; it is {json_type_name(template)}")
        _check_template(where, template)
        if template in seen:
            raise SchemaExampleError(f"{where}: {template!r} is listed twice")
        seen.add(template)
    return tuple(value)


def _check_template(where: str, template: str) -> None:
    shown = repr(template[:_SHOWN_TEMPLATE_LENGTH]) + (
        "..." if len(template) > _SHOWN_TEMPLATE_LENGTH else ""
    )
    if not template:
        raise SchemaExampleError(f"{where} is an empty topic")
    if len(template) >= MAX_TEMPLATE_LENGTH:
        raise SchemaExampleError(
            f"{where} is {len(template)} characters long; the limit is {MAX_TEMPLATE_LENGTH - 1}"
        )
    if not _TEMPLATE_PATTERN.fullmatch(template):
        others = sorted({char for char in template if not _TEMPLATE_PATTERN.fullmatch(char)})
        raise SchemaExampleError(
            f"{where} {shown} has characters outside [{TOPIC_CHARACTERS}]: {others}"
        )
    if "" in template.split("/"):
        raise SchemaExampleError(
            f"{where} {shown} has an empty level (a leading, trailing or doubled '/')"
        )
