"""`static/`, served with caching headers: a URL that carries the file's checksum (`?v=`, as
`templating.static` writes them) may be kept for a year; any other must be revalidated (the
ETag and Last-Modified of Starlette's StaticFiles make that cheap)."""

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from control_plane.console.templating import STATIC_DIRECTORY, static_version

FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class ConsoleStaticFiles(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=STATIC_DIRECTORY)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            version = QueryParams(scope.get("query_string", b"")).get("v")
            current = version is not None and _version_of(path) == version
            response.headers["Cache-Control"] = FOREVER if current else REVALIDATE
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _version_of(path: str) -> str | None:
    try:
        return static_version(path)
    except OSError:
        return None
