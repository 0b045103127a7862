"""Every unsafe request to the console must carry the CSRF token of the browser's secret: in
the form, or in the `X-CSRF-Token` header htmx sends. Found by walking the app's routes, so a
page added later is checked too."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from control_plane.console.pages import console_pages
from control_plane.console.routing import SAFE_METHODS, ConsoleRoute
from control_plane.console.session import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, csrf_token
from tests.console.console_client import PREFIX, ConsoleClient, register


def console_routes(app: FastAPI) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every console route the app serves; each must be a ConsoleRoute."""
    for context in iter_route_contexts(console_pages.routes):
        assert isinstance(context.original_route, ConsoleRoute), context.path
    console_paths = {
        f"{PREFIX}{context.path}" for context in iter_route_contexts(console_pages.routes)
    }
    for context in iter_route_contexts(app.routes):
        if context.path in console_paths and isinstance(context.original_route, APIRoute):
            assert isinstance(context.original_route, ConsoleRoute), context.path
            yield context.path, set(context.methods or ())


def unsafe_console_endpoints(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method, path) for path, methods in console_routes(app) for method in methods - SAFE_METHODS
    )


def test_every_console_path_is_served(console: ConsoleClient, app: FastAPI):
    """The walk sees the app's real paths: each answers something but 404/405."""
    paths = list(console_routes(app))
    assert len(paths) >= 8
    for path, methods in paths:
        for method in methods:
            answer = console.request(method, concrete(path))
            assert answer.status_code not in (404, 405), (method, path)


def concrete(path: str) -> str:
    return path.replace("{uuid}", "7d1c0f3e-0000-4000-8000-000000000000")


def test_the_walk_finds_the_forms(app: FastAPI):
    endpoints = unsafe_console_endpoints(app)
    assert {("POST", f"{PREFIX}/sign-in"), ("POST", f"{PREFIX}/sign-out"),
            ("POST", f"{PREFIX}/first-run")} <= set(endpoints)  # fmt: skip
    for page in ("repos", "units"):
        assert {("POST", f"{PREFIX}/{page}/{{uuid}}/access"),
                ("POST", f"{PREFIX}/{page}/{{uuid}}/access/revoke")} <= set(endpoints)  # fmt: skip


ANONYMOUS_FORMS = {f"{PREFIX}/sign-in", f"{PREFIX}/sign-out", f"{PREFIX}/first-run"}


def test_unsafe_requests_of_anonymous_users_are_sent_to_sign_in(
    console: ConsoleClient, app: FastAPI
):
    """With the right token, but no session: a page is sent to the sign-in page, htmx gets
    a 401 that says where to sign in."""
    register(console, "admin")
    endpoints = [
        (method, path)
        for method, path in unsafe_console_endpoints(app)
        if path not in ANONYMOUS_FORMS
    ]
    assert len(endpoints) >= 10
    for method, path in endpoints:
        token = console.csrf()
        answer = console.request(method, concrete(path), data={CSRF_FIELD: token})
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"].startswith(f"{PREFIX}/sign-in?next="), (method, path)
        headers = {CSRF_HEADER: token, "HX-Request": "true"}
        answer = console.request(method, concrete(path), headers=headers)
        assert answer.status_code == 401, (method, path, "htmx")
        assert answer.headers["HX-Redirect"].startswith(f"{PREFIX}/sign-in?next="), (method, path)


@pytest.mark.parametrize("signed_in", [False, True])
def test_unsafe_requests_without_the_right_token_are_refused(
    console: ConsoleClient, app: FastAPI, signed_in: bool
):
    register(console, "admin")
    if signed_in:
        console.sign_in("admin")
    console.csrf()
    secret_key = app.state.context.settings.resolved_secret_key
    wrong_tokens = {
        "missing": None,
        "empty": "",
        "garbage": "0" * 64,
        "another browser's": csrf_token(secret_key, "another-secret"),
        "another key's": csrf_token("another-key", console.cookies[CSRF_COOKIE]),
    }
    for method, path in unsafe_console_endpoints(app):
        url = concrete(path)
        for what, token in wrong_tokens.items():
            form = {} if token is None else {CSRF_FIELD: token}
            answer = console.request(method, url, data=form)
            assert answer.status_code == 403, (method, path, what, answer.status_code)
            assert "security token" in answer.text
            headers = {"HX-Request": "true"} | ({} if token is None else {CSRF_HEADER: token})
            answer = console.request(method, url, headers=headers)
            assert answer.status_code == 403, (method, path, what, "htmx")
            assert answer.headers["HX-Retarget"] == "#messages"
            assert "<html" not in answer.text and "security token" in answer.text
        # The right token in a header is accepted (whatever the route then answers); sign-out
        # renews the secret, so the token is read again for each route.
        right = console.csrf()
        answer = console.request(method, url, headers={CSRF_HEADER: right, "HX-Request": "true"})
        assert answer.status_code != 403 or "security token" not in answer.text, (method, path)


def test_a_token_without_its_cookie_is_refused(console: ConsoleClient):
    register(console, "admin")
    token = console.csrf()
    console.cookies.delete(CSRF_COOKIE)
    answer = console.post(f"{PREFIX}/sign-out", data={CSRF_FIELD: token})
    assert answer.status_code == 403


def test_signing_in_and_out_renews_the_csrf_secret(console: ConsoleClient):
    register(console, "admin")
    before = console.csrf()
    console.sign_in("admin")
    signed_in = console.csrf()
    assert signed_in != before
    console.post(f"{PREFIX}/sign-out", data={CSRF_FIELD: signed_in})
    assert console.csrf() not in (before, signed_in)
