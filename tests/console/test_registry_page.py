"""The Registry page: the registries the user may see with their sync status; registering one
from a real git repository over file:// (cloned at once), syncing it, and every refusal or bad
input shown as a message or in the form, never a 500."""

import re
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import select

from control_plane.console.session import CSRF_FIELD
from pepeunit_core.db.models import RepositoryRegistry, User
from pepeunit_core.settings import Settings
from tests.console.console_client import PREFIX, ConsoleClient, register
from tests.console.registries import registry_settings
from tests.control_plane_registry.git_sources import UnitRepository
from tests.pepeunit_core.builders import add_registry

ROW = re.compile(r'<tr id="registry-([0-9a-f-]+)">')


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("registry-page-source"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return registry_settings(database_url, tmp_path / "repos")


def register_form(console: ConsoleClient, **fields: str):
    token = console.form_token(f"{PREFIX}/registry")
    body = {"repository_url": "", "platform": "Github", "visibility": "public", **fields}
    return console.post(f"{PREFIX}/registry", data={**body, CSRF_FIELD: token})


def test_register_a_repository_and_see_it_synced(console: ConsoleClient, source: UnitRepository):
    register(console, "admin")
    register(console, "alice")
    console.sign_in("alice")
    empty = console.get(f"{PREFIX}/registry")
    assert empty.status_code == 200 and "No registries yet" in empty.text
    answer = register_form(console, repository_url=source.url)
    assert answer.status_code == 303 and answer.headers["location"] == f"{PREFIX}/registry"
    page = console.get(f"{PREFIX}/registry").text
    assert len(ROW.findall(page)) == 1 and source.url in page
    assert ">Updated<" in page and "· yours" in page and ">public<" in page
    assert "never" not in page.split(source.url)[1].split("</tr>")[0]


def test_the_list_shows_only_registries_the_user_may_see(console: ConsoleClient, app):
    register(console, "admin")
    alice, bob = register(console, "alice"), register(console, "bobby")
    with app.state.context.session_factory() as session:
        public = add_registry(session, session.get_one(User, alice), "https://example.com/open.git")
        hidden = add_registry(session, session.get_one(User, bob), "https://example.com/shut.git")
        hidden.is_public_repository = False
        session.commit()
        shown = {str(public.uuid)}
    console.sign_in("alice")
    page = console.get(f"{PREFIX}/registry").text
    assert set(ROW.findall(page)) == shown and "shut.git" not in page
    assert "never synced" in page


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"repository_url": ""}, "Enter the repository URL"),
        ({"repository_url": "http://example.com/a.git"}, "https://"),
        ({"repository_url": "https://example.com/a.git", "platform": "Bitbucket"}, "platform: "),
        (
            {"repository_url": "https://example.com/a.git", "visibility": "private"},
            "username: String should have at least 1 character",
        ),
    ],
)
def test_bad_registrations_are_shown_in_the_form(
    console: ConsoleClient, app, fields: dict, expected: str
):
    register(console, "admin")
    console.sign_in("admin")
    answer = register_form(console, **fields)
    assert answer.status_code == 422
    error = re.search(r'<p class="error" role="alert">([^<]*)</p>', answer.text)
    assert error and expected in error.group(1), answer.text[-2000:]
    assert 'name="repository_url" value="' + fields["repository_url"] + '"' in answer.text
    with app.state.context.session_factory() as session:
        assert session.scalars(select(RepositoryRegistry)).all() == []


def test_a_registry_that_cannot_be_cloned_is_refused_in_the_form(
    console: ConsoleClient, tmp_path: Path
):
    register(console, "admin")
    console.sign_in("admin")
    answer = register_form(console, repository_url=(tmp_path / "missing.git").as_uri())
    assert answer.status_code == 422 and '<p class="error" role="alert">' in answer.text


def test_sync_through_the_page(console: ConsoleClient, app, source: UnitRepository):
    register(console, "admin")
    console.sign_in("admin")
    assert register_form(console, repository_url=source.url).status_code == 303
    with app.state.context.session_factory() as session:
        registry = session.scalars(select(RepositoryRegistry)).one()
        registry.sync_last_datetime = None
        session.commit()
        uuid = registry.uuid
    token = console.form_token(f"{PREFIX}/registry")
    answer = console.post(f"{PREFIX}/registry/{uuid}/sync", data={CSRF_FIELD: token})
    assert answer.status_code == 303
    fragment = console.post(
        f"{PREFIX}/registry/{uuid}/sync",
        headers={"HX-Request": "true", "X-CSRF-Token": console.csrf()},
    )
    assert fragment.status_code == 200
    assert fragment.text.startswith(f'<tr id="registry-{uuid}">') and ">Updated<" in fragment.text
    with app.state.context.session_factory() as session:
        assert session.get_one(RepositoryRegistry, uuid).sync_last_datetime is not None


def test_sync_refusals_are_messages(console: ConsoleClient, app):
    register(console, "admin")
    bob = register(console, "bobby")
    with app.state.context.session_factory() as session:
        hidden = add_registry(session, session.get_one(User, bob))
        hidden.is_public_repository = False
        session.commit()
        hidden_uuid = hidden.uuid
    console.sign_in("admin")
    token = console.form_token(f"{PREFIX}/registry")
    missing = console.post(f"{PREFIX}/registry/{UUID(int=7)}/sync", data={CSRF_FIELD: token})
    assert missing.status_code == 404 and 'class="message' in missing.text
    refused = console.post(
        f"{PREFIX}/registry/{hidden_uuid}/sync",
        headers={"HX-Request": "true", "X-CSRF-Token": console.csrf()},
    )
    assert refused.status_code in (403, 404) and refused.headers["HX-Retarget"] == "#messages"
    bad = console.post(f"{PREFIX}/registry/not-a-uuid/sync", data={CSRF_FIELD: token})
    assert bad.status_code == 422
