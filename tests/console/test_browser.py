"""The console in a real Chromium against the app on a real server (in this process, SQLite):
the first run, the units list with its search and live values, each main page (screenshots
in the artifacts), a phone-sized screen, the keyboard, and sign-out. The browser's console
must stay free of errors (a refused script or style, a failed request)."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect

from control_plane.app import create_app
from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import UnitNode, User
from pepeunit_core.migrate import migrate_sql
from tests.console.browser import PHONE, chromium, watched_page
from tests.console.console_client import PASSWORD, PREFIX
from tests.console.server import serving
from tests.control_plane.conftest import CHEAP_ARGON2, make_settings
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit

MAIN_PAGES = ("graph", "repos", "registry", "alerts")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    url = f"sqlite:///{tmp_path / 'console.sqlite'}"
    migrate_sql(url)
    app = create_app(make_settings(url, secure=False), password_hasher=CHEAP_ARGON2)
    with serving(app) as origin:
        yield app, origin


def seed_units(app: FastAPI) -> dict[str, str]:
    """Units of the first user; returns node uuids by unit name."""
    nodes = {}
    with app.state.context.session_factory() as session:
        admin = session.query(User).one()
        repo = add_repo(session, admin, add_registry(session, admin))
        for name, value in [("boiler-1", "71.5"), ("heater-1", "on"), ("sensor-7", None)]:
            unit = add_unit(session, admin, repo, name)
            node = add_node(session, unit, UnitNodeType.OUTPUT, "temperature/pepeunit")
            node.state = value
            nodes[name] = str(node.uuid)
        session.commit()
    return nodes


def test_first_run_units_list_and_main_pages(browser: Browser, served: tuple[FastAPI, str]):
    app, origin = served
    with watched_page(browser) as watched:
        page = watched.page
        page.goto(f"{origin}{PREFIX}/")
        expect(page).to_have_url(f"{origin}{PREFIX}/first-run")
        page.get_by_label("Login").fill("admin")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        watched.screenshot("first-run")
        page.get_by_role("button", name="Create the Admin").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/units")
        expect(page.get_by_text("0 units")).to_be_visible()

        nodes = seed_units(app)
        page.reload()
        rows = page.locator("table.units tbody tr")
        expect(rows).to_have_count(3)
        expect(page.locator(f"#value-{nodes['boiler-1']}")).to_have_text("71.5")
        watched.screenshot("units")

        # Search as you type: htmx swaps the table in.
        page.get_by_label("Search by name").fill("heat")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("heater-1")
        page.get_by_label("Search by name").fill("")
        expect(rows).to_have_count(3)

        # A value stored now shows without a reload (the page's event stream).
        with app.state.context.session_factory() as session:
            node = session.get_one(UnitNode, UUID(nodes["sensor-7"]))
            node.state, node.last_update_datetime = "19.25", datetime.now(UTC)
            session.commit()
        stored = time.monotonic()
        expect(page.locator(f"#value-{nodes['sensor-7']}")).to_have_text("19.25", timeout=1500)
        assert time.monotonic() - stored < 1.0

        for name in MAIN_PAGES:
            page.get_by_role("link", name=name.capitalize(), exact=True).click()
            expect(page).to_have_url(f"{origin}{PREFIX}/{name}")
            expect(page.get_by_role("heading", level=1)).to_have_text(name.capitalize())
            watched.screenshot(name)

        # The keyboard: the first Tab reaches the skip link, which moves focus to the content.
        page.get_by_role("link", name="Units", exact=True).click()
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_be_focused()

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/sign-in")
        watched.screenshot("sign-in")
        page.goto(f"{origin}{PREFIX}/units")
        expect(page).to_have_url(f"{origin}{PREFIX}/sign-in?next=%2Fpepeunit%2Funits")
        page.get_by_label("Login or Telegram chat id").fill("admin")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("Invalid credentials")
        # The refused sign-in answers 401, which the browser notes; nothing else may be there.
        assert [error for error in watched.errors if "401" not in error] == []
        watched.errors.clear()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/units")
        assert watched.errors == []

    with watched_page(browser, PHONE) as phone:
        phone.page.goto(f"{origin}{PREFIX}/sign-in")
        phone.page.get_by_label("Login or Telegram chat id").fill("admin")
        phone.page.get_by_label("Password").fill(PASSWORD)
        phone.page.get_by_role("button", name="Sign in").click()
        expect(phone.page.locator("table.units tbody tr")).to_have_count(3)
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways on a phone: {width} px"
        phone.screenshot("units-phone")
        assert phone.errors == []


def test_an_expired_session_inside_htmx_goes_to_sign_in(browser: Browser, served):
    _, origin = served
    with watched_page(browser) as watched:
        page = watched.page
        page.goto(f"{origin}{PREFIX}/first-run")
        page.get_by_label("Login").fill("admin")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create the Admin").click()
        expect(page).to_have_url(f"{origin}{PREFIX}/units")
        page.context.clear_cookies()
        page.get_by_label("Search by name").fill("x")
        # Back to the page after signing in, not to the fragment htmx asked for.
        expect(page).to_have_url(f"{origin}{PREFIX}/sign-in?next=%2Fpepeunit%2Funits")
