"""Granting and revoking access to a resource from its page, the same two routes for each kind
of resource the console shows an Access section for (`access_view`):

- `POST /{repos|units}/{uuid}/access`: grant it to a user (by login or uuid) or a unit (by uuid),
  as `POST /permission`;
- `POST /{repos|units}/{uuid}/access/revoke`: revoke an agent's access, as `DELETE /permission`.

Both answer with a redirect to the resource's page; refusals are the API's, shown as messages.
"""

from typing import Annotated
from uuid import UUID

from fastapi import Form
from starlette.responses import RedirectResponse, Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.console.access_view import grant_access
from control_plane.console.auth import ConsoleAgent, ConsoleUser
from control_plane.console.routing import console_router
from control_plane.models.permission import AgentKind, ResourceKind
from control_plane.services.users import permissions

PAGES = {ResourceKind.REPO: "/repos", ResourceKind.UNIT: "/units"}
"""The page of each kind of resource with an Access section."""

router = console_router()

AgentText = Annotated[str, Form(max_length=256)]


def _add_routes(kind: ResourceKind, page: str) -> None:
    @router.post(f"{page}/{{uuid}}/access", name=f"grant_{kind.value.lower()}_access")
    def grant(
        uuid: UUID,
        user: ConsoleUser,
        context: ContextDep,
        session: SessionDep,
        agent_type: Annotated[AgentKind, Form()] = AgentKind.USER,
        agent: AgentText = "",
    ) -> Response:
        """`agent`: a user's login or uuid, or a unit's uuid."""
        grant_access(session, user, kind, uuid, agent_type, agent)
        return RedirectResponse(f"{context.settings.app_prefix}{page}/{uuid}", status_code=303)

    @router.post(f"{page}/{{uuid}}/access/revoke", name=f"revoke_{kind.value.lower()}_access")
    def revoke(
        uuid: UUID,
        agent: ConsoleAgent,
        context: ContextDep,
        session: SessionDep,
        agent_uuid: Annotated[UUID, Form()],
    ) -> Response:
        permissions.delete_permission(session, agent, agent_uuid, uuid)
        return RedirectResponse(f"{context.settings.app_prefix}{page}/{uuid}", status_code=303)


for _kind, _page in PAGES.items():
    _add_routes(_kind, _page)
