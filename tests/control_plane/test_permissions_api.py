"""`/permission` over HTTP, on SQLite and PostgreSQL
(docs/compatibility.md#permission-api-creator-only).

Only the resource's creator grants, lists and revokes; an agent may revoke its own access; the
rows the platform creates can never be revoked; a grant opens a Private resource to its agent;
bad input is a 4xx with a detail, never a 500.
"""

from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pepeunit_core.db.enums import PermissionEntity, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Permission, Repo, Unit, User
from tests.pepeunit_core.builders import add_node, add_unit

from .conftest import API, Actors

PERMISSION = f"{API}/permission"
NO_ACCESS = "403: 1: No Access: "
PERMISSION_ERROR = "422: 4: Permission Validation Error: "


@dataclass(frozen=True)
class World:
    """alice's Private unit (the actors' unit) with a Private node, its repo, and the rows
    the platform creates for them (docs/compatibility.md#access-model)."""

    actors: Actors
    repo: UUID
    node: UUID

    def headers(self, agent: str) -> dict:
        return self.actors.headers[agent]


@pytest.fixture
def world(app: FastAPI, actors: Actors) -> World:
    with app.state.context.session_factory() as session:
        unit = session.get(Unit, actors.unit_uuid)
        assert unit is not None
        unit.visibility_level = VisibilityLevel.PRIVATE
        node = add_node(session, unit, UnitNodeType.OUTPUT, "temp/pepeunit")
        node.visibility_level = VisibilityLevel.PRIVATE
        user, unit_agent = PermissionEntity.USER, PermissionEntity.UNIT
        rows = [
            (user, "agent_user_uuid", actors.alice_uuid, PermissionEntity.UNIT, unit.uuid),
            (unit_agent, "agent_unit_uuid", unit.uuid, PermissionEntity.REPO, unit.repo_uuid),
            (unit_agent, "agent_unit_uuid", unit.uuid, PermissionEntity.UNIT, unit.uuid),
            (unit_agent, "agent_unit_uuid", unit.uuid, PermissionEntity.UNIT_NODE, node.uuid),
            (user, "agent_user_uuid", actors.alice_uuid, PermissionEntity.UNIT_NODE, node.uuid),
        ]
        columns = {
            PermissionEntity.REPO: "resource_repo_uuid",
            PermissionEntity.UNIT: "resource_unit_uuid",
            PermissionEntity.UNIT_NODE: "resource_unit_node_uuid",
        }
        for agent_type, agent_column, agent_uuid, resource_type, resource_uuid in rows:
            session.add(
                Permission(
                    agent_type=agent_type,
                    resource_type=resource_type,
                    **{agent_column: agent_uuid, columns[resource_type]: resource_uuid},
                )
            )
        session.commit()
        return World(actors, unit.repo_uuid, node.uuid)


def grant(client: TestClient, world: World, agent: str, **body: object):
    return client.post(PERMISSION, json=body, headers=world.headers(agent))


def revoke(client: TestClient, world: World, agent: str, agent_uuid: object, resource: object):
    params = {"agent_uuid": str(agent_uuid), "resource_uuid": str(resource)}
    return client.delete(f"{PERMISSION}/{uuid4()}", params=params, headers=world.headers(agent))


def agents_of(client: TestClient, world: World, caller: str, **params: object):
    return client.get(
        f"{PERMISSION}/get_resource_agents", params=params, headers=world.headers(caller)
    )


def test_creator_grants_and_the_grant_opens_the_resource(client: TestClient, world: World) -> None:
    node_url = f"{API}/unit_nodes/{world.node}"
    assert client.get(node_url, headers=world.headers("bob")).status_code == 403
    body = {
        "agent_uuid": str(world.actors.bob_uuid),
        "agent_type": "User",
        "resource_uuid": str(world.node),
        "resource_type": "UnitNode",
    }
    for agent in ["anonymous", "bob", "admin", "unit"]:
        response = grant(client, world, agent, **body)
        assert response.status_code == 403, agent
        assert response.json()["detail"].startswith(NO_ACCESS)
    response = grant(client, world, "alice", **body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {key: created[key] for key in body} == body
    assert client.get(node_url, headers=world.headers("bob")).status_code == 200
    listed = client.get(f"{API}/unit_nodes", headers=world.headers("bob")).json()
    assert str(world.node) in {node["uuid"] for node in listed["unit_nodes"]}

    duplicate = grant(client, world, "alice", **body)
    assert duplicate.status_code == 422 and PERMISSION_ERROR in duplicate.text
    nobody = grant(client, world, "alice", **(body | {"agent_uuid": str(uuid4())}))
    assert nobody.status_code == 422 and PERMISSION_ERROR in nobody.text
    missing = grant(client, world, "alice", **(body | {"resource_uuid": str(uuid4())}))
    assert missing.status_code == 404
    wrong_type = grant(client, world, "alice", **(body | {"resource_type": "Unit"}))
    assert wrong_type.status_code == 404  # no Unit with the node's uuid
    unit_grant = grant(
        client,
        world,
        "alice",
        **(body | {"agent_uuid": str(world.actors.unit_uuid), "agent_type": "Unit"}),
    )
    assert unit_grant.status_code == 422  # the unit owns the node already
    for bad in [
        body | {"agent_type": "Repo"},
        body | {"resource_type": "User"},
        body | {"agent_uuid": "x"},
        {key: value for key, value in body.items() if key != "resource_uuid"},
    ]:
        assert grant(client, world, "alice", **bad).status_code == 422, bad


def test_only_the_creator_lists_agents(client: TestClient, world: World) -> None:
    params = {"resource_uuid": str(world.actors.unit_uuid), "resource_type": "Unit"}
    for agent in ["anonymous", "bob", "admin", "unit"]:
        assert agents_of(client, world, agent, **params).status_code == 403, agent
    response = agents_of(client, world, "alice", **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2
    assert {(row["agent_type"], row["agent_uuid"]) for row in body["permissions"]} == {
        ("User", str(world.actors.alice_uuid)),
        ("Unit", str(world.actors.unit_uuid)),
    }
    only_units = agents_of(client, world, "alice", agent_type="Unit", **params).json()
    assert only_units["count"] == 1
    page = agents_of(client, world, "alice", limit=1, offset=1, **params).json()
    assert page["count"] == 2 and len(page["permissions"]) == 1
    missing = agents_of(client, world, "alice", resource_uuid=str(uuid4()), resource_type="Repo")
    assert missing.status_code == 404
    for bad in [
        {"resource_uuid": "x", "resource_type": "Unit"},
        {"resource_uuid": str(world.actors.unit_uuid), "resource_type": "User"},
        {"resource_uuid": str(world.actors.unit_uuid)},
        params | {"agent_type": "Repo"},
        params | {"limit": 501},
    ]:
        assert agents_of(client, world, "alice", **bad).status_code == 422, bad


def test_revoke_rules(client: TestClient, world: World) -> None:
    actors = world.actors
    unit = actors.unit_uuid
    forbidden = [
        (actors.alice_uuid, unit),  # the creator's own access
        (actors.alice_uuid, world.node),
        (unit, unit),  # the unit's access to itself
        (unit, world.repo),  # the unit's access to its repo
        (unit, world.node),  # the unit's access to its own node
    ]
    for agent_uuid, resource in forbidden:
        response = revoke(client, world, "alice", agent_uuid, resource)
        assert response.status_code == 422, (agent_uuid, resource)
        assert PERMISSION_ERROR in response.text

    for agent_uuid in [actors.bob_uuid, actors.admin_uuid]:
        granted = grant(
            client,
            world,
            "alice",
            agent_uuid=str(agent_uuid),
            agent_type="User",
            resource_uuid=str(unit),
            resource_type="Unit",
        )
        assert granted.status_code == 201
    # Others may not revoke bob's access; bob himself and the creator may.
    for agent in ["anonymous", "admin", "unit"]:
        assert revoke(client, world, agent, actors.bob_uuid, unit).status_code in (401, 403)
    assert revoke(client, world, "bob", actors.bob_uuid, unit).status_code == 204
    assert revoke(client, world, "alice", actors.admin_uuid, unit).status_code == 204
    listed = agents_of(client, world, "alice", resource_uuid=str(unit), resource_type="Unit").json()
    assert listed["count"] == 2
    assert revoke(client, world, "alice", actors.bob_uuid, unit).status_code == 404
    bad = client.delete(
        f"{PERMISSION}/x",
        params={"agent_uuid": "x", "resource_uuid": str(unit)},
        headers=world.headers("alice"),
    )
    assert bad.status_code == 422
    assert client.delete(f"{PERMISSION}/x", headers=world.headers("alice")).status_code == 422


def test_a_unit_revokes_its_own_access(client: TestClient, world: World, app: FastAPI) -> None:
    with app.state.context.session_factory() as session:
        alice = session.get(User, world.actors.alice_uuid)
        assert alice is not None
        other = add_unit(session, alice, session.get_one(Repo, world.repo))
        other_node = add_node(session, other, UnitNodeType.INPUT, "pump/pepeunit").uuid
        session.commit()
    unit = world.actors.unit_uuid
    for agent_uuid, agent_type in [(unit, "Unit"), (world.actors.bob_uuid, "User")]:
        granted = grant(
            client,
            world,
            "alice",
            agent_uuid=str(agent_uuid),
            agent_type=agent_type,
            resource_uuid=str(other_node),
            resource_type="UnitNode",
        )
        assert granted.status_code == 201
    assert revoke(client, world, "unit", world.actors.bob_uuid, other_node).status_code == 403
    assert revoke(client, world, "unit", unit, other_node).status_code == 204
    assert revoke(client, world, "unit", unit, other_node).status_code == 404
