"""GraphQL rollout fields (docs/graphql.md#rollouts-beyond-1x) against their REST twins under
`/rollouts`, on a repo of a registry cloned from a real git repository over file://."""

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_sources import UnitRepository

from .conftest import API, Actors, make_settings
from .graphql_twins import as_graphql, data, gql, refusal_status, selection, without_typenames

ROLLOUTS = f"{API}/rollouts"
BOUND = {"topic_name": "temp/pepeunit", "rule": {"name": "too hot", "type": "above",
         "threshold": 80}}  # fmt: skip
STAGES = [
    {"size_kind": "Units", "size_value": 1, "soak_seconds": 60, "confirm_deadline_seconds": 120,
     "max_error_log_increase": 0},
    {"size_kind": "Percent", "size_value": 100, "soak_seconds": 0,
     "confirm_deadline_seconds": 120},
]  # fmt: skip


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("graphql-rollouts-source"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
    )


@pytest.fixture
def repo(client: TestClient, actors: Actors, source: UnitRepository) -> dict[str, Any]:
    """alice's repo on `source` with two units of hers: `{"uuid", "units"}`."""
    alice = actors.headers["alice"]
    body = {"platform": "Github", "repository_url": source.url, "is_public_repository": True}
    registry = client.post(f"{API}/repository_registry", json=body, headers=alice).json()
    body = {"repository_registry_uuid": registry["uuid"], "default_branch": "main",
            "name": "rolled-fw"}  # fmt: skip
    response = client.post(f"{API}/repos", json=body, headers=alice)
    assert response.status_code == 201, response.text
    uuid = response.json()["uuid"]
    units = []
    for index in range(2):
        body = {"repo_uuid": uuid, "name": f"rolled-{index}"}
        response = client.post(f"{API}/units", json=body, headers=alice)
        assert response.status_code == 201, response.text
        units.append(response.json()["uuid"])
    return {"uuid": uuid, "units": units}


def rest_body(repo: dict[str, Any]) -> dict[str, Any]:
    return {"repo_uuid": repo["uuid"], "unit_uuids": repo["units"], "target_kind": "BranchHead",
            "target_ref": "main", "stages": STAGES, "node_bounds": [BOUND]}  # fmt: skip


def graphql_input(body: dict[str, Any]) -> dict[str, Any]:
    """REST's body in GraphQL's terms (the same translation as of REST's answers)."""
    return as_graphql(body)


def detail_document(rest: dict[str, Any], root: str) -> str:
    """`root` (a field with its arguments) selecting every field of REST's answer `rest`."""
    return f"{{ {root} {selection(rest)} }}"


def get_rollout(client: TestClient, uuid: str, headers: dict, rest: dict[str, Any]) -> dict:
    document = "query($uuid: UUID!) " + detail_document(rest, "getRollout(uuid: $uuid)")
    return gql(client, document, {"uuid": uuid}, headers)


def test_create_get_and_list_answer_what_rest_answers(
    client: TestClient, actors: Actors, repo: dict[str, Any]
):
    alice = actors.headers["alice"]
    body = rest_body(repo)
    # The shape of REST's answer, from a rollout REST creates (and aborts, freeing the units).
    shape = client.post(ROLLOUTS, json=body, headers=alice).json()
    assert client.post(f"{ROLLOUTS}/{shape['uuid']}/abort", headers=alice).status_code == 200
    document = "mutation($rollout: RolloutCreateInput!) " + detail_document(
        shape, "createRollout(rollout: $rollout)"
    )
    created = data(gql(client, document, {"rollout": graphql_input(body)}, alice))["createRollout"]
    assert created["__typename"] == "RolloutType" and created["status"] == "PENDING"
    assert created["nodeBounds"][0]["rule"] == {
        "__typename": "ThresholdRuleType", "name": "too hot", "type": "ABOVE", "threshold": 80.0,
        "clear": None, "cooldown": 300,
    }  # fmt: skip
    rest = client.get(f"{ROLLOUTS}/{created['uuid']}", headers=alice).json()
    assert [unit["unit_uuid"] for unit in rest["units"]] == repo["units"]
    assert without_typenames(created) == as_graphql(rest)
    fetched = data(get_rollout(client, created["uuid"], alice, rest))["getRollout"]
    assert without_typenames(fetched) == as_graphql(rest)

    listing = client.get(ROLLOUTS, params={"repo_uuid": repo["uuid"]}, headers=alice).json()
    assert listing["count"] == 2
    document = "query($filters: RolloutFilterInput!) " + detail_document(
        listing, "getRollouts(filters: $filters)"
    )
    for filters, params in (
        ({"repoUuid": repo["uuid"]}, {"repo_uuid": repo["uuid"]}),
        ({"limit": 1, "offset": 1}, {"limit": 1, "offset": 1}),
        ({"repoUuid": str(uuid4())}, {"repo_uuid": str(uuid4())}),
    ):
        answer = data(gql(client, document, {"filters": filters}, alice))["getRollouts"]
        expected = client.get(ROLLOUTS, params=params, headers=alice).json()
        assert without_typenames(answer) == as_graphql(expected), filters
    in_list = "{ getRollouts(filters: {}) { rollouts { uuid stages { position } } } }"
    assert data(gql(client, in_list, headers=alice))["getRollouts"]["rollouts"][0]["stages"] is None

    for caller in ("anonymous", "unit", "bob", "admin"):
        headers = actors.headers[caller]
        status = client.get(f"{ROLLOUTS}/{created['uuid']}", headers=headers).status_code
        assert refusal_status(get_rollout(client, created["uuid"], headers, rest)) == status
        mine = client.get(ROLLOUTS, headers=headers)
        answer = gql(
            client, "{ getRollouts(filters: {}) { count rollouts { uuid } } }", None, headers
        )
        if mine.status_code == 200:
            assert data(answer)["getRollouts"] == {"count": 0, "rollouts": []} == mine.json()
        else:
            assert refusal_status(answer) == mine.status_code
    unknown = str(uuid4())
    status = client.get(f"{ROLLOUTS}/{unknown}", headers=alice).status_code
    assert refusal_status(get_rollout(client, unknown, alice, rest)) == status == 404


def test_commands_move_the_rollout_as_rest_does(
    client: TestClient, actors: Actors, repo: dict[str, Any]
):
    alice = actors.headers["alice"]
    body = rest_body(repo)
    shape = client.post(ROLLOUTS, json=body, headers=alice).json()
    uuid = shape["uuid"]
    document = "mutation($uuid: UUID!, $command: RolloutCommand!) " + detail_document(
        shape, "commandRollout(uuid: $uuid, command: $command)"
    )
    for command, status in (
        ("PAUSE", "PAUSED"),
        ("RESUME", "RUNNING"),
        ("ROLLBACK", "ROLLED_BACK"),
    ):
        answer = gql(client, document, {"uuid": uuid, "command": command}, alice)
        moved = data(answer)["commandRollout"]
        assert moved["status"] == status
        rest = client.get(f"{ROLLOUTS}/{uuid}", headers=alice).json()
        assert without_typenames(moved) == as_graphql(rest)
    assert [event["toStatus"] for event in moved["history"]] == [
        "PENDING", "PAUSED", "RUNNING", "ROLLED_BACK",
    ]  # fmt: skip
    # What REST refuses, GraphQL refuses with the same status and text.
    for caller, command in (("alice", "resume"), ("bob", "abort"), ("unit", "abort")):
        headers = actors.headers[caller]
        rest = client.post(f"{ROLLOUTS}/{uuid}/{command}", headers=headers)
        answer = gql(client, document, {"uuid": uuid, "command": command.upper()}, headers)
        assert refusal_status(answer) == rest.status_code
        assert answer["errors"][0]["message"].endswith(rest.json()["detail"])
    answer = gql(client, document, {"uuid": uuid, "command": "REBOOT"}, alice)
    assert answer["data"] is None and "RolloutCommand" in answer["errors"][0]["message"]


def test_bad_input_is_refused_with_rests_text(
    client: TestClient, actors: Actors, repo: dict[str, Any]
):
    alice = actors.headers["alice"]
    document = (
        "mutation($rollout: RolloutCreateInput!) { createRollout(rollout: $rollout) { uuid } }"
    )
    bound = BOUND | {"rule": BOUND["rule"] | {"clear": 90}}
    for change in (
        {"stages": []},
        {"target_ref": ""},
        {"stages": [STAGES[1] | {"soak_seconds": -1}]},
        {"node_bounds": [bound]},
        {"target_kind": "BranchHead", "target_branch": "main"},
        {"unit_uuids": [repo["units"][0]] * 2},
    ):
        body = rest_body(repo) | change
        rest = client.post(ROLLOUTS, json=body, headers=alice)
        answer = gql(client, document, {"rollout": graphql_input(body)}, alice)
        assert refusal_status(answer) == rest.status_code == 422, change
        expected = rest.json()["detail"].replace("body.", "rollout.")
        assert answer["errors"][0]["message"].endswith(expected), (change, answer, expected)
    assert client.get(ROLLOUTS, headers=alice).json()["count"] == 0
