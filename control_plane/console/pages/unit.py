"""The unit page, `GET /units/{uuid}`: the unit's status, versions and nodes (live), and for
its creator its env (a form per variable), commands, firmware archives, state storage, logs
(live, filtered by level) and who has access (granted and revoked by `pages.access`). Each
action goes through the service the API route uses:

- `POST /units/{uuid}/env`: `units.env.set_unit_env` (as `PATCH /units/env/{uuid}`), then an
  EnvUpdate when asked and the unit's schema lists it;
- `POST /units/{uuid}/command`: `units.commands.send_command` (as
  `POST /units/send_command_to_input_base_topic/{uuid}`);
- `POST /units/{uuid}/state`: `units.state_storage.set_state_storage`;
- `GET /units/{uuid}/firmware/{zip|tar|tgz}`: `firmware.unit_firmware` (as `GET /units/firmware`);
- `GET /units/{uuid}/live` and `GET /units/{uuid}/logs?level=…`: Server-Sent Events (the logs
  say so while ClickHouse is out of reach).

Bad input (a field that is not JSON, a variable the env lacks, a state too long) is shown in
the page beside its form; a refusal (not the creator) is the API's message and status.
"""

import json
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.api.errors import error_family
from control_plane.console.auth import ConsoleAgent, ConsoleUser, StreamAgent
from control_plane.console.live import ServerEvent, event_stream
from control_plane.console.routing import console_router
from control_plane.console.templating import app_prefix, render, render_text
from control_plane.console.unit_env_form import EnvFormError, env_edit
from control_plane.console.unit_rows import live_values, visible_units
from control_plane.console.unit_view import unit_view
from control_plane.models.unit_log import UnitLogFilter
from control_plane.services.errors import MqttError, StoreUnavailableError, UnitError
from control_plane.services.firmware import (
    DEFAULT_TGZ_LEVEL,
    DEFAULT_TGZ_WBITS,
    ArchiveFormat,
    unit_firmware,
)
from control_plane.services.paging import Page
from control_plane.services.store import store_client
from control_plane.services.units import access, commands, state_storage
from control_plane.services.units import env as unit_env
from control_plane.services.units import logs as unit_logs
from control_plane.services.units.commands import CommandNotSupportedError, UnitCommand
from pepeunit_core.db.enums import LogLevel, UnitNodeType

LOGS_SHOWN = 100
ALL_NODES = (UnitNodeType.INPUT, UnitNodeType.OUTPUT)
LOGS_POLL_INTERVAL_S = 1.0

router = console_router()

NOTICES = {
    "env-sent": "Saved the env and sent EnvUpdate: the unit fetches its new env.json.",
    "env-saved": "Saved the env. The unit gets it at its next EnvUpdate or firmware download.",
    "env-unsupported": "Saved the env; no EnvUpdate sent: the unit's schema has no "
    "env_update/pepeunit input base topic.",
    "env-unsent": "Saved the env; the broker did not take the EnvUpdate: try the EnvUpdate "
    "command again.",
    "env-unchanged": "Nothing to save: no field was changed.",
    "state-saved": "Saved the state storage.",
    **{f"sent-{command.value}": f"Sent {command.value}." for command in UnitCommand},
}
ARCHIVE_MEDIA_TYPES = {
    ArchiveFormat.ZIP: "application/zip",
    ArchiveFormat.TAR: "application/x-tar",
    ArchiveFormat.TGZ: "application/octet-stream",
}


async def _form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(_form_fields)]
Levels = Annotated[list[LogLevel], Query(max_length=len(LogLevel))]


def _levels_or_all(level: list[LogLevel]) -> list[LogLevel]:
    return level or list(LogLevel)


def _page(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    agent: ConsoleAgent,
    uuid: UUID,
    *,
    levels: list[LogLevel],
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    view = unit_view(session, context.settings, context.cipher, agent, uuid, datetime.now(UTC))
    return render(
        request,
        "unit/page.html",
        status_code=status_code,
        title=view.name,
        unit=view,
        notice=NOTICES.get(notice or ""),
        errors=errors or {},
        levels=levels,
        all_levels=list(LogLevel),
        formats=list(ArchiveFormat),
    )


def _back(request: Request, uuid: UUID, notice: str) -> Response:
    return RedirectResponse(f"{app_prefix(request)}/units/{uuid}?done={notice}", status_code=303)


@router.get("/units/{uuid}")
def unit_page(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    level: Levels = [],  # noqa: B006 - FastAPI copies a default list per request
    done: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    return _page(request, context, session, agent, uuid, levels=_levels_or_all(level), notice=done)


@router.post("/units/{uuid}/env")
def save_env(
    request: Request,
    uuid: UUID,
    form: FormFields,
    user: ConsoleUser,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
) -> Response:
    settings, cipher = context.settings, context.cipher
    access.own_unit(session, user, uuid)  # the API's refusal, before reading the env
    try:
        current = unit_env.unit_env(session, settings, cipher, agent, uuid)
        edit = env_edit(current, form)
        if not edit:
            return _back(request, uuid, "env-unchanged")
        unit_env.set_unit_env(session, settings, cipher, user, uuid, json.dumps(edit))
    except (EnvFormError, UnitError) as error:
        status_code = 422 if isinstance(error, EnvFormError) else error_family(error).status_code
        message = str(error) if isinstance(error, EnvFormError) else error.message
        return _page(
            request, context, session, agent, uuid,
            levels=list(LogLevel), errors={"env": message}, status_code=status_code,
        )  # fmt: skip
    if form.get("send_env_update") != "on":
        return _back(request, uuid, "env-saved")
    unit = access.device_unit(session, agent, uuid)
    try:
        commands.send_command(session, settings, context.publisher, unit, UnitCommand.ENV_UPDATE)
    except CommandNotSupportedError:
        return _back(request, uuid, "env-unsupported")
    except MqttError:
        return _back(request, uuid, "env-unsent")
    return _back(request, uuid, "env-sent")


@router.post("/units/{uuid}/command")
def send_command(
    request: Request,
    uuid: UUID,
    command: Annotated[UnitCommand, Form()],
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
) -> Response:
    unit = access.device_unit(session, agent, uuid)
    commands.send_command(session, context.settings, context.publisher, unit, command)
    return _back(request, uuid, f"sent-{command.value}")


@router.post("/units/{uuid}/state")
def save_state(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    state: Annotated[str, Form()] = "",
) -> Response:
    access.device_unit(session, agent, uuid)  # the API's refusal comes first
    try:
        state_storage.set_state_storage(
            session, context.settings, context.cipher, agent, uuid, state
        )
    except UnitError as error:
        return _page(
            request, context, session, agent, uuid, levels=list(LogLevel),
            errors={"state": error.message}, status_code=error_family(error).status_code,
        )  # fmt: skip
    return _back(request, uuid, "state-saved")


@router.get("/units/{uuid}/firmware/{archive_format}")
def firmware(
    uuid: UUID,
    archive_format: ArchiveFormat,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
) -> Response:
    content = unit_firmware.unit_firmware(
        session,
        context.settings,
        context.cipher,
        agent,
        uuid,
        archive_format,
        wbits=DEFAULT_TGZ_WBITS,
        level=DEFAULT_TGZ_LEVEL,
    )
    filename = f"{uuid}.{archive_format.value}"
    return Response(
        content,
        media_type=ARCHIVE_MEDIA_TYPES[archive_format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/units/{uuid}/live")
def unit_live(request: Request, uuid: UUID, agent: StreamAgent, context: ContextDep) -> Response:
    """Events `status`, `current` and `value-<node uuid>` (inputs and outputs)."""
    with context.session_factory() as session:
        access.visible_unit(session, agent, uuid)  # refused before the stream starts
        watched = list(visible_units(session, agent, [uuid]))

    def poll() -> list[ServerEvent]:
        with context.session_factory() as session:
            statuses, values = live_values(
                session, context.settings, agent, watched, datetime.now(UTC), ALL_NODES
            )
        events = [
            ServerEvent(name, render_text(request, f"units/{name}.html", status=status))
            for status in statuses.values()
            for name in ("status", "current")
        ]
        events += [
            ServerEvent(f"value-{node.uuid}", render_text(request, "units/value.html", node=node))
            for node in values
        ]
        return events

    return event_stream(poll)


@router.get("/units/{uuid}/logs")
def unit_logs_live(
    request: Request,
    uuid: UUID,
    agent: StreamAgent,
    context: ContextDep,
    level: Levels = [],  # noqa: B006 - FastAPI copies a default list per request
) -> Response:
    """Event `logs`: the newest `LOGS_SHOWN` entries of the levels asked (all when none)."""
    filters = UnitLogFilter(uuid=uuid, level=_levels_or_all(level))
    with context.session_factory() as session:
        access.device_unit(session, agent, uuid)  # refused before the stream starts

    def poll() -> list[ServerEvent]:
        """The logs, or while the store is out of reach, why they are not shown (the stream
        goes on, and shows them again once it is back)."""
        try:
            with context.session_factory() as session, store_client(context.clickhouse) as client:
                found = unit_logs.list_unit_logs(
                    session, client, agent, filters, Page(0, LOGS_SHOWN), datetime.now(UTC)
                )
        except StoreUnavailableError as error:
            html = render_text(request, "unit/logs.html", logs=None, problem=error.message)
            return [ServerEvent("logs", html)]
        return [ServerEvent("logs", render_text(request, "unit/logs.html", logs=found))]

    return event_stream(poll, interval_s=LOGS_POLL_INTERVAL_S)
