"""Sign-in, sign-out and the first run (creating the Admin of a new instance).

The session is the user token `POST /users/auth` gives, in an HttpOnly cookie
(`console.session`); the first run creates the first user through `users.create_user`, which
makes the first user Admin, and refuses once any user exists.
"""

from typing import Annotated

from fastapi import Form, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from control_plane.api.deps import ContextDep, SessionDep
from control_plane.console.routing import console_router, describe_validation, message_response
from control_plane.console.session import clear_session, set_session
from control_plane.console.templating import render
from control_plane.models.user import UserAuth, UserCreate, UserFilter
from control_plane.security import make_user_token
from control_plane.services.errors import NoAccessError, NotAuthenticatedError, UserError
from control_plane.services.paging import Page
from control_plane.services.users import users
from pepeunit_core.db.models import User

router = console_router()

FormText = Annotated[str, Form()]
HOME = "/units"


def _safe_next(prefix: str, target: str | None) -> str:
    """Where to go after signing in: only a path of the console, never another site."""
    if (
        target
        and target.startswith(f"{prefix}/")
        and not target.startswith("//")
        and "\\" not in target
        and "://" not in target
    ):
        return target
    return f"{prefix}{HOME}"


def _has_users(session: SessionDep) -> bool:
    count, _ = users.list_users(session, UserFilter(), Page(0, 0))
    return count > 0


def _signed_in(request: Request, context: ContextDep, user: User, target: str) -> Response:
    settings = context.settings
    token = make_user_token(user.uuid, settings.resolved_secret_key, settings.auth_token_expiration)
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, settings.app_prefix, token, settings.auth_token_expiration)
    return response


@router.get("/")
def home(context: ContextDep) -> Response:
    return RedirectResponse(f"{context.settings.app_prefix}{HOME}", status_code=303)


@router.get("/sign-in")
def sign_in_page(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    next: str | None = None,
    reason: str | None = None,
) -> Response:
    prefix = context.settings.app_prefix
    if not _has_users(session):
        return RedirectResponse(f"{prefix}/first-run", status_code=303)
    return render(
        request, "sign_in.html", next=_safe_next(prefix, next), error=reason, credentials=""
    )


@router.post("/sign-in")
def sign_in(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    credentials: FormText = "",
    password: FormText = "",
    next: FormText = "",
) -> Response:
    target = _safe_next(context.settings.app_prefix, next)
    try:
        data = UserAuth(credentials=credentials, password=password)
        user = users.authenticate(session, context.passwords, data.credentials, data.password)
    except ValidationError:
        error, status_code = "Enter your login and password.", 422
    except (NotAuthenticatedError, NoAccessError) as refusal:
        error = refusal.message
        status_code = 403 if isinstance(refusal, NoAccessError) else 401
    else:
        return _signed_in(request, context, user, target)
    return render(
        request,
        "sign_in.html",
        status_code=status_code,
        next=target,
        error=error,
        credentials=credentials,
    )


@router.post("/sign-out")
def sign_out(request: Request, context: ContextDep) -> Response:
    prefix = context.settings.app_prefix
    response = RedirectResponse(f"{prefix}/sign-in", status_code=303)
    clear_session(request, response, prefix)
    return response


def _already_set_up(request: Request) -> Response:
    return message_response(
        request,
        409,
        "Already set up",
        "This instance has its Admin already: sign in, or ask an Admin for an account.",
    )


@router.get("/first-run")
def first_run_page(request: Request, session: SessionDep) -> Response:
    if _has_users(session):
        return _already_set_up(request)
    return render(request, "first_run.html", error=None, login="")


@router.post("/first-run")
def first_run(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    login: FormText = "",
    password: FormText = "",
    password_again: FormText = "",
) -> Response:
    if _has_users(session):
        return _already_set_up(request)
    error: str
    if password != password_again:
        error = "The two passwords differ."
    else:
        try:
            user = users.create_user(
                session, context.passwords, UserCreate(login=login, password=password)
            )
        except ValidationError as invalid:
            error = describe_validation(invalid)
        except UserError as refusal:
            error = refusal.message
        else:
            return _signed_in(request, context, user, f"{context.settings.app_prefix}{HOME}")
    return render(request, "first_run.html", status_code=422, error=error, login=login)
