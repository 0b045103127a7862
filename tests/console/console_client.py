"""A browser's-eye client of the console over `TestClient`: it keeps the cookies, reads the
CSRF token the pages carry, and signs in through the forms."""

import re
from uuid import UUID

from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.console.session import CSRF_COOKIE, CSRF_FIELD, csrf_token
from pepeunit_core.db.models import User

PREFIX = "/pepeunit"
PASSWORD = "pass-word.1"
_CSRF_INPUT = re.compile(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"')


class ConsoleClient(TestClient):
    def __init__(self, app: FastAPI, base_url: str = "http://testserver") -> None:
        super().__init__(app, base_url=base_url, follow_redirects=False)
        self.app_state = app.state

    def csrf(self) -> str:
        """The token for this client's CSRF cookie (visiting a page first if it has none)."""
        if CSRF_COOKIE not in self.cookies:
            self.get(f"{PREFIX}/sign-in")
        secret_key = self.app_state.context.settings.resolved_secret_key
        return csrf_token(secret_key, self.cookies[CSRF_COOKIE])

    def form_token(self, path: str) -> str:
        """The CSRF token of the form on the page at `path`."""
        page = self.get(path)
        found = _CSRF_INPUT.search(page.text)
        assert found, f"no CSRF field on {path}: {page.status_code} {page.text[:500]}"
        return found.group(1)

    def first_run(self, login: str = "admin", password: str = PASSWORD) -> None:
        token = self.form_token(f"{PREFIX}/first-run")
        answer = self.post(
            f"{PREFIX}/first-run",
            data={"login": login, "password": password, "password_again": password,
                  CSRF_FIELD: token},
        )  # fmt: skip
        assert answer.status_code == 303, answer.text

    def sign_in(self, login: str, password: str = PASSWORD) -> None:
        token = self.form_token(f"{PREFIX}/sign-in")
        answer = self.post(
            f"{PREFIX}/sign-in",
            data={"credentials": login, "password": password, CSRF_FIELD: token},
        )
        assert answer.status_code == 303, answer.text


def register(client: TestClient, login: str, password: str = PASSWORD) -> UUID:
    """A user made through the API (the first becomes Admin)."""
    answer = client.post(f"{PREFIX}/api/v1/users", json={"login": login, "password": password})
    assert answer.status_code == 201, answer.text
    return UUID(answer.json()["uuid"])


def user_row(app: FastAPI, uuid: UUID) -> User:
    with app.state.context.session_factory() as session:
        user = session.get(User, uuid)
        assert user is not None
        session.expunge(user)
        return user
