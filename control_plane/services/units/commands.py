"""Commands the platform sends to a unit on its input base topic (docs/compatibility.md#commands):
`{"COMMAND": "Update" | "EnvUpdate" | "SchemaUpdate" | "LogSync"}`, `Update` with the target
`PU_COMMIT_VERSION` (and `COMPILED_FIRMWARE_LINK` for compilable repos).

A command goes out only when the unit's schema.json lists its topic. An Update moves the
unit's firmware status to RequestSent (remembering the commit asked for, which the dataflow
compares with the version the unit reports), or to Error with the reason when the broker could
not take it: a publish failure is recorded on the unit, never an internal error. LogSync
deletes the unit's stored logs first, since the unit is about to send all it has.
"""

import json
from enum import StrEnum

from sqlalchemy.orm import Session

from control_plane.security import Agent, AgentType
from control_plane.services.broker.publisher import BrokerPublisher, PublishError
from control_plane.services.errors import MqttError, UnitError
from control_plane.services.firmware import SchemaJson
from control_plane.services.repos.repos import available_platforms
from control_plane.services.store import store_client
from control_plane.services.units.env import schema_of
from control_plane.services.units.target import DeviceUnit, device_target
from pepeunit_core.clickhouse.pool import shared_clickhouse_pool
from pepeunit_core.db.enums import FirmwareUpdateStatus
from pepeunit_core.db.models import Unit
from pepeunit_core.db.types import utc_now
from pepeunit_core.settings import Settings
from pepeunit_core.topics import PEPEUNIT_SUFFIX, CommandTopicName, command_topic


class UnitCommand(StrEnum):
    UPDATE = "Update"
    ENV_UPDATE = "EnvUpdate"
    SCHEMA_UPDATE = "SchemaUpdate"
    LOG_SYNC = "LogSync"


COMMAND_TOPICS = {
    UnitCommand.UPDATE: CommandTopicName.UPDATE,
    UnitCommand.ENV_UPDATE: CommandTopicName.ENV_UPDATE,
    UnitCommand.SCHEMA_UPDATE: CommandTopicName.SCHEMA_UPDATE,
    UnitCommand.LOG_SYNC: CommandTopicName.LOG_SYNC,
}


class CommandNotSupportedError(UnitError):
    """The unit's schema has no topic for the command (or no firmware link for an Update)."""


def supported_commands(
    session: Session, settings: Settings, target: DeviceUnit
) -> list[UnitCommand]:
    """The commands the resolved unit's schema lists a topic for."""
    schema = schema_of(session, settings, target)
    return [command for command in UnitCommand if _listed(schema, command)]


def _listed(schema: SchemaJson, command: UnitCommand) -> bool:
    return f"{COMMAND_TOPICS[command]}{PEPEUNIT_SUFFIX}" in schema["input_base_topic"]


def send_command(
    session: Session,
    settings: Settings,
    publisher: BrokerPublisher,
    unit: Unit,
    command: UnitCommand,
) -> None:
    """Sends `command` to the unit. Raises CommandNotSupportedError when its schema does not
    list the topic and MqttError when the broker does not take it (an Update records that on
    the unit first)."""
    # A command concerns the unit itself: its target and schema are read with its own rights.
    target = device_target(session, settings, Agent(AgentType.UNIT, unit.uuid), unit.uuid)
    if not _listed(schema_of(session, settings, target), command):
        raise CommandNotSupportedError(
            f"The unit's schema has no {COMMAND_TOPICS[command]}{PEPEUNIT_SUFFIX} input base topic"
        )
    payload: dict[str, str] = {"COMMAND": command.value}
    if command is UnitCommand.UPDATE:
        payload |= _update_fields(session, settings, target)
    if command is UnitCommand.LOG_SYNC:
        _delete_logs(settings, unit)
    topic = command_topic(settings.domain, unit.uuid, COMMAND_TOPICS[command])
    try:
        publisher.publish(topic, json.dumps(payload).encode())
    except PublishError as error:
        if command is UnitCommand.UPDATE:
            unit.firmware_update_status = FirmwareUpdateStatus.ERROR
            unit.firmware_update_error = str(error)
            session.commit()
        raise MqttError(str(error)) from error
    if command is UnitCommand.UPDATE:
        unit.firmware_update_status = FirmwareUpdateStatus.REQUEST_SENT
        unit.firmware_update_error = None
        unit.firmware_update_target_commit = payload["PU_COMMIT_VERSION"]
        unit.last_firmware_update_datetime = utc_now()
        session.commit()


def send_update_if_supported(
    session: Session, settings: Settings, publisher: BrokerPublisher, unit: Unit
) -> None:
    """The automatic Update after a change of the unit's target: skipped for
    a unit whose schema has no update topic; a broker failure is left on the unit's status."""
    try:
        send_command(session, settings, publisher, unit, UnitCommand.UPDATE)
    except (CommandNotSupportedError, MqttError):
        return


def _update_fields(session: Session, settings: Settings, target: DeviceUnit) -> dict[str, str]:
    unit, repo = target.unit, target.repo
    fields = {"PU_COMMIT_VERSION": target.commit}
    if repo.is_compilable_repo:
        assets = dict(available_platforms(session, settings, repo, None, target.target.tag))
        link = assets.get(unit.target_firmware_platform or "")
        if link is None:
            raise CommandNotSupportedError(
                f"No release asset {unit.target_firmware_platform!r} at tag {target.target.tag}"
            )
        fields["COMPILED_FIRMWARE_LINK"] = link
    return fields


def _delete_logs(settings: Settings, unit: Unit) -> None:
    pool = shared_clickhouse_pool(settings.resolved_clickhouse_url, settings.clickhouse_pool_size)
    with store_client(pool) as client:
        client.command(
            "DELETE FROM unit_logs WHERE unit_uuid = {unit:UUID}",
            parameters={"unit": str(unit.uuid)},
        )
