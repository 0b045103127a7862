"""Physical MQTT topics of units and nodes (docs/compatibility.md#topics), shared by the control
plane and the dataflow; `{D}` is `PU_DOMAIN` and may carry `:port`.

- commands to the unit: `{D}/input_base_topic/{unit}/{cmd}/pepeunit`
- reports of the unit: `{D}/output_base_topic/{unit}/{state|log}/pepeunit`
- unit nodes: `{D}/{node}`, plus `/pepeunit` when the template topic ends in `/pepeunit`
"""

from enum import StrEnum
from uuid import UUID

PEPEUNIT_SUFFIX = "/pepeunit"


class BaseTopicDestination(StrEnum):
    """Second level of the 5-level topics reserved for the platform and the unit."""

    INPUT = "input_base_topic"
    OUTPUT = "output_base_topic"


class CommandTopicName(StrEnum):
    """Commands the platform sends to a unit (the `{cmd}` level)."""

    UPDATE = "update"
    ENV_UPDATE = "env_update"
    SCHEMA_UPDATE = "schema_update"
    LOG_SYNC = "log_sync"


class ReportTopicName(StrEnum):
    """Reports a unit sends to the platform."""

    STATE = "state"
    LOG = "log"


def base_topic(
    domain: str, destination: BaseTopicDestination, unit_uuid: UUID | str, template: str
) -> str:
    """A base topic for a template written in schema_example.json, e.g. `update/pepeunit`."""
    return f"{domain}/{destination}/{unit_uuid}/{template}"


def command_topic(domain: str, unit_uuid: UUID | str, command: CommandTopicName) -> str:
    return base_topic(domain, BaseTopicDestination.INPUT, unit_uuid, f"{command}{PEPEUNIT_SUFFIX}")


def report_topic(domain: str, unit_uuid: UUID | str, report: ReportTopicName) -> str:
    return base_topic(domain, BaseTopicDestination.OUTPUT, unit_uuid, f"{report}{PEPEUNIT_SUFFIX}")


def is_platform_visible(template: str) -> bool:
    """Whether the platform reads (stores, pipes) values of a node with this template topic."""
    return template.endswith(PEPEUNIT_SUFFIX)


def node_topic(domain: str, node_uuid: UUID | str, template: str) -> str:
    suffix = PEPEUNIT_SUFFIX if is_platform_visible(template) else ""
    return f"{domain}/{node_uuid}{suffix}"
