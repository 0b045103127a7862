"""The units list: search by name, pages of `PAGE_SIZE`, and the live values of the units shown.

`GET /units` is the page; `GET /units/rows` the table alone (htmx swaps it in as the search
changes); `GET /units/live?unit=…` the SSE stream of the shown units' status and output
values (events `status-<unit uuid>`, `current-<unit uuid>` and `value-<node uuid>`).
"""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Query, Request
from starlette.responses import Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.console.auth import ConsoleAgent, StreamAgent
from control_plane.console.live import ServerEvent, event_stream
from control_plane.console.routing import console_router
from control_plane.console.templating import render, render_text
from control_plane.console.unit_rows import live_values, units_page, visible_units

PAGE_SIZE = 50
MAX_WATCHED_UNITS = 100
SEARCH_CHARACTERS = 256

router = console_router()

Search = Annotated[str, Query(max_length=SEARCH_CHARACTERS)]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get("/units")
def units_list(
    request: Request,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    q: Search = "",
    page: PageNumber = 1,
) -> Response:
    found = units_page(session, context.settings, agent, q.strip(), page, PAGE_SIZE)
    return render(request, "units/list.html", page=found, q=q.strip())


@router.get("/units/rows")
def units_rows(
    request: Request,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    q: Search = "",
    page: PageNumber = 1,
) -> Response:
    found = units_page(session, context.settings, agent, q.strip(), page, PAGE_SIZE)
    return render(request, "units/table.html", page=found, q=q.strip())


@router.get("/units/live")
def units_live(
    request: Request,
    agent: StreamAgent,
    context: ContextDep,
    unit: Annotated[list[UUID], Query(max_length=MAX_WATCHED_UNITS)],
) -> Response:
    with context.session_factory() as session:
        watched = list(visible_units(session, agent, unit))

    def poll() -> list[ServerEvent]:
        with context.session_factory() as session:
            statuses, values = live_values(
                session, context.settings, agent, watched, datetime.now(UTC)
            )
        events = [
            ServerEvent(f"{name}-{uuid}", render_text(request, f"units/{name}.html", status=status))
            for uuid, status in statuses.items()
            for name in ("status", "current")
        ]
        events += [
            ServerEvent(f"value-{node.uuid}", render_text(request, "units/value.html", node=node))
            for node in values
        ]
        return events

    return event_stream(poll)
