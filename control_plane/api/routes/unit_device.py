"""What a device reads and writes about itself under `/units` (docs/compatibility.md#device-routes):
env.json, schema.json, the firmware archive, the state storage and its logs. Only the unit's creator
or the unit itself may call these; editing or resetting the env is the creator's alone."""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from control_plane.api.deps import (
    ClickHouseDep,
    ContextDep,
    CurrentAgent,
    CurrentUser,
    SessionDep,
)
from control_plane.api.error_responses import STORE_ERRORS
from control_plane.api.file_responses import file_response
from control_plane.api.pagination import PageDep
from control_plane.models.unit_log import UnitLogFilter, UnitLogsResult
from control_plane.services.firmware import (
    DEFAULT_TGZ_LEVEL,
    DEFAULT_TGZ_WBITS,
    ArchiveFormat,
    unit_firmware,
)
from control_plane.services.units import access as unit_access
from control_plane.services.units import commands as unit_commands
from control_plane.services.units import env as unit_env
from control_plane.services.units import logs as unit_logs
from control_plane.services.units import state_storage
from control_plane.services.units.commands import UnitCommand

router = APIRouter(prefix="/units", tags=["units"])


class StateStorageWrite(BaseModel):
    state: str


class EnvWrite(BaseModel):
    env_json_string: str = Field(description="A JSON object: the variables to change.")


@router.get("/env/{uuid}")
def get_env(
    uuid: UUID, agent: CurrentAgent, context: ContextDep, session: SessionDep
) -> dict[str, Any]:
    return unit_env.unit_env(session, context.settings, context.cipher, agent, uuid)


@router.patch("/env/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def set_env(
    uuid: UUID, data: EnvWrite, user: CurrentUser, context: ContextDep, session: SessionDep
) -> None:
    """Changes variables of the unit's env.json (only those it has; PU_COMMIT_VERSION, which the
    platform sets, is ignored)."""
    unit_env.set_unit_env(
        session, context.settings, context.cipher, user, uuid, data.env_json_string
    )


@router.delete("/env/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def reset_env(uuid: UUID, user: CurrentUser, session: SessionDep) -> None:
    """Forgets the stored env: the next read builds it anew, with new unit secrets."""
    unit_env.reset_unit_env(session, user, uuid)


@router.get("/log_list/", responses=STORE_ERRORS)
def list_logs(
    filters: Annotated[UnitLogFilter, Query()],
    page: PageDep,
    agent: CurrentAgent,
    session: SessionDep,
    clickhouse: ClickHouseDep,
) -> UnitLogsResult:
    """The unit's log entries that have not expired, newest first by default."""
    return unit_logs.list_unit_logs(session, clickhouse, agent, filters, page, datetime.now(UTC))


@router.post(
    "/send_command_to_input_base_topic/{uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=STORE_ERRORS,  # LogSync deletes the stored logs
)
def send_command(
    uuid: UUID,
    command: Annotated[UnitCommand, Query()],
    agent: CurrentAgent,
    context: ContextDep,
    session: SessionDep,
) -> None:
    """Publishes a command on the unit's input base topic, if its schema lists that topic.
    LogSync deletes the stored logs first; an Update moves the firmware status to RequestSent
    (or to Error when the broker does not take it)."""
    unit = unit_access.device_unit(session, agent, uuid)
    unit_commands.send_command(session, context.settings, context.publisher, unit, command)


@router.get("/get_current_schema/{uuid}")
def get_current_schema(
    uuid: UUID, agent: CurrentAgent, context: ContextDep, session: SessionDep
) -> dict[str, dict[str, list[str]]]:
    return unit_env.unit_schema(session, context.settings, agent, uuid)


@router.post("/set_state_storage/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def set_state_storage(
    uuid: UUID,
    data: StateStorageWrite,
    agent: CurrentAgent,
    context: ContextDep,
    session: SessionDep,
) -> None:
    state_storage.set_state_storage(
        session, context.settings, context.cipher, agent, uuid, data.state
    )


@router.get("/get_state_storage/{uuid}")
def get_state_storage(
    uuid: UUID, agent: CurrentAgent, context: ContextDep, session: SessionDep
) -> str:
    return state_storage.get_state_storage(session, context.cipher, agent, uuid)


_MEDIA_TYPES = {
    ArchiveFormat.ZIP: "application/zip",
    ArchiveFormat.TAR: "application/x-tar",
    ArchiveFormat.TGZ: "application/octet-stream",
}


@router.get(
    "/firmware/{archive_format}/{uuid}",
    response_class=Response,
    responses=file_response("The firmware archive.", *_MEDIA_TYPES.values()),
)
def get_firmware(
    archive_format: ArchiveFormat,
    uuid: UUID,
    agent: CurrentAgent,
    context: ContextDep,
    session: SessionDep,
    wbits: Annotated[int, Query()] = DEFAULT_TGZ_WBITS,
    level: Annotated[int, Query()] = DEFAULT_TGZ_LEVEL,
) -> Response:
    """The repo at the unit's target with its env.json and schema.json; `wbits` and `level`
    set the zlib stream of tgz (defaults 9/9: zlib-wrapped deflate, 512-byte window)."""
    content = unit_firmware.unit_firmware(
        session,
        context.settings,
        context.cipher,
        agent,
        uuid,
        archive_format,
        wbits=wbits,
        level=level,
    )
    filename = f"{uuid}.{archive_format.value}"
    return Response(
        content,
        media_type=_MEDIA_TYPES[archive_format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
