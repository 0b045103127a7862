"""`/unit_nodes` (reads, settings, Input values) and edges over HTTP, on SQLite and PostgreSQL.

Who may call what (docs/compatibility.md#access-model), visibility of single reads and lists, the
creator's update rules, edge rules and automatic permissions, dataflow config version
bumps (docs/compatibility.md#routing-by-the-dataflow), and bad input (always a 4xx with a detail,
never a 500)."""

import json
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from pepeunit_core.db.config_version import read_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Permission, Unit, UnitNode, User
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit

from .conftest import API, Actors

NODES = f"{API}/unit_nodes"
NO_ACCESS = "403: 1: No Access: "
NODE_ERROR = "422: 8: UnitNode Validation Error: "
AGENTS = ["anonymous", "admin", "alice", "bob", "unit"]


@dataclass(frozen=True)
class World:
    """alice's unit (the actors' unit) and bob's unit, each with some nodes."""

    app: FastAPI
    actors: Actors
    bob_unit: UUID
    nodes: dict[str, UUID]

    def headers(self, agent: str) -> dict:
        return self.actors.headers[agent]

    def node(self, name: str) -> str:
        return str(self.nodes[name])

    def set_node(self, name: str, **values: object) -> None:
        with self.app.state.context.session_factory() as session:
            session.execute(
                update(UnitNode).where(UnitNode.uuid == self.nodes[name]).values(**values)
            )
            session.commit()

    def version(self) -> int:
        with self.app.state.context.session_factory() as session:
            return read_dataflow_config_version(session)

    def unit_permissions(self, unit: UUID) -> set[tuple[str, UUID | None]]:
        with self.app.state.context.session_factory() as session:
            rows = session.scalars(select(Permission).where(Permission.agent_unit_uuid == unit))
            return {
                (row.resource_type, row.resource_unit_node_uuid or row.resource_unit_uuid)
                for row in rows
            }


NODE_SPECS = {
    # name: (owner, type, topic)
    "alice_out": ("alice", UnitNodeType.OUTPUT, "temp/pepeunit"),
    "alice_out2": ("alice", UnitNodeType.OUTPUT, "humidity/pepeunit"),
    "alice_in": ("alice", UnitNodeType.INPUT, "pump/pepeunit"),
    "alice_raw": ("alice", UnitNodeType.INPUT, "raw_input"),
    "bob_out": ("bob", UnitNodeType.OUTPUT, "light/pepeunit"),
    "bob_in": ("bob", UnitNodeType.INPUT, "switch/pepeunit"),
}


@pytest.fixture
def world(app: FastAPI, actors: Actors) -> World:
    nodes: dict[str, UUID] = {}
    with app.state.context.session_factory() as session:
        bob = session.get(User, actors.bob_uuid)
        assert bob is not None
        units = {
            "alice": session.get(Unit, actors.unit_uuid),
            "bob": add_unit(session, bob, add_repo(session, bob, add_registry(session, bob))),
        }
        for name, (owner, node_type, topic) in NODE_SPECS.items():
            unit = units[owner]
            assert unit is not None
            nodes[name] = add_node(session, unit, node_type, topic).uuid
        bob_unit = units["bob"]
        assert bob_unit is not None
        session.commit()
        return World(app, actors, bob_unit.uuid, nodes)


def get_node(client: TestClient, world: World, name: str, agent: str) -> int:
    return client.get(f"{NODES}/{world.node(name)}", headers=world.headers(agent)).status_code


# --- reads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "allowed"),
    [
        (VisibilityLevel.PUBLIC, set(AGENTS)),
        (VisibilityLevel.INTERNAL, {"admin", "alice", "bob", "unit"}),
        (VisibilityLevel.PRIVATE, {"alice", "unit"}),
    ],
)
def test_get_node_follows_visibility(
    client: TestClient, world: World, level: VisibilityLevel, allowed: set[str]
) -> None:
    world.set_node("alice_out", visibility_level=level)
    for agent in AGENTS:
        expected = 200 if agent in allowed else 403
        assert get_node(client, world, "alice_out", agent) == expected, agent
    body = client.get(f"{NODES}/{world.node('alice_out')}", headers=world.headers("alice")).json()
    assert body["uuid"] == world.node("alice_out")
    assert body["type"] == "Output"
    assert body["topic_name"] == "temp/pepeunit"
    assert body["unit_uuid"] == str(world.actors.unit_uuid)
    assert body["creator_uuid"] == str(world.actors.alice_uuid)
    assert body["max_connections"] == 10


def test_get_node_bad_and_unknown_uuids(client: TestClient, world: World) -> None:
    assert client.get(f"{NODES}/{uuid4()}", headers=world.headers("alice")).status_code == 404
    response = client.get(f"{NODES}/not-a-uuid", headers=world.headers("alice"))
    assert response.status_code == 422


def test_list_nodes_filters_and_visibility(client: TestClient, world: World) -> None:
    world.set_node("alice_in", visibility_level=VisibilityLevel.INTERNAL)
    world.set_node("alice_raw", visibility_level=VisibilityLevel.PRIVATE)

    def listed(agent: str, **params: object) -> set[str]:
        response = client.get(NODES, params=params, headers=world.headers(agent))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] >= len(body["unit_nodes"])
        names = {value: key for key, value in world.nodes.items()}
        return {names[UUID(node["uuid"])] for node in body["unit_nodes"]}

    everything = set(NODE_SPECS)
    assert listed("alice") == everything
    assert listed("unit") == everything  # its own Private node
    assert listed("bob") == everything - {"alice_raw"}
    assert listed("anonymous") == everything - {"alice_raw", "alice_in"}
    assert listed("bob", visibility_level="Private") == set()
    assert listed("alice", visibility_level=["Private", "Internal"]) == {"alice_raw", "alice_in"}
    assert listed("alice", unit_uuid=str(world.bob_unit)) == {"bob_out", "bob_in"}
    assert listed("alice", type="Input") == {"alice_in", "alice_raw", "bob_in"}
    assert listed("alice", search_string="pepe UMP") == {"alice_in"}
    assert listed("alice", search_string="%") == set()
    chosen = [world.node("alice_out"), world.node("bob_in")]
    assert listed("alice", uuids=chosen) == {"alice_out", "bob_in"}
    assert listed("alice", unit_node_uuids=chosen) == {"alice_out", "bob_in"}

    page = client.get(NODES, params={"limit": 2, "offset": 1}, headers=world.headers("alice"))
    assert page.json()["count"] == len(NODE_SPECS)
    assert len(page.json()["unit_nodes"]) == 2

    edge = {"node_output_uuid": world.node("alice_out"), "node_input_uuid": world.node("bob_in")}
    created = client.post(f"{NODES}/create_unit_node_edge", json=edge, headers=world.headers("bob"))
    assert created.status_code == 201, created.text
    assert listed("anonymous", output_uuid=world.node("alice_out")) == {"bob_in"}
    assert listed("anonymous", output_uuid=world.node("bob_out")) == set()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 501},
        {"limit": -1},
        {"offset": -1},
        {"type": "Sideways"},
        {"visibility_level": "Secret"},
        {"unit_uuid": "nope"},
        {"output_uuid": "nope"},
        {"search_string": "a\x00b"},
        {"search_string": "x" * 300},
        {"order_by_create_date": "up"},
    ],
)
def test_list_nodes_rejects_bad_filters(client: TestClient, world: World, params: dict) -> None:
    response = client.get(NODES, params=params, headers=world.headers("alice"))
    assert response.status_code == 422, params


STORED_CONFIG = {
    "active_period": {"type": "Permanent", "start": None, "end": None},
    "filters": {
        "type_input_value": "Number",
        "type_value_filtering": None,
        "filtering_values": None,
        "type_value_threshold": None,
        "threshold_min": None,
        "threshold_max": None,
        "max_rate": 5,
        "last_unique_check": False,
        "max_size": 100,
    },
    "transformations": None,
    "processing_policy": {
        "policy_type": "NRecords",
        "n_records_count": 10,
        "time_window_size": None,
        "aggregation_functions": None,
    },
}
CONFIG_AS_WRITTEN = {
    "active_period": {"type": "Permanent"},
    "filters": {"type_input_value": "Number", "max_rate": 5, "last_unique_check": False,
                "max_size": 100},
    "processing_policy": {"policy_type": "NRecords", "n_records_count": 10},
}  # fmt: skip


def read_pipe(client: TestClient, world: World, name: str) -> tuple[str, str | None, str | None]:
    body = client.get(f"{NODES}/{world.node(name)}", headers=world.headers("alice")).json()
    return body["data_pipe_status"], body["data_pipe_error"], body["data_pipe_yml"]


def test_pipeline_status_follows_what_the_dataflow_runs(client: TestClient, world: World) -> None:
    """Issue 12.10: an active, valid pipeline read `Inactive` (the stored column a writer left
    at its default), and `data_pipe_yml` held the stored JSON."""
    stored = json.dumps(STORED_CONFIG, separators=(",", ":"))
    world.set_node("alice_out", is_data_pipe_active=True, data_pipe_yml=stored)
    status, error, text = read_pipe(client, world, "alice_out")
    assert (status, error) == ("Active", None)
    assert text is not None and not text.lstrip().startswith("{"), text
    assert yaml.safe_load(text) == CONFIG_AS_WRITTEN
    assert list(yaml.safe_load(text)) == ["active_period", "filters", "processing_policy"]

    world.set_node("alice_out", is_data_pipe_active=False)
    assert read_pipe(client, world, "alice_out")[:2] == ("Inactive", None)

    broken = json.dumps({**STORED_CONFIG, "filters": {**STORED_CONFIG["filters"], "max_rate": -1}})
    world.set_node("alice_out", is_data_pipe_active=True, data_pipe_yml=broken)
    status, error, text = read_pipe(client, world, "alice_out")
    assert status == "Error" and error is not None and "max_rate" in error, error
    assert yaml.safe_load(text or "")["filters"]["max_rate"] == -1

    world.set_node("alice_out", data_pipe_yml=None)
    assert read_pipe(client, world, "alice_out") == (
        "Error", "The data pipe is active but has no config", None
    )  # fmt: skip
    listed = client.get(
        NODES, params={"uuids": [world.node("alice_out")]}, headers=world.headers("alice")
    ).json()["unit_nodes"]
    assert [node["data_pipe_status"] for node in listed] == ["Error"]


def test_switching_a_pipeline_stores_its_status(client: TestClient, world: World) -> None:
    stored = json.dumps(STORED_CONFIG)
    world.set_node("alice_out", data_pipe_yml=stored)
    url = f"{NODES}/{world.node('alice_out')}"
    for active, expected in ((True, "Active"), (False, "Inactive")):
        response = client.patch(
            url, json={"is_data_pipe_active": active}, headers=world.headers("alice")
        )
        assert response.status_code == 200, response.text
        assert response.json()["data_pipe_status"] == expected
        with world.app.state.context.session_factory() as session:
            node = session.get_one(UnitNode, world.nodes["alice_out"])
            assert (node.data_pipe_status, node.data_pipe_error) == (expected, None)


# --- updates ----------------------------------------------------------------------------------


def test_only_the_creator_updates_a_node(client: TestClient, world: World) -> None:
    url = f"{NODES}/{world.node('alice_in')}"
    for agent in ["anonymous", "admin", "bob", "unit"]:
        response = client.patch(url, json={"max_connections": 3}, headers=world.headers(agent))
        assert response.status_code in (401, 403), agent
        assert response.json()["detail"].startswith(NO_ACCESS), agent
    response = client.patch(
        url,
        json={"max_connections": 3, "is_rewritable_input": True, "visibility_level": "Private"},
        headers=world.headers("alice"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["max_connections"], body["is_rewritable_input"]) == (3, True)
    assert body["visibility_level"] == "Private"
    unknown = client.patch(f"{NODES}/{uuid4()}", json={}, headers=world.headers("alice"))
    assert unknown.status_code == 404


def test_update_rules(client: TestClient, world: World) -> None:
    alice = world.headers("alice")
    with world.app.state.context.session_factory() as session:
        session.execute(
            update(Unit)
            .where(Unit.uuid == world.actors.unit_uuid)
            .values(visibility_level=VisibilityLevel.INTERNAL)
        )
        session.commit()
    world.set_node("alice_out", visibility_level=VisibilityLevel.INTERNAL)

    def patch(name: str, body: object) -> tuple[int, str]:
        response = client.patch(f"{NODES}/{world.node(name)}", json=body, headers=alice)
        return response.status_code, response.text

    status, text = patch("alice_out", {"visibility_level": "Public"})
    assert status == 422 and NODE_ERROR in text
    status, text = patch("alice_out", {"is_rewritable_input": True})
    assert status == 422 and NODE_ERROR in text
    status, text = patch("alice_raw", {"is_data_pipe_active": True})
    assert status == 422 and NODE_ERROR in text
    for bad in [{"max_connections": 0}, {"max_connections": "many"}, {"visibility_level": "X"}]:
        assert patch("alice_out", bad)[0] == 422, bad
    assert patch("alice_out", [1, 2])[0] == 422

    before = world.version()
    assert patch("alice_out", {"max_connections": 5})[0] == 200
    assert world.version() == before  # nothing the dataflow reads
    status, text = patch("alice_out", {"is_data_pipe_active": True})
    assert status == 200 and '"is_data_pipe_active":true' in text
    assert world.version() == before + 1
    assert patch("alice_out", {"is_data_pipe_active": True})[0] == 200
    assert world.version() == before + 1  # unchanged
    assert patch("alice_out", {"is_data_pipe_active": False})[0] == 200
    assert world.version() == before + 2


# --- set_state_input --------------------------------------------------------------------------


def test_set_state_input(client: TestClient, world: World) -> None:
    def set_state(name: str, agent: str, state: object = "42") -> int:
        return client.patch(
            f"{NODES}/set_state_input/{world.node(name)}",
            json={"state": state},
            headers=world.headers(agent),
        ).status_code

    assert set_state("alice_in", "anonymous") == 403
    assert set_state("alice_in", "bob") == 200
    assert set_state("alice_in", "alice", "on") == 200
    body = client.get(f"{NODES}/{world.node('alice_in')}", headers=world.headers("alice")).json()
    assert body["state"] == "on"
    assert set_state("alice_in", "unit") == 403  # not rewritable
    world.set_node("alice_in", is_rewritable_input=True)
    assert set_state("alice_in", "unit", "7") == 200
    assert set_state("alice_out", "alice") == 422  # an Output node
    world.set_node("bob_in", visibility_level=VisibilityLevel.PRIVATE, is_rewritable_input=True)
    assert set_state("bob_in", "alice") == 403
    assert set_state("bob_in", "unit") == 403  # another unit's Private node
    assert set_state("alice_in", "alice", "a\x00b") == 422
    assert set_state("alice_in", "alice", "x" * 70000) == 422
    assert set_state("alice_in", "alice", {"nested": 1}) == 422
    missing = client.patch(
        f"{NODES}/set_state_input/{uuid4()}", json={"state": "1"}, headers=world.headers("alice")
    )
    assert missing.status_code == 404
    body = client.get(f"{NODES}/{world.node('alice_in')}", headers=world.headers("alice")).json()
    assert body["state"] == "7"


# --- edges ------------------------------------------------------------------------------------


def create_edge(client: TestClient, world: World, output: str, input_: str, agent: str):
    body = {"node_output_uuid": world.node(output), "node_input_uuid": world.node(input_)}
    return client.post(f"{NODES}/create_unit_node_edge", json=body, headers=world.headers(agent))


def delete_edge(client: TestClient, world: World, output: str, input_: str, agent: str):
    params = {"output_uuid": world.node(output), "input_uuid": world.node(input_)}
    return client.delete(
        f"{NODES}/delete_unit_node_edge", params=params, headers=world.headers(agent)
    )


def test_edge_create_rules_and_side_effects(client: TestClient, world: World) -> None:
    for agent in ["anonymous", "unit"]:
        assert create_edge(client, world, "alice_out", "bob_in", agent).status_code == 403
    for output, input_ in [("alice_in", "bob_in"), ("alice_out", "bob_out")]:
        response = create_edge(client, world, output, input_, "bob")
        assert response.status_code == 422 and NODE_ERROR in response.text
    world.set_node("alice_out", visibility_level=VisibilityLevel.PRIVATE)
    assert create_edge(client, world, "alice_out", "bob_in", "bob").status_code == 403
    world.set_node("alice_out", visibility_level=VisibilityLevel.PUBLIC)

    before = world.version()
    response = create_edge(client, world, "alice_out", "bob_in", "bob")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"uuid", "node_output_uuid", "node_input_uuid"}
    assert body["node_output_uuid"] == world.node("alice_out")
    assert world.version() == before + 1
    alice_unit, bob_unit = world.actors.unit_uuid, world.bob_unit
    assert {
        (PermissionEntity.UNIT_NODE, world.nodes["bob_in"]),
        (PermissionEntity.UNIT, bob_unit),
    } <= world.unit_permissions(alice_unit)
    assert (PermissionEntity.UNIT_NODE, world.nodes["alice_out"]) in world.unit_permissions(
        bob_unit
    )

    duplicate = create_edge(client, world, "alice_out", "bob_in", "alice")
    assert duplicate.status_code == 422 and "already exists" in duplicate.text
    assert world.version() == before + 1

    for bad in [{}, {"node_output_uuid": "x", "node_input_uuid": "y"}, [1]]:
        response = client.post(
            f"{NODES}/create_unit_node_edge", json=bad, headers=world.headers("bob")
        )
        assert response.status_code == 422, bad
    unknown = {"node_output_uuid": str(uuid4()), "node_input_uuid": world.node("bob_in")}
    response = client.post(
        f"{NODES}/create_unit_node_edge", json=unknown, headers=world.headers("bob")
    )
    assert response.status_code == 404


def test_edge_max_connections(client: TestClient, world: World) -> None:
    world.set_node("bob_in", max_connections=1)
    assert create_edge(client, world, "alice_out", "bob_in", "alice").status_code == 201
    response = create_edge(client, world, "alice_out2", "bob_in", "alice")
    assert response.status_code == 422 and "connections" in response.text

    world.set_node("bob_out", max_connections=1)
    assert create_edge(client, world, "bob_out", "alice_in", "alice").status_code == 201
    response = create_edge(client, world, "bob_out", "alice_raw", "alice")
    assert response.status_code == 422 and "connections" in response.text

    # Freeing a slot makes room again.
    assert delete_edge(client, world, "alice_out", "bob_in", "bob").status_code == 204
    assert create_edge(client, world, "alice_out2", "bob_in", "alice").status_code == 201


def test_edge_delete_rules(client: TestClient, world: World) -> None:
    # bob links his output to alice's input: bob created the edge, alice the input node.
    assert create_edge(client, world, "bob_out", "alice_in", "bob").status_code == 201
    assert create_edge(client, world, "bob_out", "alice_raw", "bob").status_code == 201
    # alice links her output to bob's input: only alice (edge) and bob (input) may delete.
    assert create_edge(client, world, "alice_out", "bob_in", "alice").status_code == 201

    for agent in ["anonymous", "unit", "admin"]:
        response = delete_edge(client, world, "bob_out", "alice_in", agent)
        assert response.status_code == 403, agent
    bob_unit = world.bob_unit
    assert (PermissionEntity.UNIT_NODE, world.nodes["alice_in"]) in world.unit_permissions(bob_unit)
    before = world.version()
    assert delete_edge(client, world, "bob_out", "alice_in", "bob").status_code == 204  # edge
    assert delete_edge(client, world, "bob_out", "alice_raw", "alice").status_code == 204  # input
    assert world.version() == before + 2
    permissions = world.unit_permissions(bob_unit)
    assert (PermissionEntity.UNIT_NODE, world.nodes["alice_in"]) not in permissions
    assert (PermissionEntity.UNIT_NODE, world.nodes["alice_raw"]) not in permissions

    listed = client.get(NODES, params={"output_uuid": world.node("bob_out")}).json()
    assert listed == {"count": 0, "unit_nodes": []}
    assert delete_edge(client, world, "bob_out", "alice_in", "bob").status_code == 404
    response = client.delete(
        f"{NODES}/delete_unit_node_edge",
        params={"output_uuid": "x", "input_uuid": world.node("bob_in")},
        headers=world.headers("alice"),
    )
    assert response.status_code == 422
    assert (
        client.delete(f"{NODES}/delete_unit_node_edge", headers=world.headers("alice")).status_code
        == 422
    )


def test_edges_go_when_a_node_goes(client: TestClient, world: World) -> None:
    assert create_edge(client, world, "alice_out", "bob_in", "alice").status_code == 201
    with world.app.state.context.session_factory() as session:
        node = session.get(UnitNode, world.nodes["bob_in"])
        session.delete(node)
        session.commit()
    listed = client.get(NODES, params={"output_uuid": world.node("alice_out")}).json()
    assert listed["count"] == 0
    assert create_edge(client, world, "alice_out", "bob_in", "alice").status_code == 404
