"""`/repos` over HTTP, on SQLite and PostgreSQL, with registries cloned from real git
repositories over file://.

Who may call what (docs/compatibility.md#access-model), visibility of single reads and lists, create
rules (forced tag updates, existing branch, creator permission), update policy validation,
delete, and bad input (always a 4xx with a detail, never a 500).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from pepeunit_core.db.enums import PermissionEntity, VisibilityLevel
from pepeunit_core.db.models import Permission, Repo, RepositoryRegistry, User
from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_sources import UnitRepository
from tests.pepeunit_core.builders import add_unit

from .conftest import API, Actors, make_settings

REPOS = f"{API}/repos"
REGISTRY = f"{API}/repository_registry"
NO_ACCESS = "403: 1: No Access: "
REPO_ERROR = "422: 6: Repo Validation Error: "


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    """main: initial (v0.1.0) - features (1.0.0) - fix; dev: features - dev_work (dev-1)."""
    return UnitRepository(tmp_path_factory.mktemp("repos-api-source"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
    )


@dataclass(frozen=True)
class World:
    actors: Actors
    registry: str
    """A public registry of `source`, created by alice."""

    def headers(self, agent: str) -> dict:
        return self.actors.headers[agent]


@pytest.fixture
def world(client: TestClient, actors: Actors, source: UnitRepository) -> World:
    body = {"platform": "Github", "repository_url": source.url, "is_public_repository": True}
    response = client.post(REGISTRY, json=body, headers=actors.headers["alice"])
    assert response.status_code == 201, response.text
    return World(actors, response.json()["uuid"])


def repo_body(world: World, name: str, /, **fields: object) -> dict:
    return {
        "repository_registry_uuid": world.registry,
        "default_branch": "main",
        "visibility_level": "Public",
        "name": name,
        "is_compilable_repo": False,
        **fields,
    }


def create(client: TestClient, world: World, name: str, agent: str = "alice", /, **fields: object):
    return client.post(REPOS, json=repo_body(world, name, **fields), headers=world.headers(agent))


def created(client: TestClient, world: World, name: str, /, **fields: object) -> dict:
    response = create(client, world, name, **fields)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_forces_tag_updates_and_grants_the_creator(
    client: TestClient, world: World, app: FastAPI
):
    response = create(client, world, "lamp-fw", is_auto_update_repo=False, is_only_tag_update=False)
    assert response.status_code == 201, response.text
    repo = response.json()
    assert repo["is_auto_update_repo"] is True and repo["is_only_tag_update"] is True
    assert repo["creator_uuid"] == str(world.actors.alice_uuid)
    assert repo["repository_registry_uuid"] == world.registry
    assert repo["default_branch"] == "main" and repo["default_commit"] is None
    with app.state.context.session_factory() as session:
        grants = session.scalars(
            select(Permission).where(Permission.resource_repo_uuid == UUID(repo["uuid"]))
        ).all()
    assert [(p.agent_type, p.agent_user_uuid, p.resource_type) for p in grants] == [
        (PermissionEntity.USER, world.actors.alice_uuid, PermissionEntity.REPO)
    ]
    assert client.get(f"{REPOS}/{repo['uuid']}").json() == repo


CREATE_REFUSALS = [
    ("anonymous", {}, 403, NO_ACCESS),
    ("unit", {}, 403, NO_ACCESS),
    ("bob", {"default_branch": "nope"}, 422, REPO_ERROR),
    ("bob", {"repository_registry_uuid": str(uuid4())}, 404, "404: "),
    ("bob", {"name": "ab"}, 422, "422: 2: "),
    ("bob", {"name": "bad name!"}, 422, "422: 2: "),
    ("bob", {"visibility_level": "Secret"}, 422, "422: 2: "),
    ("bob", {"default_branch": "a\x00b"}, 422, "422: 2: "),
    ("bob", {"repository_registry_uuid": "not-a-uuid"}, 422, "422: 2: "),
]


def test_create_refusals(client: TestClient, world: World):
    for agent, fields, status, detail in CREATE_REFUSALS:
        response = create(client, world, "some-repo", agent, **fields)
        assert response.status_code == status, (agent, fields, response.text)
        assert response.json()["detail"].startswith(detail), response.text


def test_create_on_other_branches_and_unique_names(client: TestClient, world: World):
    assert created(client, world, "dev-repo", default_branch="feature/x")["default_branch"]
    response = create(client, world, "dev-repo", "bob")
    assert response.status_code == 422
    assert response.json()["detail"] == f"{REPO_ERROR}Name is not unique"
    for body in ([], "x", {"name": "only-name"}):
        assert client.post(REPOS, json=body, headers=world.headers("bob")).status_code == 422


def test_private_registry_needs_own_valid_credentials(
    client: TestClient, world: World, source: UnitRepository, tmp_path: Path
):
    folder = tmp_path / "private-source"
    folder.mkdir()
    private = source.copy_to(folder)
    body = {
        "platform": "Gitlab",
        "repository_url": private.url,
        "is_public_repository": False,
        "credentials": {"username": "robot", "pat_token": "glpat-token"},
    }
    response = client.post(REGISTRY, json=body, headers=world.headers("alice"))
    assert response.status_code == 201, response.text
    registry = response.json()["uuid"]
    bob = create(client, world, "bob-repo", "bob", repository_registry_uuid=registry)
    assert bob.status_code == 403, bob.text
    assert create(client, world, "alice-repo", repository_registry_uuid=registry).status_code == 201


@pytest.fixture
def levels(client: TestClient, world: World) -> dict[str, str]:
    """A repo of alice's per visibility level: name → uuid."""
    return {
        level: created(client, world, f"{level.lower()}-repo", visibility_level=level)["uuid"]
        for level in ("Public", "Internal", "Private")
    }


# Who sees which level (docs/compatibility.md#access-model): no Admin bypass, no Unit access.
SEES = {
    "anonymous": {"Public"},
    "unit": set(),
    "bob": {"Public", "Internal"},
    "admin": {"Public", "Internal"},
    "alice": {"Public", "Internal", "Private"},
}


def test_get_by_visibility(client: TestClient, world: World, levels: dict[str, str]):
    for agent, seen in SEES.items():
        for level, uuid in levels.items():
            response = client.get(f"{REPOS}/{uuid}", headers=world.headers(agent))
            if level in seen:
                assert response.status_code == 200, (agent, level, response.text)
                assert response.json()["visibility_level"] == level
            else:
                assert response.status_code == 403, (agent, level, response.text)
    missing = client.get(f"{REPOS}/{uuid4()}", headers=world.headers("alice"))
    assert missing.status_code == 404
    assert client.get(f"{REPOS}/not-a-uuid").status_code == 422


def test_list_by_visibility(client: TestClient, world: World, levels: dict[str, str]):
    params = {"repository_registry_uuid": world.registry}
    for agent, seen in SEES.items():
        response = client.get(REPOS, params=params, headers=world.headers(agent))
        if agent == "unit":
            assert response.status_code == 403
            continue
        assert response.status_code == 200, response.text
        body = response.json()
        assert {repo["visibility_level"] for repo in body["repos"]} == seen, agent
        assert body["count"] == len(seen)
        only_private = client.get(
            REPOS, params={**params, "visibility_level": "Private"}, headers=world.headers(agent)
        ).json()
        assert only_private["count"] == (1 if "Private" in seen else 0), agent


def test_a_granted_user_sees_only_granted_private_repos(
    client: TestClient, world: World, levels: dict[str, str], app: FastAPI
):
    other = created(client, world, "other-private", visibility_level="Private")["uuid"]
    with app.state.context.session_factory() as session:
        session.add(
            Permission(
                agent_type=PermissionEntity.USER,
                agent_user_uuid=world.actors.bob_uuid,
                resource_type=PermissionEntity.REPO,
                resource_repo_uuid=UUID(levels["Private"]),
            )
        )
        session.commit()
    bob = world.headers("bob")
    listed = client.get(REPOS, params={"repository_registry_uuid": world.registry}, headers=bob)
    uuids = {repo["uuid"] for repo in listed.json()["repos"]}
    assert uuids == set(levels.values())
    assert client.get(f"{REPOS}/{levels['Private']}", headers=bob).status_code == 200
    assert client.get(f"{REPOS}/{other}", headers=bob).status_code == 403


def test_list_filters_order_and_pages(client: TestClient, world: World, levels: dict[str, str]):
    alice = world.headers("alice")
    mine = {"repository_registry_uuid": world.registry}

    def names(**params: object) -> list[str]:
        response = client.get(REPOS, params={**mine, **params}, headers=alice)
        assert response.status_code == 200, response.text
        return [repo["name"] for repo in response.json()["repos"]]

    assert names(order_by_create_date="asc") == ["public-repo", "internal-repo", "private-repo"]
    assert names() == ["private-repo", "internal-repo", "public-repo"]
    assert names(search_string="INTERNAL repo") == ["internal-repo"]
    assert names(search_string="repos-api-source") == names()  # the registry URL
    assert names(search_string="main pub") == ["public-repo"]  # the branch and the name
    assert names(search_string="100%_") == []
    assert names(uuids=[levels["Public"], levels["Private"]]) == ["private-repo", "public-repo"]
    assert names(creator_uuid=str(world.actors.bob_uuid)) == []
    assert len(names(creators_uuids=[str(world.actors.alice_uuid)])) == 3
    assert names(is_auto_update_repo="false") == []
    assert names(visibility_level=["Public", "Internal"], order_by_create_date="asc") == [
        "public-repo",
        "internal-repo",
    ]
    page = client.get(
        REPOS,
        params={**mine, "offset": 1, "limit": 1, "order_by_create_date": "asc"},
        headers=alice,
    ).json()
    assert page["count"] == 3 and [repo["name"] for repo in page["repos"]] == ["internal-repo"]
    client.patch(f"{REPOS}/{levels['Public']}", json={"name": "renamed"}, headers=alice)
    assert names(order_by_last_update="desc")[0] == "renamed"
    for bad in ({"limit": 501}, {"offset": -1}, {"visibility_level": "x"}, {"uuids": "x"}):
        response = client.get(REPOS, params=bad, headers=alice)
        assert response.status_code == 422, (bad, response.text)
    assert client.get(REPOS, params={"search_string": "a\x00"}).status_code == 422


def test_only_the_creator_updates_and_deletes(client: TestClient, world: World):
    uuid = created(client, world, "alices-repo")["uuid"]
    for agent in ("anonymous", "unit", "bob", "admin"):
        headers = world.headers(agent)
        renamed = client.patch(f"{REPOS}/{uuid}", json={"name": "taken-over"}, headers=headers)
        assert renamed.status_code == 403, (agent, renamed.text)
        assert renamed.json()["detail"].startswith(NO_ACCESS)
        assert client.delete(f"{REPOS}/{uuid}", headers=headers).status_code == 403, agent
    assert client.get(f"{REPOS}/{uuid}").json()["name"] == "alices-repo"


def test_update_policies(client: TestClient, world: World, source: UnitRepository):
    repo = created(client, world, "policy-repo")
    url, alice = f"{REPOS}/{repo['uuid']}", world.headers("alice")

    def patch(**fields: object):
        return client.patch(url, json=fields, headers=alice)

    pinned = patch(is_auto_update_repo=False, default_commit=source.features)
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["default_commit"] == source.features
    assert pinned.json()["last_update_datetime"] > repo["last_update_datetime"]
    refusals = [
        ({"default_commit": source.dev_work}, "is not on branch main"),
        ({"default_branch": "dev", "default_commit": source.fix}, "is not on branch dev"),
        ({"default_commit": "f" * 40}, "is not on branch main"),
        ({"default_branch": "missing"}, "does not exist"),
        (
            {"is_auto_update_repo": True, "is_only_tag_update": False, "is_compilable_repo": True},
            "must update by tags only",
        ),
    ]
    for fields, message in refusals:
        response = patch(**fields)
        assert response.status_code == 422, (fields, response.text)
        assert response.json()["detail"].startswith(REPO_ERROR), response.text
        assert message in response.json()["detail"], response.text
    assert client.get(url).json()["default_commit"] == source.features  # nothing was kept
    moved = patch(default_branch="dev", default_commit=source.dev_work)
    assert moved.status_code == 200, moved.text
    head = patch(is_auto_update_repo=True, is_only_tag_update=False, name="head-repo")
    assert head.status_code == 200, head.text
    assert head.json()["name"] == "head-repo" and head.json()["is_only_tag_update"] is False
    compilable = patch(is_compilable_repo=True, is_only_tag_update=True)
    assert compilable.status_code == 200, compilable.text
    for bad in ({"default_commit": "abc"}, {"name": "x"}, {"is_auto_update_repo": "maybe"}):
        assert patch(**bad).status_code == 422, bad
    created(client, world, "other-repo")
    taken = patch(name="other-repo")
    assert taken.json()["detail"] == f"{REPO_ERROR}Name is not unique"


def test_manual_mode_needs_a_commit(client: TestClient, world: World):
    uuid = created(client, world, "manual-repo")["uuid"]
    response = client.patch(
        f"{REPOS}/{uuid}", json={"is_auto_update_repo": False}, headers=world.headers("alice")
    )
    assert response.status_code == 422
    assert "needs a default branch and commit" in response.json()["detail"]


def test_units_keep_the_repo_visibility_in_check_and_block_delete(
    client: TestClient, world: World, app: FastAPI
):
    uuid = created(client, world, "with-units")["uuid"]
    alice = world.headers("alice")
    with app.state.context.session_factory() as session:
        owner = session.get(User, world.actors.alice_uuid)
        assert owner is not None
        repo = session.get_one(Repo, UUID(uuid))
        add_unit(session, owner, repo).visibility_level = VisibilityLevel.INTERNAL
        session.commit()
    assert (
        client.patch(
            f"{REPOS}/{uuid}", json={"visibility_level": "Internal"}, headers=alice
        ).status_code
        == 200
    )
    raised = client.patch(f"{REPOS}/{uuid}", json={"visibility_level": "Private"}, headers=alice)
    assert raised.status_code == 422 and "less restricted" in raised.json()["detail"]
    blocked = client.delete(f"{REPOS}/{uuid}", headers=alice)
    assert blocked.status_code == 422 and "has units" in blocked.json()["detail"]


def test_delete(client: TestClient, world: World):
    uuid = created(client, world, "doomed-repo")["uuid"]
    alice = world.headers("alice")
    assert client.delete(f"{REPOS}/{uuid}", headers=alice).status_code == 204
    assert client.get(f"{REPOS}/{uuid}", headers=alice).status_code == 404
    assert client.delete(f"{REPOS}/{uuid}", headers=alice).status_code == 404
    assert client.patch(f"{REPOS}/{uuid}", json={}, headers=alice).status_code == 404
    assert created(client, world, "doomed-repo")["name"] == "doomed-repo"


def test_versions_of_the_fleet(
    client: TestClient, world: World, app: FastAPI, source: UnitRepository
):
    public = created(client, world, "fleet-repo")["uuid"]
    private = created(client, world, "hidden-fleet", visibility_level="Private")["uuid"]
    unknown = "9" * 40
    reported = [source.features, source.features, source.fix, None, unknown]
    with app.state.context.session_factory() as session:
        owner = session.get_one(User, world.actors.alice_uuid)
        repo = session.get_one(Repo, UUID(public))
        for version in reported:
            add_unit(session, owner, repo).current_commit_version = version
        session.commit()
    expected = sorted(
        [(source.features, 2, "1.0.0"), (source.fix, 1, None), (unknown, 1, None)],
        key=lambda row: (-row[1], row[0]),
    )
    for agent in ("anonymous", "bob", "alice"):
        response = client.get(f"{REPOS}/versions/{public}", headers=world.headers(agent))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["unit_count"] == 5
        assert [(v["commit"], v["unit_count"], v["tag"]) for v in body["versions"]] == expected
    assert (
        client.get(f"{REPOS}/versions/{public}", headers=world.headers("unit")).status_code == 403
    )
    for agent, status in (("anonymous", 403), ("bob", 403), ("alice", 200)):
        response = client.get(f"{REPOS}/versions/{private}", headers=world.headers(agent))
        assert response.status_code == status, (agent, response.text)
    assert client.get(f"{REPOS}/versions/{private}", headers=world.headers("alice")).json() == {
        "unit_count": 0,
        "versions": [],
    }
    assert client.get(f"{REPOS}/versions/{uuid4()}").status_code == 404


RELEASES = {
    "1.0.0": [["esp32.bin", "https://example.com/1.0.0/esp32.bin"]],
    "v0.1.0": [["old.bin", "https://example.com/0.1.0/old.bin"], "junk"],
}


def test_available_platforms_follow_the_target_tag(
    client: TestClient, world: World, app: FastAPI, source: UnitRepository
):
    uuid = created(client, world, "compiled-fw")["uuid"]
    url, bob = f"{REPOS}/available_platforms/{uuid}", world.headers("bob")
    with app.state.context.session_factory() as session:
        registry = session.get_one(RepositoryRegistry, UUID(world.registry))
        registry.releases_data = json.dumps(RELEASES)
        session.commit()
    assert client.get(url, headers=bob).json() == []  # interpretable
    patched = client.patch(
        f"{REPOS}/{uuid}", json={"is_compilable_repo": True}, headers=world.headers("alice")
    )
    assert patched.status_code == 200, patched.text

    def platforms(**params: str) -> list[tuple[str, str]]:
        response = client.get(url, params=params, headers=bob)
        assert response.status_code == 200, response.text
        return [(asset["name"], asset["link"]) for asset in response.json()]

    newest = [("esp32.bin", "https://example.com/1.0.0/esp32.bin")]
    old = [("old.bin", "https://example.com/0.1.0/old.bin")]
    assert platforms() == newest  # the newest tag of main
    assert platforms(target_tag="v0.1.0") == old
    assert platforms(target_commit=source.initial) == old
    assert platforms(target_commit=source.fix) == []  # untagged
    assert platforms(target_tag="dev-1") == []  # no release
    for agent in ("anonymous", "unit"):
        assert client.get(url, headers=world.headers(agent)).status_code == 403
    for bad in ({"target_commit": "xyz"}, {"target_tag": ""}):
        assert client.get(url, params=bad, headers=bob).status_code == 422, bad
    assert client.get(f"{REPOS}/available_platforms/{uuid4()}", headers=bob).status_code == 404
