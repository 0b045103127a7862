"""Rendering: the Jinja2 environment of `templates/` and `render`, which every page and
fragment goes through.

Each template sees `prefix` (the app prefix, e.g. `/pepeunit`), `static(name)` (a URL of
`static/` carrying the file's checksum, so browsers may cache it for good), `csrf_token`,
`user` (the signed-in user, or None), `nav` (the navigation entries) and `is_htmx`.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from control_plane.console.session import CSRF_FIELD, CSRF_HEADER, csrf_token

STATIC_DIRECTORY = Path(str(files("control_plane.console") / "static"))


@dataclass(frozen=True)
class NavEntry:
    label: str
    path: str
    """Under the app prefix, e.g. `/units`."""


NAV = (
    NavEntry("Units", "/units"),
    NavEntry("Graph", "/graph"),
    NavEntry("Repos", "/repos"),
    NavEntry("Registry", "/registry"),
    NavEntry("Alerts", "/alerts"),
)
"""The navigation bar, in order; every entry is a page (or says it is not built yet)."""

_environment = Environment(
    loader=PackageLoader("control_plane.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def moment(value: datetime | None) -> str:
    """A stored time as people read it, in UTC."""
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_environment.filters["moment"] = moment


@cache
def static_version(name: str) -> str:
    """The first 12 hex digits of the file's sha256 (files do not change while running)."""
    return hashlib.sha256((STATIC_DIRECTORY / name).read_bytes()).hexdigest()[:12]


def app_prefix(request: Request) -> str:
    return request.app.state.context.settings.app_prefix


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def request_csrf_token(request: Request) -> str:
    settings = request.app.state.context.settings
    return csrf_token(settings.resolved_secret_key, request.state.csrf_secret)


def render_text(request: Request, template: str, **values: Any) -> str:
    prefix = app_prefix(request)
    context = {
        "prefix": prefix,
        "static": lambda name: f"{prefix}/static/{name}?v={static_version(name)}",
        "csrf_token": request_csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "user": getattr(request.state, "user", None),
        "nav": NAV,
        "path": request.url.path,
        "is_htmx": is_htmx(request),
        **values,
    }
    return _environment.get_template(template).render(context)


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """`template` rendered with `values` (and the names every template sees) as a response."""
    return HTMLResponse(
        render_text(request, template, **values), status_code=status_code, headers=headers
    )
