"""Pages of the navigation that are not built yet: each says so, so no link is dead. A page
that gets built removes its path from `NOT_YET`."""

from fastapi import Request
from starlette.responses import Response

from control_plane.console.auth import ConsoleUser
from control_plane.console.routing import console_router
from control_plane.console.templating import NAV, render

NOT_YET: tuple[str, ...] = ()

router = console_router()


def _not_yet_page(label: str):  # noqa: ANN202 - a route handler made per page
    def page(request: Request, _user: ConsoleUser) -> Response:
        return render(request, "not_yet.html", title=label)

    return page


for _entry in NAV:
    if _entry.path in NOT_YET:
        router.add_api_route(_entry.path, _not_yet_page(_entry.label), methods=["GET"])
