"""Sign-in, sign-out and the first run: the same users and tokens as the API, a session cookie
with the flags a browser needs, and anonymous requests sent to sign in."""

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

from fastapi import FastAPI
from sqlalchemy import select

from control_plane.console.session import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE
from control_plane.security import make_user_token
from pepeunit_core.db.enums import UserRole, UserStatus
from pepeunit_core.db.models import User
from tests.console.console_client import PASSWORD, PREFIX, ConsoleClient, register


def set_cookies(answer) -> dict[str, SimpleCookie]:
    cookies = {}
    for header in answer.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        cookies.update({name: cookie for name in cookie})
    return cookies


def test_first_run_creates_the_admin_and_signs_in(console: ConsoleClient, app: FastAPI):
    assert console.get(f"{PREFIX}/sign-in").headers["location"] == f"{PREFIX}/first-run"
    console.first_run("admin")
    with app.state.context.session_factory() as session:
        admin = session.scalars(select(User)).one()
        assert (admin.login, admin.role) == ("admin", UserRole.ADMIN)
    page = console.get(f"{PREFIX}/units")
    assert page.status_code == 200 and "admin" in page.text and "Sign out" in page.text


def test_first_run_refuses_once_a_user_exists(console: ConsoleClient):
    register(console, "someone")
    page = console.get(f"{PREFIX}/first-run")
    assert page.status_code == 409 and "Already set up" in page.text
    token = console.csrf()
    answer = console.post(
        f"{PREFIX}/first-run",
        data={"login": "intruder", "password": PASSWORD, "password_again": PASSWORD,
              CSRF_FIELD: token},
    )  # fmt: skip
    assert answer.status_code == 409
    assert SESSION_COOKIE not in set_cookies(answer)
    auth = {"credentials": "intruder", "password": PASSWORD}
    assert console.post(f"{PREFIX}/api/v1/users/auth", json=auth).status_code == 401


def test_bad_first_run_input_is_a_message_on_the_page(console: ConsoleClient, app: FastAPI):
    token = console.form_token(f"{PREFIX}/first-run")
    cases = [
        ({"login": "ab", "password": PASSWORD, "password_again": PASSWORD}, "login"),
        ({"login": "admin", "password": PASSWORD, "password_again": "other"}, "differ"),
        ({"login": "admin", "password": "x", "password_again": "x"}, "password"),
        ({"login": "x" * 5000, "password": PASSWORD}, "login"),
        ({}, "login"),
    ]
    for fields, said in cases:
        answer = console.post(f"{PREFIX}/first-run", data={**fields, CSRF_FIELD: token})
        assert answer.status_code == 422, (fields, answer.status_code)
        assert 'class="error"' in answer.text and said in answer.text, (fields, answer.text)
    with app.state.context.session_factory() as session:
        assert session.scalars(select(User)).all() == []


def test_sign_in_and_out(console: ConsoleClient):
    register(console, "admin")
    register(console, "alice")
    console.sign_in("alice")
    assert "alice" in console.get(f"{PREFIX}/units").text
    answer = console.post(f"{PREFIX}/sign-out", data={CSRF_FIELD: console.csrf()})
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/sign-in"
    assert set_cookies(answer)[SESSION_COOKIE][SESSION_COOKIE]["max-age"] == "0"
    assert console.get(f"{PREFIX}/units").status_code == 303


def test_wrong_credentials_and_blocked_users_get_a_message(console: ConsoleClient, app: FastAPI):
    register(console, "admin")
    alice = register(console, "alice")
    token = console.form_token(f"{PREFIX}/sign-in")
    wrong = console.post(
        f"{PREFIX}/sign-in", data={"credentials": "alice", "password": "nope", CSRF_FIELD: token}
    )
    assert wrong.status_code == 401 and "Invalid credentials" in wrong.text
    empty = console.post(f"{PREFIX}/sign-in", data={CSRF_FIELD: token})
    assert empty.status_code == 422 and "Enter your login" in empty.text
    console.sign_in("alice")
    with app.state.context.session_factory() as session:
        session.get_one(User, alice).status = UserStatus.BLOCKED
        session.commit()
    # The session of a user blocked since ends: as the API refuses their token.
    answer = console.get(f"{PREFIX}/units")
    assert answer.status_code == 303 and "blocked" in answer.headers["location"]
    refused = console.post(
        f"{PREFIX}/sign-in",
        data={"credentials": "alice", "password": PASSWORD, CSRF_FIELD: console.csrf()},
    )
    assert refused.status_code == 403 and "blocked" in refused.text


def test_sign_in_goes_back_only_to_console_pages(console: ConsoleClient):
    register(console, "admin")
    for target, expected in [
        (f"{PREFIX}/units?q=x", f"{PREFIX}/units?q=x"),
        ("https://elsewhere.example/", f"{PREFIX}/units"),
        ("//elsewhere.example/pepeunit/", f"{PREFIX}/units"),
        (f"{PREFIX}/\\elsewhere.example", f"{PREFIX}/units"),
        ("/other/path", f"{PREFIX}/units"),
    ]:
        answer = console.post(
            f"{PREFIX}/sign-in",
            data={"credentials": "admin", "password": PASSWORD, "next": target,
                  CSRF_FIELD: console.csrf()},
        )  # fmt: skip
        assert answer.headers["location"] == expected, target


def test_anonymous_pages_redirect_and_htmx_and_streams_get_401(console: ConsoleClient):
    register(console, "admin")
    page = console.get(f"{PREFIX}/units?q=a")
    assert page.status_code == 303
    assert page.headers["location"] == f"{PREFIX}/sign-in?next=%2Fpepeunit%2Funits%3Fq%3Da"
    for path in ("/graph", "/repos", "/registry", "/alerts"):
        assert console.get(f"{PREFIX}{path}").status_code == 303, path
    fragment = console.get(f"{PREFIX}/units/rows", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"] == f"{PREFIX}/sign-in?next=%2Fpepeunit%2Funits%2Frows"
    from_page = {"HX-Request": "true", "HX-Current-URL": "http://testserver/pepeunit/units?q=a"}
    fragment = console.get(f"{PREFIX}/units/rows?q=ab", headers=from_page)
    assert fragment.headers["HX-Redirect"] == page.headers["location"]
    elsewhere = from_page | {"HX-Current-URL": "https://elsewhere.example/pepeunit/units"}
    fragment = console.get(f"{PREFIX}/units/rows", headers=elsewhere)
    assert "elsewhere" not in fragment.headers["HX-Redirect"]
    stream = console.get(
        f"{PREFIX}/units/live?unit=7d1c0f3e-0000-4000-8000-000000000000",
        headers={"Accept": "text/event-stream"},
    )
    assert stream.status_code == 401


def test_a_forged_or_expired_session_is_refused(console: ConsoleClient, app: FastAPI):
    admin = register(console, "admin")
    settings = app.state.context.settings
    long_ago = datetime.now(UTC) - timedelta(days=2)
    for token in [
        "not-a-token",
        make_user_token(admin, "another-secret-key-of-some-length", 3600),
        make_user_token(admin, settings.resolved_secret_key, 60, now=long_ago),
    ]:
        console.cookies.set(SESSION_COOKIE, token, path=PREFIX)
        answer = console.get(f"{PREFIX}/units")
        assert answer.status_code == 303, token
        assert "sign-in" in answer.headers["location"]


def test_cookie_flags(app: FastAPI):
    for base_url, secure in [("http://testserver", False), ("https://testserver", True)]:
        with ConsoleClient(app, base_url=base_url) as console:
            if base_url.startswith("http:"):
                register(console, "admin")
            token = console.form_token(f"{PREFIX}/sign-in")
            answer = console.post(
                f"{PREFIX}/sign-in",
                data={"credentials": "admin", "password": PASSWORD, CSRF_FIELD: token},
            )
            cookies = set_cookies(answer)
            session = cookies[SESSION_COOKIE][SESSION_COOKIE]
            csrf = cookies[CSRF_COOKIE][CSRF_COOKIE]
            for cookie in (session, csrf):
                assert cookie["httponly"] is True
                assert cookie["path"] == PREFIX
                assert bool(cookie["secure"]) is secure, base_url
            assert session["samesite"].lower() == "lax"
            assert csrf["samesite"].lower() == "lax"
            assert int(session["max-age"]) == app.state.context.settings.auth_token_expiration


def test_the_api_keeps_its_answers(console: ConsoleClient):
    api = console.get(f"{PREFIX}/api/v1/no-such-route")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    assert console.get(f"{PREFIX}/static/no-such-file.css").status_code == 404
    info = console.get(PREFIX)
    assert info.status_code == 200 and info.json()["name"] == "Pepeunit"
