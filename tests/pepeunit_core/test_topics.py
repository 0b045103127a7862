"""Physical topics follow the grammar of docs/compatibility.md#topics letter for letter."""

from uuid import UUID

import pytest

from pepeunit_core.topics import (
    CommandTopicName,
    ReportTopicName,
    command_topic,
    is_platform_visible,
    node_topic,
    report_topic,
)

UNIT = UUID("0f1e2d3c-4b5a-4697-8877-665544332211")
NODE = UUID("5b3c6a1e-8f0e-4c5e-9a57-2f1d3c4b5a60")


@pytest.mark.parametrize(
    ("command", "level"),
    [
        (CommandTopicName.UPDATE, "update"),
        (CommandTopicName.ENV_UPDATE, "env_update"),
        (CommandTopicName.SCHEMA_UPDATE, "schema_update"),
        (CommandTopicName.LOG_SYNC, "log_sync"),
    ],
)
def test_command_topics_have_five_levels_under_input_base_topic(command, level):
    topic = command_topic("pepeunit.com", UNIT, command)

    assert topic == f"pepeunit.com/input_base_topic/{UNIT}/{level}/pepeunit"
    assert len(topic.split("/")) == 5


@pytest.mark.parametrize(
    ("report", "level"), [(ReportTopicName.STATE, "state"), (ReportTopicName.LOG, "log")]
)
def test_report_topics_sit_under_output_base_topic(report, level):
    assert (
        report_topic("pepeunit.com", UNIT, report)
        == f"pepeunit.com/output_base_topic/{UNIT}/{level}/pepeunit"
    )


def test_a_domain_with_a_port_is_kept_whole():
    assert command_topic("localhost:1883", str(UNIT), CommandTopicName.UPDATE).startswith(
        "localhost:1883/input_base_topic/"
    )


def test_node_topic_of_a_pepeunit_template_has_three_levels():
    topic = node_topic("pepeunit.com", NODE, "current_temp/pepeunit")

    assert topic == f"pepeunit.com/{NODE}/pepeunit"
    assert is_platform_visible("current_temp/pepeunit")


@pytest.mark.parametrize("template", ["raw_adc", "pepeunit", "a/pepeunit/b", "x/pepeunits"])
def test_node_topic_of_other_templates_has_two_levels(template):
    assert node_topic("pepeunit.com", NODE, template) == f"pepeunit.com/{NODE}"
    assert not is_platform_visible(template)
