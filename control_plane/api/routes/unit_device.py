"""What a device reads and writes about itself under `/units` (reference §2.5): env.json,
schema.json, the firmware archive and the state storage. Only the unit's creator or the unit
itself may call these."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from control_plane.api.deps import ContextDep, CurrentAgent, SessionDep
from control_plane.services import state_storage, unit_env, unit_firmware
from control_plane.services.firmware import DEFAULT_TGZ_LEVEL, DEFAULT_TGZ_WBITS, ArchiveFormat

router = APIRouter(prefix="/units", tags=["units"])


class StateStorageWrite(BaseModel):
    state: str


@router.get("/env/{uuid}")
def get_env(
    uuid: UUID, agent: CurrentAgent, context: ContextDep, session: SessionDep
) -> dict[str, Any]:
    return unit_env.unit_env(session, context.settings, context.cipher, agent, uuid)


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


@router.get("/firmware/{archive_format}/{uuid}")
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
