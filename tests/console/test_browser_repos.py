"""Registry, repos and access in a real Chromium against the app on a real server (SQLite):
register a registry from a local git repository (file://), see it synced and sync it again,
open a repo built on it, grant a user access and revoke it. Screenshots in the artifacts; the
browser's console must stay free of errors."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect

from control_plane.app import create_app
from control_plane.models.repo import RepoCreate
from control_plane.models.user import UserCreate
from control_plane.services.repos import repos
from control_plane.services.users import users
from pepeunit_core.db.models import RepositoryRegistry, User
from pepeunit_core.migrate import migrate_sql
from tests.console.browser import chromium, watched_page
from tests.console.console_client import PASSWORD, PREFIX
from tests.console.registries import registry_settings
from tests.console.server import serving
from tests.control_plane.conftest import CHEAP_ARGON2
from tests.control_plane_registry.git_sources import UnitRepository

GIT_TIMEOUT_MS = 30_000
"""Clones and fetches run before the page answers: slow on a loaded machine."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    url = f"sqlite:///{tmp_path / 'console.sqlite'}"
    migrate_sql(url)
    app = create_app(registry_settings(url, tmp_path / "repos"), password_hasher=CHEAP_ARGON2)
    with serving(app) as origin:
        yield app, origin


def add_repo_on_the_registry(app: FastAPI) -> None:
    """What `POST /repos` does (the console has no form for it yet), and a second user."""
    context = app.state.context
    with context.session_factory() as session:
        admin = session.query(User).one()
        registry = session.query(RepositoryRegistry).one()
        repos.create_repo(
            session,
            context.settings,
            admin,
            RepoCreate(
                repository_registry_uuid=registry.uuid, default_branch="main", name="lamp-fw"
            ),
        )
        users.create_user(session, context.passwords, UserCreate(login="bobby", password=PASSWORD))


def test_register_sync_open_a_repo_grant_and_revoke(served, tmp_path: Path):
    app, origin = served
    (tmp_path / "source").mkdir()
    source = UnitRepository(tmp_path / "source")
    with chromium() as browser, watched_page(browser) as watched:
        page = watched.page
        page.goto(f"{origin}{PREFIX}/first-run")
        page.get_by_label("Login").fill("admin")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create the Admin").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/units")

        page.get_by_role("link", name="Registry", exact=True).click()
        page.get_by_label("Repository URL").fill("http://example.com/nope.git")
        page.get_by_role("button", name="Register and clone").click()
        expect(page.get_by_role("alert")).to_contain_text("https://")
        assert [error for error in watched.errors if "422" not in error] == []
        watched.errors.clear()
        page.get_by_label("Repository URL").fill(source.source.url)
        page.get_by_role("button", name="Register and clone").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/registry")
        row = page.locator("table.registries tbody tr")
        expect(row).to_have_count(1, timeout=GIT_TIMEOUT_MS)
        expect(row).to_contain_text(source.source.url)
        expect(row.locator(".badge")).to_have_text("Updated")
        watched.screenshot("registry-synced")
        with app.state.context.session_factory() as session:
            registry = session.query(RepositoryRegistry).one()
            registry.sync_last_datetime -= timedelta(hours=1)
            session.commit()
        page.reload()
        synced_at = row.locator("td[data-label='Last sync']").inner_text()
        row.get_by_role("button", name="Sync").click()  # htmx swaps the row in
        expect(row.locator("td[data-label='Last sync']")).not_to_have_text(
            synced_at, timeout=GIT_TIMEOUT_MS
        )
        expect(row.locator(".badge")).to_have_text("Updated")

        add_repo_on_the_registry(app)
        page.get_by_role("link", name="Repos", exact=True).click()
        page.get_by_role("link", name="lamp-fw").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("lamp-fw")
        expect(page.locator(".version-list")).to_contain_text("1.0.0")
        expect(page.locator(".facts")).to_contain_text("automatic, tags only")
        access = page.locator(".access-list li")
        expect(access).to_have_count(1)

        page.get_by_label("Login or uuid").fill("bobby")
        page.get_by_role("button", name="Grant").click()
        expect(access).to_have_count(2)
        expect(access.nth(1)).to_contain_text("bobby")
        watched.screenshot("repo-access-granted")
        page.get_by_role("button", name="Revoke access of bobby").click()
        expect(access).to_have_count(1)
        expect(page.locator(".access-list")).not_to_contain_text("bobby")
        watched.screenshot("repo-access-revoked")
        assert watched.errors == []
