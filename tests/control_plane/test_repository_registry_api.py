"""`/repository_registry` over HTTP, on SQLite and PostgreSQL, with real git repositories: a
public one over file:// and a private one behind a basic-auth `git http-backend` server.

Who may call what (docs/compatibility.md#access-model), create/sync/read/delete, per-user
credentials, list filters, and bad input (always a 4xx with a detail, never a 500).
"""

import itertools
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from control_plane.app import create_app
from control_plane.security import make_backend_token
from pepeunit_core.db.models import RepositoryRegistry
from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_http_server import GitHttpServer
from tests.control_plane_registry.git_sources import UnitRepository
from tests.control_plane_registry.tcp_stubs import PausableProxy
from tests.services.ports import LOOPBACK

from .conftest import API, CHEAP_ARGON2, Actors, auth, checked_client, make_settings

REGISTRY = f"{API}/repository_registry"
HTTP_USERNAME = "robot"
HTTP_TOKEN = "glpat-Registry-Api-Token-42"
RIGHT = {"username": HTTP_USERNAME, "pat_token": HTTP_TOKEN}
WRONG = {"username": HTTP_USERNAME, "pat_token": "glpat-Wrong-Token-0000"}
BAD_CREDENTIALS: list[object] = [
    {},
    {"username": "robot"},
    {"username": "x" * 1001, "pat_token": "t"},
    {"username": "r", "pat_token": "\x00"},
    {"username": "r", "pat_token": "a\tb"},
    ["robot", "token"],
]
LOCAL_SCHEMES = ("https", "http", "file")
AGENTS = ["anonymous", "unit", "backend", "bob", "admin", "alice"]
NO_ACCESS = "403: 1: No Access: "


@pytest.fixture(scope="module")
def unit_repository_template(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("registry-api-source"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=LOCAL_SCHEMES,
        min_interval_sync_repository=0,
        max_external_repo_size=1,
        # The private git server listens on 127.0.0.1.
        registry_allow_private_addresses=True,
    )


@dataclass
class Sources:
    """Copies of the standard source: each under its own folder, so each has its own URL."""

    template: UnitRepository
    root: Path
    counter: Iterator[int]

    def fresh(self) -> UnitRepository:
        folder = self.root / f"copy-{next(self.counter)}"
        folder.mkdir()
        return self.template.copy_to(folder)


@pytest.fixture
def sources(unit_repository_template: UnitRepository, tmp_path: Path) -> Sources:
    root = tmp_path / "sources"
    root.mkdir()
    return Sources(unit_repository_template, root, itertools.count())


@pytest.fixture
def git_server(sources: Sources) -> Iterator[GitHttpServer]:
    """Serves `private.git` (a copy of the standard source) to RIGHT only."""
    private = sources.template.copy_to(sources.root)
    (sources.root / f"{private.source.name}.git").rename(sources.root / "private.git")
    server = GitHttpServer(sources.root, HTTP_USERNAME, HTTP_TOKEN)
    server.start()
    yield server
    server.stop()


def create(
    client: TestClient, headers: dict, url: str, *, public: bool = True, credentials=None
) -> httpx.Response:
    body: dict = {"platform": "Gitlab", "repository_url": url, "is_public_repository": public}
    if credentials is not None:
        body["credentials"] = credentials
    return client.post(REGISTRY, json=body, headers=headers)


@dataclass
class World:
    """Alice's public and private registries, the registry of the actors' unit (used by a
    Repo, never synced, its URL a missing local path), and every actor's request headers."""

    actors: Actors
    sources: Sources
    public_uuid: str
    private_uuid: str
    used_uuid: str
    headers: dict[str, dict]


@pytest.fixture
def world(
    client: TestClient,
    app: FastAPI,
    actors: Actors,
    sources: Sources,
    git_server: GitHttpServer,
    settings: Settings,
) -> World:
    alice = actors.headers["alice"]
    with app.state.context.session_factory() as session:
        used = session.scalars(select(RepositoryRegistry)).one()
        # A backend sync tries to clone it: make that fail here rather than on the network.
        used.repository_url = (sources.root / "missing" / "unit.git").as_uri()
        used_uuid = str(used.uuid)
        session.commit()
    public = create(client, alice, sources.fresh().url)
    assert public.status_code == 201, public.text
    private = create(client, alice, git_server.url("private"), public=False, credentials=RIGHT)
    assert private.status_code == 201, private.text
    headers = dict(actors.headers)
    headers["backend"] = auth(make_backend_token(settings.domain, settings.resolved_secret_key))
    return World(actors, sources, public.json()["uuid"], private.json()["uuid"], used_uuid, headers)


Call = Callable[[TestClient, World, dict], httpx.Response]
USERS = {"alice", "bob", "admin"}

# Each route with the agents that may call it and its success status; alice created both
# registries and holds valid credentials for the private one, which nobody else may see or
# set credentials on (issue 11.4). In this order, no call changes what a later one sees
# (delete comes last).
ROUTES: dict[str, tuple[Call, set[str], int]] = {
    "create": (lambda c, w, h: create(c, h, w.sources.fresh().url), USERS, 201),
    "get public": (
        lambda c, w, h: c.get(f"{REGISTRY}/{w.public_uuid}", headers=h),
        USERS | {"anonymous", "backend"},
        200,
    ),
    "get private": (
        lambda c, w, h: c.get(f"{REGISTRY}/{w.private_uuid}", headers=h),
        {"alice", "backend"},
        200,
    ),
    "list": (lambda c, w, h: c.get(REGISTRY, headers=h), USERS | {"anonymous", "backend"}, 200),
    "branch_commits": (
        lambda c, w, h: c.get(
            f"{REGISTRY}/branch_commits/{w.private_uuid}",
            params={"repo_branch": "main"},
            headers=h,
        ),
        {"alice"},
        200,
    ),
    "get_credentials": (
        lambda c, w, h: c.get(f"{REGISTRY}/get_credentials/{w.private_uuid}", headers=h),
        {"alice"},
        200,
    ),
    "sync public": (
        lambda c, w, h: c.patch(f"{REGISTRY}/update_local_repository/{w.public_uuid}", headers=h),
        USERS,
        204,
    ),
    "sync private": (
        lambda c, w, h: c.patch(f"{REGISTRY}/update_local_repository/{w.private_uuid}", headers=h),
        {"alice"},
        204,
    ),
    "set_credentials": (
        lambda c, w, h: c.patch(
            f"{REGISTRY}/set_credentials/{w.private_uuid}", json=RIGHT, headers=h
        ),
        {"alice"},
        204,
    ),
    "backend_sync_registry": (
        lambda c, w, h: c.patch(f"{REGISTRY}/backend_sync_registry", headers=h),
        {"backend"},
        204,
    ),
    "delete": (
        lambda c, w, h: c.delete(f"{REGISTRY}/{w.public_uuid}", headers=h),
        {"alice"},
        204,
    ),
}


def test_only_allowed_agents_pass(client: TestClient, world: World):
    # One instance serves every route (one clone each is what costs); refused calls change
    # nothing, and allowed ones go last.
    for route, (call, allowed, success) in ROUTES.items():
        for agent in sorted(AGENTS, key=lambda name: name in allowed):
            response = call(client, world, world.headers[agent])
            if agent in allowed:
                assert response.status_code == success, (route, agent, response.text)
            else:
                assert response.status_code == 403, (route, agent, response.text)
                assert response.json()["detail"].startswith(NO_ACCESS), (route, agent)


def test_create_clones_at_once_refuses_duplicates_and_backend_restores(
    client: TestClient, world: World, settings: Settings
):
    response = client.get(f"{REGISTRY}/{world.public_uuid}", headers=world.headers["bob"])
    registry = response.json()
    assert registry["creator_uuid"] == str(world.actors.alice_uuid)
    assert registry["platform"] == "Gitlab"
    assert registry["is_public_repository"] is True
    assert registry["sync_status"] == "Updated"
    assert registry["sync_error"] is None
    assert registry["local_repository_size"] > 0
    assert registry["branches"] == ["dev", "feature/x", "main"]
    assert (settings.resolved_repo_path / world.public_uuid).is_dir()

    again = create(client, world.headers["bob"], registry["repository_url"])
    assert again.status_code == 422
    assert "already exists" in again.json()["detail"]

    # A backend sync makes missing clones again.
    shutil.rmtree(settings.resolved_repo_path / world.public_uuid)
    bob = world.headers["bob"]
    assert client.get(f"{REGISTRY}/{world.public_uuid}", headers=bob).json()["branches"] == []

    response = client.patch(f"{REGISTRY}/backend_sync_registry", headers=world.headers["backend"])
    assert response.status_code == 204, response.text
    restored = client.get(f"{REGISTRY}/{world.public_uuid}", headers=bob).json()
    assert restored["branches"] == ["dev", "feature/x", "main"]
    # The registry that cannot be cloned records why, and the others still synced.
    failed = client.get(f"{REGISTRY}/{world.used_uuid}", headers=bob).json()
    assert failed["sync_status"] == "Error" and failed["sync_error"]


def test_branch_commits_newest_first_with_tags_and_bad_queries(client: TestClient, world: World):
    source = world.sources.template
    url = f"{REGISTRY}/branch_commits/{world.public_uuid}"
    bob = world.headers["bob"]

    main = client.get(url, params={"repo_branch": "main"}, headers=bob).json()
    assert [item["commit"] for item in main] == [source.fix, source.features, source.initial]
    assert [item["tag"] for item in main] == [None, "1.0.0", "v0.1.0"]
    assert main[1] == {
        "commit": source.features,
        "summary": "Add features",
        "tag": "1.0.0",
        "tags": ["1.0.0"],
    }

    tagged = client.get(url, params={"repo_branch": "main", "only_tag": True}, headers=bob)
    assert [item["commit"] for item in tagged.json()] == [source.features, source.initial]

    page = client.get(url, params={"repo_branch": "main", "offset": 1, "limit": 1}, headers=bob)
    assert [item["commit"] for item in page.json()] == [source.features]

    dev = client.get(url, params={"repo_branch": "dev", "limit": 1}, headers=bob).json()
    assert dev == [
        {"commit": source.dev_work, "summary": "Dev work", "tag": "dev-1", "tags": ["dev-1"]}
    ]

    # Bad queries: a 422 each, whatever the branch name holds.
    for params in [
        {},
        {"repo_branch": ""},
        {"repo_branch": "nope"},
        {"repo_branch": "--all"},
        {"repo_branch": "main\x00"},
        {"repo_branch": "../main"},
        {"repo_branch": "main", "limit": 501},
        {"repo_branch": "main", "limit": -1},
        {"repo_branch": "main", "offset": -1},
        {"repo_branch": "main", "offset": 2**40},
        {"repo_branch": "main", "only_tag": "maybe"},
    ]:
        response = client.get(url, params=params, headers=bob)
        assert response.status_code == 422, (params, response.text)


def test_private_registry_is_its_creators_and_grantees_only(client: TestClient, world: World):
    """Issue 11.4: another user can neither set credentials on a private registry nor list or
    read it and its commits, until granted a repo built on it."""
    uuid = world.private_uuid
    alice, bob = world.headers["alice"], world.headers["bob"]
    commits_url = f"{REGISTRY}/branch_commits/{uuid}"

    def bob_sees() -> dict[str, int]:
        listed = [
            r["uuid"] for r in client.get(REGISTRY, headers=bob).json()["repositories_registry"]
        ]
        return {
            "get": client.get(f"{REGISTRY}/{uuid}", headers=bob).status_code,
            "listed": int(uuid in listed),
            "commits": client.get(
                commits_url, params={"repo_branch": "main"}, headers=bob
            ).status_code,
            "get_credentials": client.get(
                f"{REGISTRY}/get_credentials/{uuid}", headers=bob
            ).status_code,
            "sync": client.patch(
                f"{REGISTRY}/update_local_repository/{uuid}", headers=bob
            ).status_code,
            "set_credentials": client.patch(
                f"{REGISTRY}/set_credentials/{uuid}", json=RIGHT, headers=bob
            ).status_code,
        }

    hidden = {"get": 403, "listed": 0, "commits": 403, "get_credentials": 403, "sync": 403}
    assert bob_sees() == {**hidden, "set_credentials": 403}
    own = client.get(f"{REGISTRY}/get_credentials/{uuid}", headers=alice)
    assert own.json() == {"credentials": RIGHT, "status": "Valid"}

    # Alice grants bob a repo built on it: he sees and syncs it, still cannot set credentials.
    repo = client.post(
        f"{API}/repos",
        json={
            "repository_registry_uuid": uuid,
            "default_branch": "main",
            "visibility_level": "Private",
            "name": "private-repo",
        },
        headers=alice,
    )
    assert repo.status_code == 201, repo.text
    grant = {
        "agent_uuid": str(world.actors.bob_uuid),
        "agent_type": "User",
        "resource_uuid": repo.json()["uuid"],
        "resource_type": "Repo",
    }
    assert client.post(f"{API}/permission", json=grant, headers=alice).status_code == 201
    assert bob_sees() == {
        "get": 200,
        "listed": 1,
        "commits": 200,
        "get_credentials": 200,
        "sync": 204,
        "set_credentials": 403,
    }
    assert client.get(f"{REGISTRY}/get_credentials/{uuid}", headers=bob).json() is None
    assert RIGHT["pat_token"] not in client.get(f"{REGISTRY}/{uuid}", headers=bob).text

    # The creator's credentials are what syncs use: wrong ones stop them.
    stored = client.patch(f"{REGISTRY}/set_credentials/{uuid}", json=WRONG, headers=alice)
    assert stored.status_code == 204, stored.text
    mine = client.get(f"{REGISTRY}/get_credentials/{uuid}", headers=alice).json()
    assert mine == {"credentials": WRONG, "status": "Error"}
    for headers in (alice, bob):
        refused = client.patch(f"{REGISTRY}/update_local_repository/{uuid}", headers=headers)
        assert refused.status_code == 403, refused.text
        assert "no valid credentials" in refused.json()["detail"]
    client.patch(f"{REGISTRY}/set_credentials/{uuid}", json=RIGHT, headers=alice)
    synced = client.patch(f"{REGISTRY}/update_local_repository/{uuid}", headers=bob)
    assert synced.status_code == 204, synced.text

    # Bad credentials requests.
    for body in BAD_CREDENTIALS:
        response = client.patch(f"{REGISTRY}/set_credentials/{uuid}", json=body, headers=alice)
        assert response.status_code == 422, (body, response.text)
    # Only private registries take credentials.
    response = client.patch(
        f"{REGISTRY}/set_credentials/{world.public_uuid}", json=RIGHT, headers=alice
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("422: 13: ")
    assert client.get(f"{REGISTRY}/get_credentials/{world.public_uuid}", headers=bob).json() is None


def test_private_registry_needs_working_credentials(
    client: TestClient, actors: Actors, git_server: GitHttpServer
):
    alice = actors.headers["alice"]
    url = git_server.url("private")

    missing = create(client, alice, url, public=False)
    assert missing.status_code == 422
    assert missing.json()["detail"].startswith("422: 13: Repository Registry Validation Error: ")
    wrong = create(client, alice, url, public=False, credentials=WRONG)
    assert wrong.status_code == 422
    assert wrong.json()["detail"].startswith("422: 5: Git Repo Validation Error: ")
    assert WRONG["pat_token"] not in wrong.text
    # Nothing was left behind: the URL can still be registered.
    assert client.get(REGISTRY, headers=alice).json()["count"] == 1  # the actors' fixture one
    assert create(client, alice, url, public=False, credentials=RIGHT).status_code == 201


def test_list_filters_and_visibility(client: TestClient, world: World):
    alice, bob = world.headers["alice"], world.headers["bob"]
    anonymous = world.headers["anonymous"]

    def uuids(params: dict | None = None, headers: dict = alice) -> list[str]:
        body = client.get(REGISTRY, params=params, headers=headers).json()
        assert body["count"] >= len(body["repositories_registry"])
        return [item["uuid"] for item in body["repositories_registry"]]

    everything = uuids()
    assert len(everything) == 3 and {world.public_uuid, world.private_uuid} <= set(everything)
    assert uuids(headers=anonymous) == [uuid for uuid in everything if uuid != world.private_uuid]
    assert uuids(headers=bob) == uuids(headers=anonymous)
    assert uuids(headers=world.headers["backend"]) == everything
    assert uuids({"is_public_repository": False}) == [world.private_uuid]
    assert uuids({"is_public_repository": False}, headers=anonymous) == []
    assert uuids({"search_string": "PRIVATE .git"}) == [world.private_uuid]
    assert uuids({"search_string": "%"}) == []
    assert uuids({"uuids": [world.public_uuid, world.private_uuid]}) == [
        world.private_uuid,
        world.public_uuid,
    ]
    assert set(uuids({"creator_uuid": str(world.actors.alice_uuid)})) == set(everything)
    assert uuids({"creator_uuid": str(world.actors.bob_uuid)}) == []
    assert uuids({"order_by_create_date": "asc"}) == everything[::-1]

    page = client.get(REGISTRY, params={"offset": 1, "limit": 1}, headers=alice).json()
    assert page["count"] == 3
    assert [item["uuid"] for item in page["repositories_registry"]] == everything[1:2]
    listed = client.get(REGISTRY, params={"uuids": world.public_uuid}, headers=alice).json()
    assert listed["repositories_registry"][0]["branches"] == ["dev", "feature/x", "main"]


def test_delete_removes_the_clone_and_spares_used_or_unsynced_registries(
    client: TestClient, world: World, settings: Settings
):
    alice = world.headers["alice"]
    assert client.delete(f"{REGISTRY}/{world.public_uuid}", headers=alice).status_code == 204
    assert not (settings.resolved_repo_path / world.public_uuid).exists()
    assert client.get(f"{REGISTRY}/{world.public_uuid}", headers=alice).status_code == 404

    # The actors' fixture registry carries alice's Repo.
    used = world.used_uuid
    response = client.delete(f"{REGISTRY}/{used}", headers=alice)
    assert response.status_code == 422
    assert "used by repos" in response.json()["detail"]

    # It was never synced either: no branches, no commits.
    assert client.get(f"{REGISTRY}/{used}", headers=alice).json()["branches"] == []
    response = client.get(
        f"{REGISTRY}/branch_commits/{used}", params={"repo_branch": "main"}, headers=alice
    )
    assert response.status_code == 422
    assert "not been synced" in response.json()["detail"]


BAD_URLS = [
    "",
    "not a url",
    "ftp://example.com/repo.git",
    "https://example.com/repo",
    "https://user:secret@example.com/repo.git",
    "https://example.com/repo.git?x=1",
    "https:///repo.git",
    "https://example.com:99999/repo.git",
    "file://host/repo.git",
    "file:///tmp/../etc/repo.git",
    "https://example.com/re po.git",
    "https://example.com/repo\x00.git",
    "https://example.com/" + "a" * 3000 + ".git",
]


def test_bad_urls_are_refused(client: TestClient, actors: Actors):
    for url in BAD_URLS:
        response = create(client, actors.headers["alice"], url)
        assert response.status_code == 422, (url, response.text)


def test_unreachable_or_missing_repositories_are_refused(
    client: TestClient, actors: Actors, tmp_path: Path
):
    alice = actors.headers["alice"]
    missing = create(client, alice, (tmp_path / "nowhere.git").as_uri())
    assert missing.status_code == 422
    assert missing.json()["detail"].startswith("422: 5: ")
    assert client.get(REGISTRY, headers=alice).json()["count"] == 1


def test_only_https_by_default(database_url: str, actors: Actors, sources: Sources):
    app = create_app(make_settings(database_url), password_hasher=CHEAP_ARGON2)
    with checked_client(app) as client:
        response = create(client, actors.headers["alice"], sources.fresh().url)
    assert response.status_code == 422
    assert "https://" in response.json()["detail"]


def test_sync_right_after_creation_is_accepted(
    database_url: str, actors: Actors, sources: Sources, tmp_path: Path
):
    """Issue 12.2: creating a registry is not a sync that a following one must wait for."""
    settings = make_settings(
        database_url, save_repo_path=tmp_path / "repos", registry_allowed_url_schemes=LOCAL_SCHEMES
    )
    assert settings.min_interval_sync_repository == 10
    with checked_client(create_app(settings, password_hasher=CHEAP_ARGON2)) as client:
        alice = actors.headers["alice"]
        uuid = create(client, alice, sources.fresh().url).json()["uuid"]
        first = client.patch(f"{REGISTRY}/update_local_repository/{uuid}", headers=alice)
        second = client.patch(f"{REGISTRY}/update_local_repository/{uuid}", headers=alice)
    assert first.status_code == 204, first.text
    assert second.status_code == 204, second.text


def test_sync_while_one_runs_is_refused(
    database_url: str, actors: Actors, git_server: GitHttpServer, tmp_path: Path
):
    """A sync of a registry whose previous sync still runs (its remote stopped answering) is
    refused with 429; once that one is killed by the git timeout, syncs go on."""
    settings = make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=LOCAL_SCHEMES,
        registry_allow_private_addresses=True,
        registry_git_timeout=3,
        registry_max_git_transfers_per_user=2,
    )
    server_port = int(git_server.url("private").split(":")[2].split("/")[0])
    alice = actors.headers["alice"]
    sync_url = f"{REGISTRY}/update_local_repository/{{}}"
    with (
        PausableProxy(server_port) as proxy,
        checked_client(create_app(settings, password_hasher=CHEAP_ARGON2)) as client,
    ):
        url = f"http://{LOOPBACK}:{proxy.port}/private.git"
        created = create(client, alice, url, public=False, credentials=RIGHT)
        assert created.status_code == 201, created.text
        uuid = created.json()["uuid"]

        proxy.hold.set()
        running: list[httpx.Response] = []
        first = threading.Thread(
            target=lambda: running.append(client.patch(sync_url.format(uuid), headers=alice))
        )
        first.start()
        deadline = time.monotonic() + 5
        while proxy.held < 2:  # the reachability check, then git itself
            assert time.monotonic() < deadline, "the first sync did not start"
            time.sleep(0.02)
        refused = client.patch(sync_url.format(uuid), headers=alice)
        first.join()
        proxy.hold.clear()
        again = client.patch(sync_url.format(uuid), headers=alice)

    assert refused.status_code == 429, refused.text
    assert refused.json()["detail"] == (
        "429: 13: Repository Registry Validation Error: "
        "The registry is being synced right now; try again when it ends"
    )
    assert running[0].status_code == 422, running[0].text
    assert "did not answer within 3 s" in running[0].json()["detail"]
    assert again.status_code == 204, again.text


BAD_BODIES = [
    {},
    {"platform": "Bitbucket", "repository_url": "https://e.com/r.git", "is_public_repository": 1},
    {"platform": "Gitlab", "repository_url": 5, "is_public_repository": True},
    {"platform": "Gitlab", "repository_url": "https://e.com/r.git", "is_public_repository": "x"},
    {
        "platform": "Gitlab",
        "repository_url": "https://e.com/r.git",
        "is_public_repository": False,
        "credentials": {"username": "", "pat_token": "x"},
    },
    {
        "platform": "Gitlab",
        "repository_url": "https://e.com/r.git",
        "is_public_repository": False,
        "credentials": {"username": "a\nb", "pat_token": "x"},
    },
    [],
    "text",
]


def test_malformed_create_bodies(client: TestClient, actors: Actors):
    for body in BAD_BODIES:
        response = client.post(REGISTRY, json=body, headers=actors.headers["alice"])
        assert response.status_code == 422, (body, response.text)
    response = client.post(
        REGISTRY,
        content=b"{not json",
        headers={**actors.headers["alice"], "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text


UUID_ROUTES = {
    "get": lambda c, u, h: c.get(f"{REGISTRY}/{u}", headers=h),
    "branch_commits": lambda c, u, h: c.get(
        f"{REGISTRY}/branch_commits/{u}", params={"repo_branch": "main"}, headers=h
    ),
    "set_credentials": lambda c, u, h: c.patch(
        f"{REGISTRY}/set_credentials/{u}", json=RIGHT, headers=h
    ),
    "get_credentials": lambda c, u, h: c.get(f"{REGISTRY}/get_credentials/{u}", headers=h),
    "sync": lambda c, u, h: c.patch(f"{REGISTRY}/update_local_repository/{u}", headers=h),
    "delete": lambda c, u, h: c.delete(f"{REGISTRY}/{u}", headers=h),
}


def test_unknown_and_malformed_uuids(client: TestClient, actors: Actors):
    alice = actors.headers["alice"]
    for route, call in UUID_ROUTES.items():
        missing = uuid4()
        unknown = call(client, missing, alice)
        assert unknown.status_code == 404, (route, unknown.text)
        assert unknown.json()["detail"] == (
            f"404: 2: Validation Error: Repository registry {missing}: not found"
        )
        assert call(client, "not-a-uuid", alice).status_code == 422, route


def test_bad_list_queries(client: TestClient, actors: Actors):
    bob = actors.headers["bob"]
    for params in [
        {"uuids": "x"},
        {"creator_uuid": "x"},
        {"is_public_repository": "maybe"},
        {"order_by_create_date": "up"},
        {"order_by_last_update": "up"},
        {"search_string": "a\x00"},
        {"search_string": "a" * 257},
        {"limit": 501},
        {"offset": -1},
    ]:
        response = client.get(REGISTRY, params=params, headers=bob)
        assert response.status_code == 422, (params, response.text)
    assert UUID(client.get(REGISTRY, headers=bob).json()["repositories_registry"][0]["uuid"])
