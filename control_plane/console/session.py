"""The console's cookies: the session (a user token, as the API's `x-auth-token`) and the
CSRF secret, and the CSRF token derived from it.

The session cookie holds the same JWT `POST /users/auth` gives, so a session ends when the token
expires and a blocked user is refused exactly as by the API. The CSRF secret is a random value
in a cookie of its own, renewed at sign-in and sign-out; forms and htmx requests send
HMAC(PU_SECRET_KEY, secret) back (a hidden `csrf_token` field or the `X-CSRF-Token` header),
which a page of another site can neither read nor compute.
"""

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "pepeunit_session"
CSRF_COOKIE = "pepeunit_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_CSRF_SECRET_BYTES = 32


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(_CSRF_SECRET_BYTES)


def csrf_token(secret_key: str, csrf_secret: str) -> str:
    """What forms and htmx requests must send for this browser's CSRF secret."""
    digest = hmac.new(secret_key.encode(), f"console-csrf:{csrf_secret}".encode(), hashlib.sha256)
    return digest.hexdigest()


def csrf_matches(secret_key: str, csrf_secret: str | None, presented: str | None) -> bool:
    if not csrf_secret or not presented:
        return False
    return hmac.compare_digest(csrf_token(secret_key, csrf_secret), presented)


def _set_cookie(
    request: Request,
    response: Response,
    app_prefix: str,
    name: str,
    value: str,
    max_age: int | None,
    same_site: str,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=app_prefix or "/",
        httponly=True,
        samesite=same_site,  # type: ignore[arg-type]
        secure=request.url.scheme == "https",
    )


def set_session(
    request: Request, response: Response, app_prefix: str, token: str, lifetime_s: int
) -> None:
    """Signs the browser in with `token`, and gives it a new CSRF secret."""
    _set_cookie(request, response, app_prefix, SESSION_COOKIE, token, lifetime_s, "lax")
    set_csrf_secret(request, response, app_prefix, new_csrf_secret())


def clear_session(request: Request, response: Response, app_prefix: str) -> None:
    _set_cookie(request, response, app_prefix, SESSION_COOKIE, "", 0, "lax")
    set_csrf_secret(request, response, app_prefix, new_csrf_secret())


def set_csrf_secret(request: Request, response: Response, app_prefix: str, secret: str) -> None:
    # Lax, not Strict: a Strict cookie stays behind when a link from another site opens a page,
    # which would then hand out a new secret and void the forms of the tabs already open.
    _set_cookie(request, response, app_prefix, CSRF_COOKIE, secret, None, "lax")
