"""GraphQL permission fields (docs/graphql.md#permissions) against their REST twins under
`/permission`."""

from fastapi.testclient import TestClient

from .conftest import API, Actors
from .graphql_twins import as_graphql, data, gql, refusal_status, without_typenames

PERMISSION = f"{API}/permission"
PERMISSION_FIELDS = "{ __typename uuid agentUuid agentType resourceUuid resourceType }"
CREATE = (
    "mutation($permission: PermissionCreateInput!) { createPermission(permission: $permission) "
    f"{PERMISSION_FIELDS} }}"
)
AGENTS = (
    "query($filters: PermissionFilterInput!) { getResourceAgents(filters: $filters) "
    f"{{ __typename count permissions {PERMISSION_FIELDS} }} }}"
)
DELETE = (
    "mutation($agent: UUID!, $resource: UUID!) { deletePermission(agentUuid: $agent, "
    "resourceUuid: $resource) { isNone } }"
)


def test_grant_list_and_revoke_as_rest_does(client: TestClient, actors: Actors):
    alice, bob = actors.headers["alice"], actors.headers["bob"]
    unit, bob_uuid = str(actors.unit_uuid), str(actors.bob_uuid)
    grant = {
        "agentUuid": bob_uuid,
        "agentType": "USER",
        "resourceUuid": unit,
        "resourceType": "UNIT",
    }
    created = data(gql(client, CREATE, {"permission": grant}, alice))["createPermission"]
    assert created["__typename"] == "PermissionType"
    assert created["agentType"] == "USER" and created["resourceType"] == "UNIT"

    for filters, params in (
        ({}, {}),
        (
            {"agentType": "USER", "limit": 1, "offset": 1},
            {"agent_type": "User", "limit": 1, "offset": 1},
        ),
        ({"agentType": "UNIT"}, {"agent_type": "Unit"}),
    ):
        variables = {"filters": {"resourceUuid": unit, "resourceType": "UNIT", **filters}}
        rest = client.get(
            f"{PERMISSION}/get_resource_agents",
            params={"resource_uuid": unit, "resource_type": "Unit", **params},
            headers=alice,
        ).json()
        answer = data(gql(client, AGENTS, variables, alice))["getResourceAgents"]
        assert answer["__typename"] == "PermissionsType"
        assert without_typenames(answer) == as_graphql(rest)
    listed = data(
        gql(client, AGENTS, {"filters": {"resourceUuid": unit, "resourceType": "UNIT"}}, alice)
    )
    assert without_typenames(created) in [
        without_typenames(row) for row in listed["getResourceAgents"]["permissions"]
    ]

    again = gql(client, CREATE, {"permission": grant}, alice)
    rest = client.post(
        PERMISSION,
        json={
            "agent_uuid": bob_uuid,
            "agent_type": "User",
            "resource_uuid": unit,
            "resource_type": "Unit",
        },
        headers=alice,
    )
    assert refusal_status(again) == rest.status_code == 422
    assert again["errors"][0]["message"] == rest.json()["detail"]

    # Bob may revoke his own access; then there is nothing left to revoke.
    assert data(gql(client, DELETE, {"agent": bob_uuid, "resource": unit}, bob)) == {
        "deletePermission": {"isNone": True}
    }
    rest_status = client.delete(
        f"{PERMISSION}/x", params={"agent_uuid": bob_uuid, "resource_uuid": unit}, headers=bob
    ).status_code
    answer = gql(client, DELETE, {"agent": bob_uuid, "resource": unit}, bob)
    assert refusal_status(answer) == rest_status == 404


def test_refusals_match_rest(client: TestClient, actors: Actors):
    unit, bob_uuid = str(actors.unit_uuid), str(actors.bob_uuid)
    filters = {"resourceUuid": unit, "resourceType": "UNIT"}
    params = {"resource_uuid": unit, "resource_type": "Unit"}
    grant = {
        "agentUuid": bob_uuid,
        "agentType": "USER",
        "resourceUuid": unit,
        "resourceType": "UNIT",
    }
    rest_grant = {
        "agent_uuid": bob_uuid,
        "agent_type": "User",
        "resource_uuid": unit,
        "resource_type": "Unit",
    }
    for caller in ("anonymous", "unit", "bob"):
        headers = actors.headers[caller]
        rest = client.get(f"{PERMISSION}/get_resource_agents", params=params, headers=headers)
        answer = gql(client, AGENTS, {"filters": filters}, headers)
        assert refusal_status(answer) == rest.status_code == 403
        rest = client.post(PERMISSION, json=rest_grant, headers=headers)
        assert (
            refusal_status(gql(client, CREATE, {"permission": grant}, headers)) == rest.status_code
        )
    anonymous = {"agent_uuid": str(actors.alice_uuid), "resource_uuid": unit}
    rest = client.delete(f"{PERMISSION}/x", params=anonymous)
    answer = gql(client, DELETE, {"agent": str(actors.alice_uuid), "resource": unit})
    assert refusal_status(answer) == rest.status_code == 403

    alice = actors.headers["alice"]
    # A Repo agent is no agent: refused as REST refuses it, naming the field.
    bad = {**grant, "agentType": "REPO"}
    rest = client.post(PERMISSION, json={**rest_grant, "agent_type": "Repo"}, headers=alice)
    answer = gql(client, CREATE, {"permission": bad}, alice)
    assert refusal_status(answer) == rest.status_code == 422
    assert "permission.agent_type:" in answer["errors"][0]["message"]
    answer = gql(client, AGENTS, {"filters": {**filters, "resourceType": "USER"}}, alice)
    assert refusal_status(answer) == 422
    answer = gql(client, AGENTS, {"filters": {**filters, "resourceType": "Unit"}}, alice)
    assert answer["data"] is None
    assert (
        "Value 'Unit' does not exist in 'PermissionEntities' enum" in answer["errors"][0]["message"]
    )
    answer = gql(client, AGENTS, {"filters": {**filters, "limit": -1}}, alice)
    assert refusal_status(answer) == 422
