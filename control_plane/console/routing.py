"""`ConsoleRoute`, the route class of every console router: what all pages share, so no route
can forget it.

- Every request gets a CSRF secret (`request.state.csrf_secret`; a cookie is set when the
  browser had none), and a request of an unsafe method (POST, PUT, PATCH, DELETE) must carry
  its token, in the `X-CSRF-Token` header (htmx sends it: `hx-headers` on <body>) or the
  `csrf_token` form field, or it is refused with 403 before the route runs.
- `SignInRequiredError` (no valid session) becomes a redirect to the sign-in page, or a 401
  for htmx and SSE requests (with `HX-Redirect` to the sign-in page).
- A service's refusal (`ServiceError`) and bad input (`RequestValidationError`, or a pydantic
  `ValidationError` of a model built from the input) become a page,
  or for htmx a fragment, that shows the message, with the status the API would answer.
"""

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from control_plane.api.errors import error_family
from control_plane.console.auth import SignInRequiredError
from control_plane.console.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    csrf_matches,
    new_csrf_secret,
    set_csrf_secret,
)
from control_plane.console.templating import app_prefix, is_htmx, render
from control_plane.services.errors import ServiceError

# Nothing from another host, and no inline scripts: a page's scripts are files of static/.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def console_router() -> APIRouter:
    """A router for console pages (not in the OpenAPI document)."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def message_response(request: Request, status_code: int, title: str, message: str) -> Response:
    """A page (or, for htmx, a fragment) that says what went wrong."""
    template = "message_fragment.html" if is_htmx(request) else "message.html"
    # htmx swaps only 2xx answers unless told: the fragment says where it goes.
    headers = {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"} if is_htmx(request) else None
    return render(
        request, template, status_code=status_code, headers=headers, title=title, message=message
    )


def _return_target(request: Request) -> str:
    """Where to come back after signing in: the page itself, or for htmx the page the
    fragment was asked from (`HX-Current-URL`), when it is on this site."""
    current = urlsplit(request.headers.get("hx-current-url", "")) if is_htmx(request) else None
    if current is not None and current.netloc == request.url.netloc and current.path:
        return current.path + (f"?{current.query}" if current.query else "")
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def sign_in_redirect(request: Request, reason: str) -> Response:
    prefix = app_prefix(request)
    target = _return_target(request)
    location = f"{prefix}/sign-in?next={quote(target, safe='')}"
    if reason:
        location += f"&reason={quote(reason, safe='')}"
    wants_stream = "text/event-stream" in request.headers.get("accept", "")
    if is_htmx(request) or wants_stream:
        return Response(
            "Sign in first",
            status_code=401,
            headers={"HX-Redirect": location},
            media_type="text/plain",
        )
    return RedirectResponse(location, status_code=303)


def describe_validation(error: RequestValidationError | ValidationError) -> str:
    """`login: String should have at least 4 characters; page: …`, for people."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body", "query"))
        message = str(item.get("msg", "invalid value"))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "invalid input"


async def _presented_csrf_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            secret = request.cookies.get(CSRF_COOKIE)
            request.state.csrf_secret = secret or new_csrf_secret()
            response = await _checked(request, handler)
            if not secret and not _sets_cookie(response, CSRF_COOKIE):
                set_csrf_secret(request, response, app_prefix(request), request.state.csrf_secret)
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            return response

        return console_handler


async def _checked(request: Request, handler: Handler) -> Response:
    settings = request.app.state.context.settings
    if request.method not in SAFE_METHODS:
        presented = await _presented_csrf_token(request)
        if not csrf_matches(
            settings.resolved_secret_key, request.cookies.get(CSRF_COOKIE), presented
        ):
            return message_response(
                request,
                403,
                "Refused",
                "The form was missing its security token or it has expired: reload the page and "
                "try again.",
            )
    try:
        return await handler(request)
    except SignInRequiredError as error:
        return sign_in_redirect(request, error.reason)
    except ServiceError as error:
        family = error_family(error)
        return message_response(request, family.status_code, family.kind, error.message)
    except (RequestValidationError, ValidationError) as error:
        # ValidationError: a service's input model built from what the user typed.
        return message_response(request, 422, "Invalid input", describe_validation(error))


def _sets_cookie(response: Response, name: str) -> bool:
    return any(value.startswith(f"{name}=") for value in response.headers.getlist("set-cookie"))
