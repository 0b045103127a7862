"""The Repos pages: the repos the user may see with their registry and update policy; a repo
with the versions its branch offers, its units' current and target versions (linking to the
unit page), updating its units, and its creator granting and revoking access, all through the
services, refused for everyone else exactly as the API refuses, never a 500."""

import re
from pathlib import Path
from uuid import UUID

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from control_plane.console.session import CSRF_FIELD
from control_plane.models.repo import RepoCreate
from control_plane.services import registry as registry_service
from control_plane.services.registry import WITH_LOCAL_SCHEMES
from control_plane.services.repos import repos
from pepeunit_core.db.enums import PermissionEntity, RepositoryPlatform, VisibilityLevel
from pepeunit_core.db.models import Permission, RepositoryRegistry, User
from pepeunit_core.settings import Settings
from tests.console.console_client import PREFIX, ConsoleClient, register
from tests.console.registries import registry_settings
from tests.control_plane_registry.git_sources import UnitRepository
from tests.pepeunit_core.builders import add_unit

REPO_ROW = re.compile(r'<tr id="repo-([0-9a-f-]+)">')
ACCESS = re.compile(r'<li id="access-([0-9a-f-]+)">')


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("repos-page-source"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return registry_settings(database_url, tmp_path / "repos")


def make_repo(
    app: FastAPI,
    source: UnitRepository,
    owner: UUID,
    name: str,
    visibility: VisibilityLevel = VisibilityLevel.PUBLIC,
    units: tuple[str, ...] = (),
) -> UUID:
    """A repo on a registry of `source` (cloned for real), with units of its owner."""
    context = app.state.context
    with context.session_factory() as session:
        user = session.get_one(User, owner)
        registry = session.scalar(
            select(RepositoryRegistry).where(RepositoryRegistry.repository_url == source.url)
        ) or registry_service.create_registry(
            session, context.settings, user, source.url, RepositoryPlatform.GITHUB, True, None,
            allowed_url_schemes=WITH_LOCAL_SCHEMES,
        )  # fmt: skip
        repo = repos.create_repo(
            session,
            context.settings,
            user,
            RepoCreate(
                repository_registry_uuid=registry.uuid,
                default_branch="main",
                visibility_level=visibility,
                name=name,
            ),
        )
        for unit_name in units:
            add_unit(session, user, repo, unit_name)
        session.commit()
        return repo.uuid


def post(console: ConsoleClient, path: str, page: str, **fields: str):
    token = console.form_token(page)
    return console.post(path, data={**fields, CSRF_FIELD: token})


def test_the_list_shows_visible_repos_with_registry_and_policy(
    console: ConsoleClient, app: FastAPI, source: UnitRepository
):
    register(console, "admin")
    alice, bobby = register(console, "alice"), register(console, "bobby")
    shown = make_repo(app, source, alice, "lamp-fw")
    make_repo(app, source, bobby, "secret-fw", VisibilityLevel.PRIVATE)
    console.sign_in("alice")
    page = console.get(f"{PREFIX}/repos").text
    assert REPO_ROW.findall(page) == [str(shown)] and "secret-fw" not in page
    assert f'href="{PREFIX}/repos/{shown}">lamp-fw</a>' in page
    assert source.url in page and "automatic, tags only" in page and ">main<" in page
    assert "Bulk update" not in page  # for Admins only


def test_a_repo_with_versions_units_and_targets(
    console: ConsoleClient, app: FastAPI, source: UnitRepository
):
    register(console, "admin")
    alice = register(console, "alice")
    uuid = make_repo(app, source, alice, "lamp-fw", units=("lamp-one",))
    console.sign_in("alice")
    page = console.get(f"{PREFIX}/repos/{uuid}")
    assert page.status_code == 200
    versions = page.text.split('id="versions-title"')[1].split("</section>")[0]
    # Tags only, newest first: "Fix typo" has no tag.
    assert versions.index(">1.0.0<") < versions.index(">v0.1.0<") and "Fix typo" not in versions
    assert source.features[:8] in versions
    unit_row = re.search(r'<tr id="unit-([0-9a-f-]+)">(.*?)</tr>', page.text, re.S)
    assert unit_row and f'href="{PREFIX}/units/{unit_row.group(1)}">lamp-one</a>' in unit_row.group(
        2
    )
    assert "not reported" in unit_row.group(2) and ">1.0.0<" in unit_row.group(2)
    assert "Update units" in page.text and 'id="access-title"' in page.text


def test_update_units_shows_the_result(
    console: ConsoleClient, app: FastAPI, source: UnitRepository
):
    register(console, "admin")
    alice = register(console, "alice")
    uuid = make_repo(app, source, alice, "lamp-fw", units=("lamp-one", "lamp-two"))
    console.sign_in("alice")
    answer = post(console, f"{PREFIX}/repos/{uuid}/update-units", f"{PREFIX}/repos/{uuid}")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"{PREFIX}/repos/{uuid}?updated=2&failed=")
    page = console.get(answer.headers["location"]).text
    assert "2 units sent an update" in page


def test_others_see_the_repo_but_change_nothing(
    console: ConsoleClient, app: FastAPI, source: UnitRepository
):
    register(console, "admin")
    alice = register(console, "alice")
    register(console, "bobby")
    uuid = make_repo(app, source, alice, "lamp-fw", units=("lamp-one",))
    console.sign_in("bobby")
    page = console.get(f"{PREFIX}/repos/{uuid}").text
    assert "lamp-fw" in page and "Update units" not in page and 'id="access-title"' not in page
    assert "not yours" in page  # no target for someone else's unit
    here = f"{PREFIX}/repos/{uuid}"
    update = post(console, f"{here}/update-units", here)
    assert update.status_code == 403 and "Only the creator can change a repo" in update.text
    grant = post(console, f"{here}/access", here, agent_type="User", agent="bobby")
    assert grant.status_code == 403
    assert "Only the creator of the resource may manage its permissions" in grant.text
    revoke = post(console, f"{here}/access/revoke", here, agent_uuid=str(alice))
    assert revoke.status_code == 403 and "Only the resource creator or the agent" in revoke.text
    bulk = post(console, f"{PREFIX}/repos/bulk-update", f"{PREFIX}/repos")
    assert bulk.status_code == 403 and "Only an Admin may do this" in bulk.text
    with app.state.context.session_factory() as session:
        grants = session.scalars(select(Permission).where(Permission.resource_repo_uuid == uuid))
        assert [row.agent_user_uuid for row in grants] == [alice]


def test_private_repos_are_refused_to_others(
    console: ConsoleClient, app: FastAPI, source: UnitRepository
):
    register(console, "admin")
    alice = register(console, "alice")
    register(console, "bobby")
    uuid = make_repo(app, source, alice, "secret-fw", VisibilityLevel.PRIVATE)
    console.sign_in("bobby")
    assert console.get(f"{PREFIX}/repos/{uuid}").status_code == 403
    assert console.get(f"{PREFIX}/repos/{UUID(int=5)}").status_code == 404
    assert console.get(f"{PREFIX}/repos/not-a-uuid").status_code == 422


def test_the_creator_grants_and_revokes_access(
    console: ConsoleClient, app: FastAPI, source: UnitRepository
):
    register(console, "admin")
    alice, bobby = register(console, "alice"), register(console, "bobby")
    carol = register(console, "carol")
    uuid = make_repo(app, source, alice, "secret-fw", VisibilityLevel.PRIVATE)
    here = f"{PREFIX}/repos/{uuid}"
    console.sign_in("alice")
    assert ACCESS.findall(console.get(here).text) == [str(alice)]
    by_login = post(console, f"{here}/access", here, agent_type="User", agent="bobby")
    assert by_login.status_code == 303 and by_login.headers["location"] == here
    by_uuid = post(console, f"{here}/access", here, agent_type="User", agent=str(carol))
    assert by_uuid.status_code == 303
    page = console.get(here).text
    assert set(ACCESS.findall(page)) == {str(alice), str(bobby), str(carol)}
    assert "bobby" in page and "(creator)" in page

    again = post(console, f"{here}/access", here, agent_type="User", agent="bobby")
    assert again.status_code == 422 and "already has access" in again.text
    unknown = post(console, f"{here}/access", here, agent_type="User", agent="nobody-here")
    assert unknown.status_code == 422 and "No user with the login" in unknown.text
    not_unit = post(console, f"{here}/access", here, agent_type="Unit", agent="lamp")
    assert not_unit.status_code == 422 and "by its uuid" in not_unit.text
    no_unit = post(console, f"{here}/access", here, agent_type="Unit", agent=str(UUID(int=3)))
    assert no_unit.status_code == 422 and "does not exist" in no_unit.text
    bad_kind = post(console, f"{here}/access", here, agent_type="Robot", agent="bobby")
    assert bad_kind.status_code == 422
    creator = post(console, f"{here}/access/revoke", here, agent_uuid=str(alice))
    assert creator.status_code == 422 and "creator&#39;s access cannot be revoked" in creator.text

    revoked = post(console, f"{here}/access/revoke", here, agent_uuid=str(bobby))
    assert revoked.status_code == 303
    assert set(ACCESS.findall(console.get(here).text)) == {str(alice), str(carol)}
    gone = post(console, f"{here}/access/revoke", here, agent_uuid=str(bobby))
    assert gone.status_code == 404
    with app.state.context.session_factory() as session:
        rows = session.scalars(
            select(Permission).where(
                Permission.resource_repo_uuid == uuid,
                Permission.agent_type == PermissionEntity.USER,
            )
        ).all()
        assert {row.agent_user_uuid for row in rows} == {alice, carol}


def test_an_admin_runs_the_bulk_update(
    console: ConsoleClient, app: FastAPI, source: UnitRepository
):
    admin = register(console, "admin")
    make_repo(app, source, admin, "lamp-fw", units=("lamp-one",))
    console.sign_in("admin")
    page = console.get(f"{PREFIX}/repos").text
    assert "Bulk update" in page
    answer = post(console, f"{PREFIX}/repos/bulk-update", f"{PREFIX}/repos")
    assert answer.status_code == 200 and "Bulk update: 1 unit sent an update" in answer.text
