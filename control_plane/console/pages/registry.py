"""The repository registries the user can see (`GET /registry`), each with its sync status;
syncing one (`POST /registry/{uuid}/sync`, as `PATCH /repository_registry/update_local_repository`)
and registering a new one (`POST /registry`, as `POST /repository_registry`, which clones it at
once). A refused sync is a message; a refused registration is shown in its form."""

from typing import Annotated
from uuid import UUID

from fastapi import Form, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.console.auth import ConsoleAgent, ConsoleUser
from control_plane.console.routing import console_router, describe_validation
from control_plane.console.templating import is_htmx, render
from control_plane.models.repository_registry import (
    RepositoryRegistryCreate,
    RepositoryRegistryFilter,
)
from control_plane.services import registry as registry_service
from control_plane.services.errors import InputValidationError, ServiceError
from control_plane.services.paging import Page
from control_plane.services.registry import registry_errors
from control_plane.services.registry import user_requests as registry_requests
from control_plane.services.registry.access import list_visible_registries, visible_registry
from pepeunit_core.db.enums import RepositoryPlatform

PAGE_SIZE = 50

router = console_router()

FormText = Annotated[str, Form()]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


def _registry_page(
    request: Request,
    agent: ConsoleAgent,
    session: SessionDep,
    page: int,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    count, rows = list_visible_registries(
        session, agent, RepositoryRegistryFilter(), Page((page - 1) * PAGE_SIZE, PAGE_SIZE)
    )
    return render(
        request,
        "registry/list.html",
        status_code=status_code,
        title="Registry",
        registries=rows,
        count=count,
        number=page,
        pages=max(1, -(-count // PAGE_SIZE)),
        platforms=list(RepositoryPlatform),
        form=form or {"repository_url": "", "platform": "Github", "visibility": "public"},
        error=error,
    )


@router.get("/registry")
def registry_list(
    request: Request, agent: ConsoleAgent, session: SessionDep, page: PageNumber = 1
) -> Response:
    return _registry_page(request, agent, session, page)


@router.post("/registry")
def register(
    request: Request,
    agent: ConsoleAgent,
    user: ConsoleUser,
    context: ContextDep,
    session: SessionDep,
    repository_url: FormText = "",
    platform: FormText = "Github",
    visibility: FormText = "public",
    username: FormText = "",
    pat_token: FormText = "",
) -> Response:
    settings = context.settings
    form = {"repository_url": repository_url, "platform": platform, "visibility": visibility}
    try:
        if not repository_url.strip():
            raise InputValidationError("Enter the repository URL")
        public = visibility != "private"
        data = RepositoryRegistryCreate.model_validate(
            {
                "platform": platform,
                "repository_url": repository_url.strip(),
                "is_public_repository": public,
                "credentials": None if public else {"username": username, "pat_token": pat_token},
            }
        )
        registry_requests.create(session, settings, user, data)
    except ValidationError as invalid:
        error = describe_validation(invalid)
    except ServiceError as refusal:
        error = refusal.message
    else:
        return RedirectResponse(f"{settings.app_prefix}/registry", status_code=303)
    session.rollback()
    return _registry_page(request, agent, session, 1, form=form, error=error, status_code=422)


@router.post("/registry/{uuid}/sync")
def sync(
    request: Request,
    uuid: UUID,
    agent: ConsoleAgent,
    user: ConsoleUser,
    context: ContextDep,
    session: SessionDep,
) -> Response:
    with registry_errors():
        registry_service.sync_registry(session, context.settings, uuid, user)
    if is_htmx(request):
        registry = visible_registry(session, agent, uuid)
        return render(request, "registry/row.html", registry=registry)
    return RedirectResponse(f"{context.settings.app_prefix}/registry", status_code=303)
