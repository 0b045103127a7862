"""The repos the user can see (`GET /repos`) and one repo (`GET /repos/{uuid}`): its registry,
branch, update policy, the versions its branch offers and its units' current and target
versions. Its creator updates its units (`POST /repos/{uuid}/update-units`, as
`PATCH /repos/update_units_firmware`) and grants and revokes access to it (`pages.access`); an Admin
runs the fleet-wide update (`POST /repos/bulk-update`, as `POST /repos/bulk_update`, here
waited for so its result can be shown). Refusals are the API's, shown as messages."""

from typing import Annotated
from uuid import UUID

from fastapi import Query, Request
from starlette.responses import RedirectResponse, Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.console.auth import ConsoleAgent, ConsoleUser
from control_plane.console.repo_view import repo_detail, repos_page
from control_plane.console.routing import console_router
from control_plane.console.templating import render
from control_plane.services.errors import NoAccessError
from control_plane.services.repos import access as repo_access
from control_plane.services.repos import firmware_updates
from pepeunit_core.db.enums import UserRole

PAGE_SIZE = 50

router = console_router()

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
Count = Annotated[int | None, Query(ge=0)]


@router.get("/repos")
def repos_list(
    request: Request, agent: ConsoleAgent, session: SessionDep, page: PageNumber = 1
) -> Response:
    count, rows = repos_page(session, agent, page, PAGE_SIZE)
    return render(
        request,
        "repos/list.html",
        title="Repos",
        rows=rows,
        count=count,
        number=page,
        pages=max(1, -(-count // PAGE_SIZE)),
        admin=agent.user is not None and agent.user.role == UserRole.ADMIN,
        updated=None,
        failed=None,
    )


@router.post("/repos/bulk-update")
def bulk_update(
    request: Request,
    agent: ConsoleAgent,
    user: ConsoleUser,
    context: ContextDep,
    session: SessionDep,
) -> Response:
    if user.role != UserRole.ADMIN:
        raise NoAccessError("Only an Admin may do this")
    report = firmware_updates.update_all_auto_update_repos(
        session, context.settings, context.publisher
    )
    count, rows = repos_page(session, agent, 1, PAGE_SIZE)
    return render(
        request,
        "repos/list.html",
        title="Repos",
        rows=rows,
        count=count,
        number=1,
        pages=max(1, -(-count // PAGE_SIZE)),
        admin=True,
        updated=report.units,
        failed=report.failed,
    )


@router.get("/repos/{uuid}")
def repo_page(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    context: ContextDep,
    session: SessionDep,
    updated: Count = None,
    failed: Count = None,
) -> Response:
    detail = repo_detail(session, context.settings, agent, uuid)
    return render(
        request,
        "repos/repo.html",
        title=detail.repo.name,
        detail=detail,
        updated=updated,
        failed=failed,
    )


@router.post("/repos/{uuid}/update-units")
def update_units(
    uuid: UUID, user: ConsoleUser, context: ContextDep, session: SessionDep
) -> Response:
    repo = repo_access.own_repo(session, user, uuid)
    report = firmware_updates.update_repo_units(session, context.settings, context.publisher, repo)
    target = (
        f"{context.settings.app_prefix}/repos/{uuid}?updated={report.units}&failed={report.failed}"
    )
    return RedirectResponse(target, status_code=303)
