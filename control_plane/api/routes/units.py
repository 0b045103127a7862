"""`/units`: create (users), read and list (by visibility), update or delete (the creator),
and the target version (the creator or the unit itself)."""

from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status

from control_plane.api.deps import (
    ContextDep,
    CurrentAgent,
    CurrentUser,
    SessionDep,
    SettingsDep,
    agent_of_types,
)
from control_plane.api.file_responses import file_response
from control_plane.api.pagination import PageDep
from control_plane.models.unit import (
    TargetVersionRead,
    UnitCreate,
    UnitFilter,
    UnitNodeRead,
    UnitRead,
    UnitsResult,
    UnitUpdate,
)
from control_plane.security import Agent, AgentType
from control_plane.services.units import access as unit_access
from control_plane.services.units import commands as unit_commands
from control_plane.services.units import readme, units
from control_plane.services.units import target as unit_target
from pepeunit_core.db.models import Unit, UnitNode

router = APIRouter(prefix="/units", tags=["units"])

UnitReader = Annotated[
    Agent,
    Depends(agent_of_types(AgentType.BOT, AgentType.USER, AgentType.UNIT, AgentType.BACKEND)),
]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_unit(
    data: UnitCreate, user: CurrentUser, settings: SettingsDep, session: SessionDep
) -> UnitRead:
    """A unit of a repo, with a node per input and output topic of its schema_example.json."""
    unit = units.create_unit(session, settings, user, data)
    return _with_nodes(unit, units.nodes_of(session, unit))


@router.get("")
def list_units(
    filters: Annotated[UnitFilter, Query()], page: PageDep, agent: UnitReader, session: SessionDep
) -> UnitsResult:
    count, rows = units.list_units(session, agent, filters, page)
    nodes = units.included_nodes(session, agent, rows, filters)
    return UnitsResult(
        count=count,
        units=[
            UnitRead.model_validate(row).model_copy(
                update={
                    "unit_nodes": [
                        UnitNodeRead.model_validate(node) for node in nodes.get(row.uuid, [])
                    ]
                }
            )
            for row in rows
        ],
    )


@router.post(
    "/convert_toml_to_md",
    response_class=Response,
    responses=file_response("The README, as Markdown.", "text/markdown", binary=False),
)
def convert_toml_to_md(
    file: Annotated[UploadFile, File(description="pepeunit.toml, as multipart field `file`.")],
    _user: CurrentUser,
) -> Response:
    """A README in Markdown from a unit repository's `pepeunit.toml` (at most 10 000
    characters; every section optional)."""
    return Response(readme.readme_of_upload(file.file), media_type="text/markdown")


@router.get("/get_target_version/{uuid}")
def get_target_version(
    uuid: UUID, agent: CurrentAgent, settings: SettingsDep, session: SessionDep
) -> TargetVersionRead:
    target = unit_target.device_target(session, settings, agent, uuid).target
    return TargetVersionRead(commit=target.commit, tag=target.tag)


@router.get("/{uuid}")
def get_unit(uuid: UUID, agent: UnitReader, session: SessionDep) -> UnitRead:
    unit = unit_access.visible_unit(session, agent, uuid)
    return _with_nodes(unit, units.visible_nodes(session, agent, [unit]).get(unit.uuid, []))


@router.patch("/{uuid}")
def update_unit(
    uuid: UUID, data: UnitUpdate, user: CurrentUser, context: ContextDep, session: SessionDep
) -> UnitRead:
    """Changes the unit, then sends it an Update (when its schema lists the topic); a broker
    failure shows in the returned firmware status."""
    unit = units.update_unit(session, context.settings, user, uuid, data)
    unit_commands.send_update_if_supported(session, context.settings, context.publisher, unit)
    return _with_nodes(unit, units.nodes_of(session, unit))


def _with_nodes(unit: Unit, nodes: Sequence[UnitNode]) -> UnitRead:
    """A single unit is read with its nodes the caller can see (the creator sees them all);
    lists include nodes only when asked."""
    return UnitRead.model_validate(unit).model_copy(
        update={"unit_nodes": [UnitNodeRead.model_validate(node) for node in nodes]}
    )


@router.delete("/{uuid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_unit(uuid: UUID, user: CurrentUser, settings: SettingsDep, session: SessionDep) -> None:
    units.delete_unit(session, settings, user, uuid)
