"""Unit nodes and edges over GraphQL (docs/graphql.md#units-unit-nodes-and-datapipe): each
field answers what its REST twin answers on the same data and refuses whom REST refuses."""

from uuid import uuid4

from fastapi.testclient import TestClient

from pepeunit_core.db.enums import VisibilityLevel

from .graphql_support import assert_same, data, refusal
from .test_unit_nodes_api import NODES, World, create_edge, delete_edge, world

__all__ = ["world"]  # the fixture of the REST twin's tests

NODE_FIELDS = """__typename uuid type visibilityLevel isRewritableInput maxConnections topicName
    lastUpdateDatetime isDataPipeActive dataPipeYml dataPipeStatus dataPipeError createDatetime
    state unitUuid creatorUuid"""
GET_NODE = f"query($uuid: UUID!) {{ getUnitNode(uuid: $uuid) {{ {NODE_FIELDS} }} }}"
GET_NODES = f"""query($filters: UnitNodeFilterInput!) {{ getUnitNodes(filters: $filters) {{
    __typename count unitNodes {{ {NODE_FIELDS} }} }} }}"""
UPDATE = f"""mutation($uuid: UUID!, $node: UnitNodeUpdateInput!) {{
    updateUnitNode(uuid: $uuid, unitNode: $node) {{ {NODE_FIELDS} }} }}"""
SET_STATE = f"""mutation($uuid: UUID!, $node: UnitNodeSetStateInput!) {{
    setStateUnitNodeInput(uuid: $uuid, unitNode: $node) {{ {NODE_FIELDS} }} }}"""
CREATE_EDGE = """mutation($edge: UnitNodeEdgeCreateInput!) {
    createUnitNodeEdge(unitNodeEdge: $edge) { __typename uuid nodeOutputUuid nodeInputUuid } }"""
DELETE_EDGE = """mutation($input: UUID!, $output: UUID!) {
    deleteUnitNodeEdge(inputUuid: $input, outputUuid: $output) { isNone } }"""


def rest_node(client: TestClient, world: World, name: str, agent: str = "alice") -> dict:
    response = client.get(f"{NODES}/{world.node(name)}", headers=world.headers(agent))
    assert response.status_code == 200, response.text
    return response.json()


def test_get_unit_node_answers_as_rest(client: TestClient, world: World) -> None:
    world.set_node("alice_in", state="on")
    read = data(client, GET_NODE, world.headers("bob"), uuid=world.node("alice_in"))
    assert read["__typename"] == "UnitNodeType" and read["type"] == "INPUT"
    assert read["dataPipeStatus"] == "Inactive"  # a String with the stored spelling, as in 1.x
    assert_same(read, rest_node(client, world, "alice_in", "bob"))
    world.set_node("alice_out", visibility_level=VisibilityLevel.PRIVATE)
    for agent in ["anonymous", "bob"]:
        twin = client.get(f"{NODES}/{world.node('alice_out')}", headers=world.headers(agent))
        refused = refusal(client, GET_NODE, world.headers(agent), uuid=world.node("alice_out"))
        assert refused == {"message": twin.json()["detail"], "status": twin.status_code}
    assert refusal(client, GET_NODE, world.headers("alice"), uuid=str(uuid4()))["status"] == 404


def test_get_unit_nodes_answers_as_rest(client: TestClient, world: World) -> None:
    world.set_node("alice_raw", visibility_level=VisibilityLevel.PRIVATE)
    assert create_edge(client, world, "alice_out", "bob_in", "alice").status_code == 201
    cases = [
        ({}, {}),
        ({"type": ["INPUT"]}, {"type": ["Input"]}),
        ({"unitUuid": str(world.bob_unit)}, {"unit_uuid": str(world.bob_unit)}),
        (
            {"searchString": "pepeunit", "limit": 2, "offset": 1},
            {"search_string": "pepeunit", "limit": 2, "offset": 1},
        ),
        ({"outputUuid": world.node("alice_out")}, {"output_uuid": world.node("alice_out")}),
        (
            {"visibilityLevel": ["PUBLIC"], "orderByCreateDate": "asc"},
            {"visibility_level": ["Public"], "order_by_create_date": "asc"},
        ),
        (
            {"uuids": [world.node("alice_in"), world.node("bob_in")]},
            {"uuids": [world.node("alice_in"), world.node("bob_in")]},
        ),
    ]
    for agent in ["anonymous", "bob"]:
        for filters, params in cases:
            listed = data(client, GET_NODES, world.headers(agent), filters=filters)
            response = client.get(NODES, params=params, headers=world.headers(agent))
            assert listed["__typename"] == "UnitNodesResultType"
            assert_same(listed, response.json(), f"{agent} {filters}")
    too_big = refusal(client, GET_NODES, filters={"limit": 10**6})
    assert too_big["status"] == client.get(NODES, params={"limit": 10**6}).status_code == 422


def test_update_and_set_state_answer_as_rest(client: TestClient, world: World) -> None:
    alice, bob = world.headers("alice"), world.headers("bob")
    changes = {"isRewritableInput": True, "maxConnections": 3, "visibilityLevel": "INTERNAL"}
    updated = data(client, UPDATE, alice, uuid=world.node("alice_in"), node=changes)
    assert (updated["maxConnections"], updated["visibilityLevel"]) == (3, "INTERNAL")
    assert_same(updated, rest_node(client, world, "alice_in"))
    for agent, node in [(bob, {"maxConnections": 2}), (alice, {"maxConnections": 0})]:
        twin = client.patch(
            f"{NODES}/{world.node('alice_in')}",
            json={"max_connections": node["maxConnections"]},
            headers=agent,
        )
        refused = refusal(client, UPDATE, agent, uuid=world.node("alice_in"), node=node)
        assert refused["status"] == twin.status_code != 200

    written = data(
        client, SET_STATE, world.headers("unit"), uuid=world.node("alice_in"), node={"state": "7"}
    )
    assert written["state"] == "7"
    assert_same(written, rest_node(client, world, "alice_in"))
    for agent, state, name in [
        ("anonymous", "1", "alice_in"),
        ("alice", "1", "alice_out"),
        ("alice", "x" * 70000, "alice_in"),
        ("alice", None, "alice_in"),
    ]:
        twin = client.patch(
            f"{NODES}/set_state_input/{world.node(name)}",
            json={"state": state},
            headers=world.headers(agent),
        )
        refused = refusal(
            client, SET_STATE, world.headers(agent), uuid=world.node(name), node={"state": state}
        )
        assert refused["status"] == twin.status_code != 200, (agent, name)


def test_edges_are_created_and_deleted_as_over_rest(client: TestClient, world: World) -> None:
    edge = {"nodeOutputUuid": world.node("alice_out"), "nodeInputUuid": world.node("bob_in")}
    made = data(client, CREATE_EDGE, world.headers("bob"), edge=edge)
    assert made["__typename"] == "UnitNodeEdgeType"
    assert (made["nodeOutputUuid"], made["nodeInputUuid"]) == (
        edge["nodeOutputUuid"],
        edge["nodeInputUuid"],
    )
    duplicate = create_edge(client, world, "alice_out", "bob_in", "alice")
    refused = refusal(client, CREATE_EDGE, world.headers("alice"), edge=edge)
    assert refused == {"message": duplicate.json()["detail"], "status": duplicate.status_code}
    for agent in ["anonymous", "unit"]:
        twin = create_edge(client, world, "alice_out2", "bob_in", agent)
        assert (
            refusal(client, CREATE_EDGE, world.headers(agent), edge=edge)["status"]
            == twin.status_code
            == 403
        )

    # The edge's creator (bob) or the Input node's creator (bob) may delete it; not alice.
    ends = {"input": world.node("bob_in"), "output": world.node("alice_out")}
    twin = delete_edge(client, world, "alice_out", "bob_in", "alice")
    refused = refusal(client, DELETE_EDGE, world.headers("alice"), **ends)
    assert refused == {"message": twin.json()["detail"], "status": twin.status_code}
    assert data(client, DELETE_EDGE, world.headers("bob"), **ends) == {"isNone": True}
    gone = delete_edge(client, world, "alice_out", "bob_in", "bob")
    assert refusal(client, DELETE_EDGE, world.headers("bob"), **ends) == {
        "message": gone.json()["detail"],
        "status": gone.status_code,
    }
    assert gone.status_code == 404
