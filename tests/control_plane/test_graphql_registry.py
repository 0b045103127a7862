"""GraphQL registry fields (docs/graphql.md#repository-registries) against their REST twins
under `/repository_registry`, with real git repositories: public ones over file:// and a
private one behind a basic-auth `git http-backend` server."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_http_server import GitHttpServer
from tests.control_plane_registry.git_sources import UnitRepository

from .conftest import API, Actors, make_settings
from .graphql_twins import as_graphql, data, gql, refusal_status, without_typenames

REGISTRY = f"{API}/repository_registry"
USERNAME, TOKEN = "robot", "glpat-Graphql-Token-42"
REGISTRY_FIELDS = (
    "{ __typename uuid platform repositoryUrl isPublicRepository releasesData "
    "localRepositorySize syncStatus syncError syncLastDatetime createDatetime "
    "lastUpdateDatetime creatorUuid branches }"
)
CREATE = (
    "mutation($registry: RepositoryRegistryCreateInput!) { "
    f"createRepositoryRegistry(repositoryRegistry: $registry) {REGISTRY_FIELDS} }}"
)
GET = f"query($uuid: UUID!) {{ getRepositoryRegistry(uuid: $uuid) {REGISTRY_FIELDS} }}"
LIST = (
    "query($filters: RepositoryRegistryFilterInput!) { getRepositoriesRegistry(filters: $filters)"
    f" {{ __typename count repositoriesRegistry {REGISTRY_FIELDS} }} }}"
)
COMMITS = (
    "query($uuid: UUID!, $filters: CommitFilterInput!) { getBranchCommits(uuid: $uuid, "
    "filters: $filters) { __typename commit summary tag } }"
)
CREDENTIALS = (
    "query($uuid: UUID!) { getCredentials(uuid: $uuid) { __typename "
    "credentials { __typename username patToken } status } }"
)
SET_CREDENTIALS = (
    "mutation($uuid: UUID!, $data: CredentialsInput!) { setCredentials(uuid: $uuid, data: $data)"
    " { isNone } }"
)
SYNC = "mutation($uuid: UUID!) { updateLocalRepository(uuid: $uuid) { isNone } }"
DELETE = "mutation($uuid: UUID!) { deleteRepositoryRegistry(uuid: $uuid) { isNone } }"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("graphql-registry-source"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "http", "file"),
        min_interval_sync_repository=0,
        registry_allow_private_addresses=True,
    )


@pytest.fixture
def git_server(source: UnitRepository, tmp_path: Path) -> Iterator[GitHttpServer]:
    root = tmp_path / "served"
    root.mkdir()
    copied = source.source.copy_to(root)
    copied.bare.rename(root / "private.git")
    server = GitHttpServer(root, USERNAME, TOKEN)
    server.start()
    yield server
    server.stop()


def public_registry(client: TestClient, actors: Actors, source: UnitRepository) -> dict:
    variables = {
        "registry": {
            "platform": "GITLAB",
            "repositoryUrl": source.source.url,
            "isPublicRepository": True,
        }
    }
    return data(gql(client, CREATE, variables, actors.headers["alice"]))["createRepositoryRegistry"]


def test_create_get_and_list_answer_what_rest_answers(
    client: TestClient, actors: Actors, source: UnitRepository
):
    created = public_registry(client, actors, source)
    assert created["__typename"] == "RepositoryRegistryType"
    assert created["platform"] == "GITLAB" and created["syncStatus"] == "UPDATED"
    assert created["branches"] == ["dev", "feature/x", "main"]
    uuid = created["uuid"]
    for caller in ("anonymous", "bob", "alice"):
        headers = actors.headers[caller]
        rest = client.get(f"{REGISTRY}/{uuid}", headers=headers).json()
        answer = data(gql(client, GET, {"uuid": uuid}, headers))["getRepositoryRegistry"]
        assert without_typenames(answer) == as_graphql(rest)
    assert without_typenames(created) == as_graphql(
        client.get(f"{REGISTRY}/{uuid}", headers=actors.headers["alice"]).json()
    )

    filters = {"isPublicRepository": True, "limit": 5}
    rest_filters = {"is_public_repository": True, "limit": 5}
    for caller in ("anonymous", "alice"):
        headers = actors.headers[caller]
        rest = client.get(REGISTRY, params=rest_filters, headers=headers).json()
        answer = data(gql(client, LIST, {"filters": filters}, headers))["getRepositoriesRegistry"]
        assert answer["__typename"] == "RepositoriesRegistryResultType"
        assert without_typenames(answer) == as_graphql(rest)
        assert uuid in [registry["uuid"] for registry in answer["repositoriesRegistry"]]


def test_branch_commits_and_their_refusals_match_rest(
    client: TestClient, actors: Actors, source: UnitRepository
):
    uuid = public_registry(client, actors, source)["uuid"]
    bob = actors.headers["bob"]
    for rest_params, filters in (
        ({"repo_branch": "main"}, {"repoBranch": "main", "limit": 10}),
        ({"repo_branch": "main", "only_tag": True}, {"repoBranch": "main", "onlyTag": True}),
        (
            {"repo_branch": "dev", "offset": 1, "limit": 1},
            {"repoBranch": "dev", "offset": 1, "limit": 1},
        ),
    ):
        rest = client.get(f"{REGISTRY}/branch_commits/{uuid}", params=rest_params, headers=bob)
        expected = [{k: v for k, v in c.items() if k != "tags"} for c in rest.json()]
        answer = data(gql(client, COMMITS, {"uuid": uuid, "filters": filters}, bob))
        assert all(c.pop("__typename") == "CommitType" for c in answer["getBranchCommits"])
        assert answer["getBranchCommits"] == expected and expected
    assert [c["tag"] for c in expected] == ["1.0.0"]  # dev after one commit: "features"

    for branch, caller in (("nope", "bob"), ("main", "anonymous"), ("main", "unit")):
        headers = actors.headers[caller]
        rest = client.get(
            f"{REGISTRY}/branch_commits/{uuid}", params={"repo_branch": branch}, headers=headers
        )
        answer = gql(client, COMMITS, {"uuid": uuid, "filters": {"repoBranch": branch}}, headers)
        assert refusal_status(answer) == rest.status_code
    empty = gql(client, COMMITS, {"uuid": uuid, "filters": {"repoBranch": ""}}, bob)
    assert refusal_status(empty) == 422
    assert "filters.repoBranch: at least 1 characters (got 0)" in empty["errors"][0]["message"]
    too_many = gql(
        client, COMMITS, {"uuid": uuid, "filters": {"repoBranch": "main", "limit": 501}}, bob
    )
    assert refusal_status(too_many) == 422


def test_refusals_match_rest(client: TestClient, actors: Actors, source: UnitRepository):
    uuid = public_registry(client, actors, source)["uuid"]
    unit = actors.headers["unit"]
    rest = client.get(f"{REGISTRY}/{uuid}", headers=unit).status_code
    assert refusal_status(gql(client, GET, {"uuid": uuid}, unit)) == rest == 403
    rest = client.get(REGISTRY, headers=unit).status_code
    assert refusal_status(gql(client, LIST, {"filters": {}}, unit)) == rest == 403
    bob = actors.headers["bob"]
    rest = client.delete(f"{REGISTRY}/{uuid}", headers=bob).status_code
    assert refusal_status(gql(client, DELETE, {"uuid": uuid}, bob)) == rest == 403
    body = {"platform": "Gitlab", "repository_url": source.source.url, "is_public_repository": True}
    rest = client.post(REGISTRY, json=body, headers=actors.headers["anonymous"]).status_code
    variables = {
        "registry": {"platform": "GITLAB", "repositoryUrl": "x", "isPublicRepository": True}
    }
    assert refusal_status(gql(client, CREATE, variables)) == rest == 403
    rest = client.patch(f"{REGISTRY}/update_local_repository/{uuid}").status_code
    assert refusal_status(gql(client, SYNC, {"uuid": uuid})) == rest == 403
    assert refusal_status(gql(client, GET, {"uuid": "00000000-0000-0000-0000-000000000000"})) == 404

    variables["registry"]["platform"] = "Gitlab"
    answer = gql(client, CREATE, variables, actors.headers["alice"])
    assert answer["data"] is None
    assert "Value 'Gitlab' does not exist in 'GitPlatform' enum" in answer["errors"][0]["message"]


def test_credentials_sync_and_delete(
    client: TestClient, actors: Actors, source: UnitRepository, git_server: GitHttpServer
):
    alice = actors.headers["alice"]
    public_uuid = public_registry(client, actors, source)["uuid"]
    assert client.get(f"{REGISTRY}/get_credentials/{public_uuid}", headers=alice).json() is None
    assert data(gql(client, CREDENTIALS, {"uuid": public_uuid}, alice)) == {"getCredentials": None}

    variables = {
        "registry": {
            "platform": "GITHUB",
            "repositoryUrl": git_server.url("private"),
            "isPublicRepository": False,
            "credentials": {"username": USERNAME, "patToken": TOKEN},
        }
    }
    private = data(gql(client, CREATE, variables, alice))["createRepositoryRegistry"]
    uuid = private["uuid"]
    assert private["isPublicRepository"] is False and private["platform"] == "GITHUB"
    right = {"username": USERNAME, "patToken": TOKEN}
    assert data(gql(client, SET_CREDENTIALS, {"uuid": uuid, "data": right}, alice)) == {
        "setCredentials": {"isNone": True}
    }
    rest = client.get(f"{REGISTRY}/get_credentials/{uuid}", headers=alice).json()
    answer = data(gql(client, CREDENTIALS, {"uuid": uuid}, alice))["getCredentials"]
    assert answer["__typename"] == "OneRepositoryRegistryCredentialsType"
    assert without_typenames(answer) == as_graphql(rest)
    assert answer["status"] == "VALID"
    bob = actors.headers["bob"]
    rest_status = client.get(f"{REGISTRY}/get_credentials/{uuid}", headers=bob).status_code
    assert refusal_status(gql(client, CREDENTIALS, {"uuid": uuid}, bob)) == rest_status
    rest_status = client.patch(
        f"{REGISTRY}/set_credentials/{uuid}", json={"username": "u", "pat_token": "t"}, headers=bob
    ).status_code
    answer = gql(
        client, SET_CREDENTIALS, {"uuid": uuid, "data": {"username": "u", "patToken": "t"}}, bob
    )
    assert refusal_status(answer) == rest_status

    assert data(gql(client, SYNC, {"uuid": uuid}, alice)) == {
        "updateLocalRepository": {"isNone": True}
    }
    assert data(gql(client, DELETE, {"uuid": uuid}, alice)) == {
        "deleteRepositoryRegistry": {"isNone": True}
    }
    assert client.get(f"{REGISTRY}/{uuid}", headers=alice).status_code == 404
