"""Every unsafe request to the console must carry the CSRF token of the browser's secret: in
the form, or in the `X-CSRF-Token` header htmx sends. Found by walking the app's routes, so a
page added later is checked too."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from control_plane.console.pages import console_pages
from control_plane.console.routing import SAFE_METHODS, ConsoleRoute
from control_plane.console.session import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, csrf_token
from tests.console.console_client import PREFIX, ConsoleClient, register


def routes_of(routes: list, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every route in a router tree (FastAPI keeps included routers as
    nodes of their own: `original_router`, with the prefix of their `include_context`)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from routes_of(included.routes, prefix + route.include_context.prefix)
        else:
            assert isinstance(route, APIRoute), route
            yield prefix + route.path, route


def unsafe_console_endpoints(_app: FastAPI) -> list[tuple[str, str]]:
    endpoints = []
    for path, route in routes_of(console_pages.routes, PREFIX):
        assert isinstance(route, ConsoleRoute), path
        endpoints += [(method, path) for method in route.methods - SAFE_METHODS]
    return sorted(endpoints)


def test_every_console_path_is_served(console: ConsoleClient, app: FastAPI):
    """The walk sees the app's real paths: each answers something but 404/405."""
    for path, route in routes_of(console_pages.routes, PREFIX):
        for method in route.methods:
            answer = console.request(method, concrete(path))
            assert answer.status_code not in (404, 405), (method, path)


def concrete(path: str) -> str:
    return path.replace("{uuid}", "7d1c0f3e-0000-4000-8000-000000000000")


def test_the_walk_finds_the_forms(app: FastAPI):
    endpoints = unsafe_console_endpoints(app)
    assert {("POST", f"{PREFIX}/sign-in"), ("POST", f"{PREFIX}/sign-out"),
            ("POST", f"{PREFIX}/first-run")} <= set(endpoints)  # fmt: skip


@pytest.mark.parametrize("signed_in", [False, True])
def test_unsafe_requests_without_the_right_token_are_refused(
    console: ConsoleClient, app: FastAPI, signed_in: bool
):
    register(console, "admin")
    if signed_in:
        console.sign_in("admin")
    right = console.csrf()
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
        # The right token in a header is accepted (whatever the route then answers).
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
