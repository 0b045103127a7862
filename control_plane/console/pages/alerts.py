"""The alert rules of the user's pipelines and the events they raised, newest first, in pages
of `PAGE_SIZE` (`GET /alerts`), read through `services.nodes.alerts`."""

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from control_plane.api.deps import SessionDep
from control_plane.console.auth import ConsoleUser
from control_plane.console.routing import console_router
from control_plane.console.templating import render
from control_plane.services.nodes.alerts import alert_events, alert_rules
from control_plane.services.paging import Page

PAGE_SIZE = 50

router = console_router()

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get("/alerts")
def alerts_page(
    request: Request, user: ConsoleUser, session: SessionDep, page: PageNumber = 1
) -> Response:
    count, events = alert_events(session, user, Page((page - 1) * PAGE_SIZE, PAGE_SIZE))
    return render(
        request,
        "alerts/list.html",
        title="Alerts",
        nodes=alert_rules(session, user),
        events=events,
        count=count,
        number=page,
        pages=max(1, -(-count // PAGE_SIZE)),
    )
