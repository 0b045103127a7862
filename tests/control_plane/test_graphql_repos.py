"""GraphQL repos fields (docs/graphql.md#repos) against their REST twins under `/repos`, on a
registry cloned from a real git repository over file://."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_sources import UnitRepository

from .conftest import API, Actors, make_settings
from .graphql_twins import as_graphql, data, gql, refusal_status, without_typenames
from .test_access_matrix import wait_for_background_work

REPOS = f"{API}/repos"
REPO_FIELDS = (
    "{ __typename uuid visibilityLevel name createDatetime defaultBranch isAutoUpdateRepo "
    "defaultCommit isOnlyTagUpdate isCompilableRepo lastUpdateDatetime creatorUuid "
    "repositoryRegistryUuid }"
)
CREATE = f"mutation($repo: RepoCreateInput!) {{ createRepo(repo: $repo) {REPO_FIELDS} }}"
UPDATE = (
    "mutation($uuid: UUID!, $repo: RepoUpdateInput!) { updateRepo(uuid: $uuid, repo: $repo) "
    f"{REPO_FIELDS} }}"
)
GET = f"query($uuid: UUID!) {{ getRepo(uuid: $uuid) {REPO_FIELDS} }}"
LIST = (
    "query($filters: RepoFilterInput!) { getRepos(filters: $filters) "
    f"{{ __typename count repos {REPO_FIELDS} }} }}"
)
VERSIONS = (
    "query($uuid: UUID!) { getVersions(uuid: $uuid) { __typename unitCount "
    "versions { __typename commit unitCount tag } } }"
)
PLATFORMS = (
    "query($uuid: UUID!, $commit: String, $tag: String) { getAvailablePlatforms(uuid: $uuid, "
    "targetCommit: $commit, targetTag: $tag) { __typename name link } }"
)
DELETE = "mutation($uuid: UUID!) { deleteRepo(uuid: $uuid) { isNone } }"
UPDATE_FIRMWARE = "mutation($uuid: UUID!) { updateUnitsFirmware(uuid: $uuid) { isNone } }"
BULK = "mutation { bulkUpdate { isNone } }"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("graphql-repos-source"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
    )


@pytest.fixture
def registry(client: TestClient, actors: Actors, source: UnitRepository) -> str:
    body = {"platform": "Github", "repository_url": source.url, "is_public_repository": True}
    response = client.post(f"{API}/repository_registry", json=body, headers=actors.headers["alice"])
    assert response.status_code == 201, response.text
    return response.json()["uuid"]


def create_repo(client: TestClient, actors: Actors, registry: str, name: str, level: str) -> dict:
    repo = {
        "repositoryRegistryUuid": registry,
        "defaultBranch": "main",
        "visibilityLevel": level,
        "name": name,
        "isCompilableRepo": False,
    }
    return data(gql(client, CREATE, {"repo": repo}, actors.headers["alice"]))["createRepo"]


def unit_repo_uuid(client: TestClient, actors: Actors, registry: str) -> str:
    """The repo of the actors' unit (not on `registry`)."""
    repos = client.get(REPOS, headers=actors.headers["alice"]).json()["repos"]
    (repo,) = [repo for repo in repos if repo["repository_registry_uuid"] != registry]
    return repo["uuid"]


def test_create_get_and_list_answer_what_rest_answers(
    client: TestClient, actors: Actors, registry: str
):
    public = create_repo(client, actors, registry, "lamp-fw", "PUBLIC")
    private = create_repo(client, actors, registry, "door-fw", "PRIVATE")
    assert public["__typename"] == "RepoType" and public["visibilityLevel"] == "PUBLIC"
    for repo in (public, private):
        rest = client.get(f"{REPOS}/{repo['uuid']}", headers=actors.headers["alice"]).json()
        assert without_typenames(repo) == as_graphql(rest)
    for caller in ("anonymous", "bob", "alice"):
        headers = actors.headers[caller]
        for repo in (public, private):
            rest = client.get(f"{REPOS}/{repo['uuid']}", headers=headers)
            answer = gql(client, GET, {"uuid": repo["uuid"]}, headers)
            if rest.status_code == 200:
                assert without_typenames(data(answer)["getRepo"]) == as_graphql(rest.json())
            else:
                assert refusal_status(answer) == rest.status_code == 403
        # REST orders by the last update only when asked; GraphQL's default asks (as 1.x).
        filters = {"repositoryRegistryUuid": registry}
        rest_filters = {"repository_registry_uuid": registry, "order_by_last_update": "desc"}
        rest = client.get(REPOS, params=rest_filters, headers=headers).json()
        answer = data(gql(client, LIST, {"filters": filters}, headers))["getRepos"]
        assert answer["__typename"] == "ReposResultType"
        assert without_typenames(answer) == as_graphql(rest)
    only_private = {"visibilityLevel": ["PRIVATE"], "searchString": "fw"}
    answer = data(gql(client, LIST, {"filters": only_private}, actors.headers["alice"]))
    assert [repo["uuid"] for repo in answer["getRepos"]["repos"]] == [private["uuid"]]

    unit = actors.headers["unit"]
    rest_status = client.get(REPOS, headers=unit).status_code
    assert refusal_status(gql(client, LIST, {"filters": {}}, unit)) == rest_status == 403
    answer = gql(client, LIST, {"filters": {"visibilityLevel": ["Public"]}})
    assert answer["data"] is None
    assert (
        "Value 'Public' does not exist in 'VisibilityLevel' enum" in answer["errors"][0]["message"]
    )
    answer = gql(client, LIST, {"filters": {"limit": 501}})
    assert refusal_status(answer) == client.get(REPOS, params={"limit": 501}).status_code == 422


def test_update_as_rest_does(
    client: TestClient, actors: Actors, registry: str, source: UnitRepository
):
    repo = create_repo(client, actors, registry, "lamp-fw", "PUBLIC")
    alice, bob = actors.headers["alice"], actors.headers["bob"]
    change = {"name": "lamp-fw2", "visibilityLevel": "INTERNAL", "isAutoUpdateRepo": False}
    change |= {"defaultCommit": source.features}
    updated = data(gql(client, UPDATE, {"uuid": repo["uuid"], "repo": change}, alice))["updateRepo"]
    assert updated["name"] == "lamp-fw2" and updated["visibilityLevel"] == "INTERNAL"
    assert updated["defaultCommit"] == source.features and updated["isAutoUpdateRepo"] is False
    rest = client.get(f"{REPOS}/{repo['uuid']}", headers=alice).json()
    assert without_typenames(updated) == as_graphql(rest)

    rest_status = client.patch(f"{REPOS}/{repo['uuid']}", json={"name": "x-fw"}, headers=bob)
    answer = gql(client, UPDATE, {"uuid": repo["uuid"], "repo": {"name": "x-fw"}}, bob)
    assert refusal_status(answer) == rest_status.status_code == 403
    rest = client.patch(f"{REPOS}/{repo['uuid']}", json={"name": "ab"}, headers=alice)
    answer = gql(client, UPDATE, {"uuid": repo["uuid"], "repo": {"name": "ab"}}, alice)
    assert refusal_status(answer) == rest.status_code == 422
    assert "repo.name: at least 4 characters (got 2)" in answer["errors"][0]["message"]
    rest = client.patch(f"{REPOS}/{repo['uuid']}", json={"default_commit": "nope"}, headers=alice)
    answer = gql(client, UPDATE, {"uuid": repo["uuid"], "repo": {"defaultCommit": "nope"}}, alice)
    assert refusal_status(answer) == rest.status_code == 422


def test_versions_and_platforms_answer_what_rest_answers(
    client: TestClient, actors: Actors, registry: str, source: UnitRepository
):
    unit_repo = unit_repo_uuid(client, actors, registry)
    for caller in ("anonymous", "alice"):
        headers = actors.headers[caller]
        rest = client.get(f"{REPOS}/versions/{unit_repo}", headers=headers).json()
        answer = data(gql(client, VERSIONS, {"uuid": unit_repo}, headers))["getVersions"]
        assert answer["__typename"] == "RepoVersionsType"
        assert without_typenames(answer) == as_graphql(rest)
    unit = actors.headers["unit"]
    rest_status = client.get(f"{REPOS}/versions/{unit_repo}", headers=unit).status_code
    assert refusal_status(gql(client, VERSIONS, {"uuid": unit_repo}, unit)) == rest_status

    repo = create_repo(client, actors, registry, "lamp-fw", "PUBLIC")["uuid"]
    alice = actors.headers["alice"]
    for rest_params, variables in (
        ({}, {}),
        ({"target_tag": "1.0.0"}, {"tag": "1.0.0"}),
        ({"target_commit": source.features}, {"commit": source.features}),
    ):
        rest = client.get(f"{REPOS}/available_platforms/{repo}", params=rest_params, headers=alice)
        answer = data(gql(client, PLATFORMS, {"uuid": repo, **variables}, alice))
        assert answer["getAvailablePlatforms"] == as_graphql(rest.json())
    for headers, variables in ((actors.headers["anonymous"], {}), (alice, {"commit": "xyz"})):
        rest = client.get(
            f"{REPOS}/available_platforms/{repo}",
            params={"target_commit": variables["commit"]} if variables else {},
            headers=headers,
        )
        answer = gql(client, PLATFORMS, {"uuid": repo, **variables}, headers)
        assert refusal_status(answer) == rest.status_code != 200


def test_firmware_updates_and_delete_as_rest_does(
    client: TestClient, actors: Actors, registry: str
):
    repo = create_repo(client, actors, registry, "lamp-fw", "PUBLIC")["uuid"]
    alice, bob, admin = (actors.headers[name] for name in ("alice", "bob", "admin"))
    assert data(gql(client, UPDATE_FIRMWARE, {"uuid": repo}, alice)) == {
        "updateUnitsFirmware": {"isNone": True}
    }
    rest_status = client.patch(f"{REPOS}/update_units_firmware/{repo}", headers=bob).status_code
    assert refusal_status(gql(client, UPDATE_FIRMWARE, {"uuid": repo}, bob)) == rest_status == 403
    rest_status = client.post(f"{REPOS}/bulk_update", headers=alice).status_code
    assert refusal_status(gql(client, BULK, headers=alice)) == rest_status == 403
    assert data(gql(client, BULK, headers=admin)) == {"bulkUpdate": {"isNone": True}}
    wait_for_background_work()

    unit_repo = unit_repo_uuid(client, actors, registry)
    rest = client.delete(f"{REPOS}/{unit_repo}", headers=alice)
    answer = gql(client, DELETE, {"uuid": unit_repo}, alice)
    assert refusal_status(answer) == rest.status_code == 422
    assert answer["errors"][0]["message"] == rest.json()["detail"]
    rest_status = client.delete(f"{REPOS}/{repo}", headers=bob).status_code
    assert refusal_status(gql(client, DELETE, {"uuid": repo}, bob)) == rest_status == 403
    assert data(gql(client, DELETE, {"uuid": repo}, alice)) == {"deleteRepo": {"isNone": True}}
    assert client.get(f"{REPOS}/{repo}", headers=alice).status_code == 404
