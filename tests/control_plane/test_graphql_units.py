"""Units over GraphQL (docs/graphql.md#units-unit-nodes-and-datapipe): every field answers what
its REST twin answers on the same data, refuses whom REST refuses, and `getUnits` includes
nodes only when `unitNodes` is selected, with one query for the nodes of a whole page."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from pepeunit_core.db.enums import UnitNodeType
from pepeunit_core.db.models import User
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit

from .conftest import Actors
from .graphql_support import assert_same, data, refusal, upload
from .test_units_api import UNITS, World, created, pinned, settings, source, world

__all__ = ["settings", "source", "world"]  # the fixtures of the REST twin's tests

NODE_FIELDS = "uuid type visibilityLevel topicName isDataPipeActive createDatetime unitUuid"
UNIT_FIELDS = """uuid visibilityLevel name createDatetime isAutoUpdateFromRepoUnit
    targetFirmwarePlatform repoBranch repoCommit currentCommitVersion lastUpdateDatetime
    creatorUuid repoUuid firmwareUpdateStatus firmwareUpdateError lastFirmwareUpdateDatetime
    unitState { ifconfig millis memFree memAlloc freq statvfs puCommitVersion }"""
GET_UNIT = f"""query($uuid: UUID!) {{
    getUnit(uuid: $uuid) {{ __typename {UNIT_FIELDS} unitNodes {{ uuid }} }} }}"""
CREATE = f"""mutation($unit: UnitCreateInput!) {{
    createUnit(unit: $unit) {{ {UNIT_FIELDS} unitNodes {{ uuid }} }} }}"""
UPDATE = f"""mutation($uuid: UUID!, $unit: UnitUpdateInput!) {{
    updateUnit(uuid: $uuid, unit: $unit) {{ {UNIT_FIELDS} }} }}"""
# Orders given explicitly: 1.x's GraphQL defaults (name asc, last update desc) are not REST's.
ORDER = {"orderByUnitName": "asc", "orderByCreateDate": "desc", "orderByLastUpdate": "desc"}
REST_ORDER = {
    "order_by_unit_name": "asc",
    "order_by_create_date": "desc",
    "order_by_last_update": "desc",
}


def rest(client: TestClient, path: str, headers: dict, **params: Any) -> Any:
    response = client.get(f"{UNITS}{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_create_get_and_update_answer_as_rest(client: TestClient, world: World, source):
    alice, bob = world.headers("alice"), world.headers("bob")
    unit_input = {
        "repoUuid": world.repos["Public"],
        "visibilityLevel": "INTERNAL",
        "name": "greenhouse",
        "isAutoUpdateFromRepoUnit": False,
        "repoBranch": "nodes",
        "repoCommit": source.first,
    }
    made = data(client, CREATE, alice, unit=unit_input)
    assert made["unitNodes"] == [] and made["visibilityLevel"] == "INTERNAL"
    twin = rest(client, f"/{made['uuid']}", alice)
    assert len(twin["unit_nodes"]) == 4
    assert_same(made, twin | {"unit_nodes": []})

    read = data(client, GET_UNIT, bob, uuid=made["uuid"])
    assert read["__typename"] == "UnitType" and read["unitNodes"] == []
    assert_same(read, rest(client, f"/{made['uuid']}", bob) | {"unit_nodes": []})

    changed = data(client, UPDATE, alice, uuid=made["uuid"], unit={"name": "orangery"})
    assert changed["name"] == "orangery"
    assert_same(changed, rest(client, f"/{made['uuid']}", alice))

    # Refusals carry REST's status: bob may not change alice's unit, a bad name is a 422.
    rest_refusal = client.patch(f"{UNITS}/{made['uuid']}", json={"name": "bobs"}, headers=bob)
    refused = refusal(client, UPDATE, bob, uuid=made["uuid"], unit={"name": "bobs"})
    assert refused["status"] == rest_refusal.status_code == 403
    assert refused["message"] == rest_refusal.json()["detail"]
    bad_name = refusal(client, UPDATE, alice, uuid=made["uuid"], unit={"name": "a" * 300})
    assert bad_name["status"] == 422 and bad_name["message"].startswith("422: ")
    assert "unit.name" in bad_name["message"]
    missing = refusal(client, GET_UNIT, alice, uuid="00000000-0000-0000-0000-000000000000")
    assert missing["status"] == 404


UNITS_WITH_NODES = """query($filters: UnitFilterInput!) { getUnits(filters: $filters) {
    __typename count units { uuid name %s } } }"""
SELECTIONS = {
    "plain": f"unitNodes {{ {NODE_FIELDS} }}",
    "alias": f"nodes: unitNodes {{ {NODE_FIELDS} }}",
    "inline fragment": f"... on UnitType {{ unitNodes {{ {NODE_FIELDS} }} }}",
    "named fragment": "...WithNodes",
    "nested inline fragment": f"... on UnitType {{ ... {{ unitNodes {{ {NODE_FIELDS} }} }} }}",
}


@pytest.fixture
def linked(client: TestClient, world: World, source) -> dict[str, dict]:
    """Two units with nodes; an edge from `a`'s temp/pepeunit to `b`'s set/pepeunit."""
    units = {name: created(client, world, name, **pinned(source)) for name in ("unit-a", "unit-b")}
    nodes = {
        name: {(node["type"], node["topic_name"]): node["uuid"] for node in unit["unit_nodes"]}
        for name, unit in units.items()
    }
    edge = {
        "node_output_uuid": nodes["unit-a"][("Output", "temp/pepeunit")],
        "node_input_uuid": nodes["unit-b"][("Input", "set/pepeunit")],
    }
    response = client.post(
        f"{UNITS.rsplit('/', 1)[0]}/unit_nodes/create_unit_node_edge",
        json=edge,
        headers=world.headers("alice"),
    )
    assert response.status_code == 201, response.text
    return {"units": units, "edge": edge}


@pytest.mark.parametrize("selection", SELECTIONS)
def test_get_units_includes_nodes_when_selected(
    client: TestClient, world: World, linked: dict, selection: str
):
    bob = world.headers("bob")
    query = UNITS_WITH_NODES % SELECTIONS[selection]
    if selection == "named fragment":
        query += f"fragment WithNodes on UnitType {{ unitNodes {{ {NODE_FIELDS} }} }}"
    listed = data(client, query, bob, filters=ORDER)
    assert listed["__typename"] == "UnitsResultType"
    key = "nodes" if selection == "alias" else "unitNodes"
    # 1.x's default for unitNodeType is every type (REST's, when left out, is Output only).
    all_types = rest(
        client,
        "",
        bob,
        is_include_output_unit_nodes="true",
        unit_node_type=["Input", "Output"],
        **REST_ORDER,
    )
    # The actors' unit has no nodes; unit-a and unit-b have 2 Input and 2 Output nodes each.
    assert sorted(len(unit[key]) for unit in listed["units"]) == [0, 4, 4]
    assert_same(
        [{"uuid": unit["uuid"], "unitNodes": unit[key]} for unit in listed["units"]],
        [{"uuid": unit["uuid"], "unit_nodes": unit["unit_nodes"]} for unit in all_types["units"]],
    )
    assert all_types["count"] == listed["count"] == 3


def test_get_units_node_filters_mean_what_rest_means(
    client: TestClient, world: World, linked: dict
):
    alice = world.headers("alice")
    query = UNITS_WITH_NODES % f"unitNodes {{ {NODE_FIELDS} }}"
    without = data(client, UNITS_WITH_NODES % "", alice, filters=ORDER)
    assert without["count"] == 3
    assert all(unit.keys() == {"uuid", "name"} for unit in without["units"])
    edge = linked["edge"]
    cases = [
        ({"unitNodeType": ["OUTPUT"]}, {"unit_node_type": ["Output"]}),
        ({"unitNodeType": ["INPUT"]}, {"unit_node_type": ["Input"]}),
        (
            {"unitNodeUuids": [edge["node_output_uuid"]], "unitNodeType": ["OUTPUT"]},
            {"unit_node_uuids": [edge["node_output_uuid"]], "unit_node_type": ["Output"]},
        ),
        (
            {"unitNodeInputUuid": edge["node_input_uuid"], "unitNodeType": ["OUTPUT"]},
            {"unit_node_input_uuid": edge["node_input_uuid"], "unit_node_type": ["Output"]},
        ),
    ]
    for filters, params in cases:
        listed = data(client, query, alice, filters=ORDER | filters)
        twin = rest(client, "", alice, is_include_output_unit_nodes="true", **REST_ORDER, **params)
        assert_same(listed, twin)
    linked_only = data(
        client, query, alice, filters=ORDER | {"unitNodeInputUuid": edge["node_input_uuid"]}
    )
    assert [unit["name"] for unit in linked_only["units"]] == ["unit-a"]
    assert [node["uuid"] for node in linked_only["units"][0]["unitNodes"]] == [
        edge["node_output_uuid"]
    ]


def test_device_fields_answer_as_rest(client: TestClient, world: World, source, settings):
    alice, bob = world.headers("alice"), world.headers("bob")
    unit = created(client, world, "device", **pinned(source))
    uuid = unit["uuid"]

    env = data(client, "query($u: UUID!) { getUnitEnv(uuid: $u) }", alice, u=uuid)
    assert json.loads(env) == rest(client, f"/env/{uuid}", alice)
    schema = data(client, "query($u: UUID!) { getUnitCurrentSchema(uuid: $u) }", alice, u=uuid)
    assert json.loads(schema) == rest(client, f"/get_current_schema/{uuid}", alice)
    target = data(
        client,
        "query($u: UUID!) { getTargetVersion(uuid: $u) { __typename commit tag } }",
        alice,
        u=uuid,
    )
    assert target == {"__typename": "TargetVersionType"} | rest(
        client, f"/get_target_version/{uuid}", alice
    )

    set_state = (
        "mutation($u: UUID!, $s: String!) { setStateStorage(uuid: $u, state: $s) { isNone } }"
    )
    assert data(client, set_state, alice, u=uuid, s='{"a": 1}') == {"isNone": True}
    state = data(client, "query($u: UUID!) { getStateStorage(uuid: $u) }", alice, u=uuid)
    assert state == rest(client, f"/get_state_storage/{uuid}", alice) == '{"a": 1}'

    update_env = (
        "mutation($u: UUID!, $e: String!) { updateUnitEnv(uuid: $u, envJsonStr: $e) { isNone } }"
    )
    key = next(name for name in json.loads(env) if not name.startswith("PU_"))
    assert data(client, update_env, alice, u=uuid, e=json.dumps({key: "changed"})) == {
        "isNone": True
    }
    assert rest(client, f"/env/{uuid}", alice)[key] == "changed"
    reset = "mutation($u: UUID!) { resetUnitEnv(uuid: $u) { isNone } }"
    assert data(client, reset, alice, u=uuid) == {"isNone": True}
    assert rest(client, f"/env/{uuid}", alice)[key] != "changed"

    command = """mutation($u: UUID!, $c: BackendTopicCommand!) {
        sendCommandToInputBaseTopic(uuid: $u, command: $c) { isNone } }"""
    assert data(client, command, alice, u=uuid, c="UPDATE") == {"isNone": True}
    unlisted = client.post(
        f"{UNITS}/send_command_to_input_base_topic/{uuid}?command=SchemaUpdate", headers=alice
    )
    refused = refusal(client, command, alice, u=uuid, c="SCHEMA_UPDATE")
    assert refused == {"message": unlisted.json()["detail"], "status": unlisted.status_code}

    for query, variables, path in [
        ("query($u: UUID!) { getUnitEnv(uuid: $u) }", {"u": uuid}, f"/env/{uuid}"),
        (
            "query($u: UUID!) { getStateStorage(uuid: $u) }",
            {"u": uuid},
            f"/get_state_storage/{uuid}",
        ),
    ]:
        twin = client.get(f"{UNITS}{path}", headers=bob)
        assert refusal(client, query, bob, **variables)["status"] == twin.status_code == 403
    assert refusal(client, reset, world.headers("unit"), u=uuid)["status"] == 403
    assert refusal(client, update_env, alice, u=uuid, e="{not json")["status"] == (
        client.patch(
            f"{UNITS}/env/{uuid}", json={"env_json_string": "{not json"}, headers=alice
        ).status_code
    )

    delete = "mutation($u: UUID!) { deleteUnit(uuid: $u) { isNone } }"
    assert refusal(client, delete, bob, u=uuid)["status"] == 403
    assert data(client, delete, alice, u=uuid) == {"isNone": True}
    assert client.get(f"{UNITS}/{uuid}", headers=alice).status_code == 404


@contextmanager
def counted_statements(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = app.state.context.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_units(app: FastAPI, owner: UUID, numbers: range) -> None:
    """Units `bulk-<number>` of a new repo, with an Output and an Input node each."""
    with app.state.context.session_factory() as session:
        user = session.get_one(User, owner)
        repo = add_repo(session, user, add_registry(session, user))
        for number in numbers:
            unit = add_unit(session, user, repo, name=f"bulk-{number:03}")
            add_node(session, unit, UnitNodeType.OUTPUT, f"out-{number}/pepeunit")
            add_node(session, unit, UnitNodeType.INPUT, f"in-{number}/pepeunit")
        session.commit()


def test_nested_nodes_take_the_same_queries_for_10_and_100_units(
    client: TestClient, app: FastAPI, actors: Actors
):
    query = UNITS_WITH_NODES % f"unitNodes {{ {NODE_FIELDS} }}"
    alice = actors.headers["alice"]
    counts = []
    for added in (range(10), range(10, 100)):
        add_units(app, actors.alice_uuid, added)
        total = added.stop
        with counted_statements(app) as statements:
            listed = data(client, query, alice, filters={"limit": 100, "searchString": "bulk"})
        assert listed["count"] == total
        assert all(len(unit["unitNodes"]) == 2 for unit in listed["units"])
        counts.append(len(statements))
    assert 0 < counts[0] == counts[1], counts


TOML_TO_MD = "query($file: Upload!) { getConvertTomlToMd(file: $file) }"
PEPEUNIT_TOML = b"""
[general]
name = "Greenhouse | v2"
description = "Keeps plants alive"
hardware = ["ESP32", {name = "DS18B20", link = "https://example.com/ds"}]
authors = [{name = "Alice", email = "a@example.com"}]

[images]
wiring = ["https://example.com/1.png", 'https://example.com/x" onerror="alert(1)']

[env_description]
WIFI_SSID = "network name"

[installation]
steps = ["flash", "power on"]
"""


def test_convert_toml_to_md(client: TestClient, actors: Actors):
    alice = actors.headers["alice"]
    answer = upload(client, TOML_TO_MD, PEPEUNIT_TOML, alice, filename="pepeunit.toml").json()
    readme = answer["data"]["getConvertTomlToMd"]
    twin = client.post(
        f"{UNITS}/convert_toml_to_md",
        files={"file": ("pepeunit.toml", PEPEUNIT_TOML)},
        headers=alice,
    )
    assert twin.headers["content-type"].startswith("text/markdown")
    assert readme == twin.text
    assert readme.startswith("# Greenhouse \\| v2\n")
    assert "| Hardware | ESP32, [DS18B20](https://example.com/ds) |" in readme
    assert "| Authors | [Alice](mailto:a@example.com) |" in readme
    assert "## Wiring" in readme and 'x&quot; onerror=&quot;alert(1)"' in readme
    assert "## Env variable assignment" in readme and "| WIFI_SSID | network name |" in readme
    assert readme.endswith("## Installation\n\n1. flash\n2. power on\n")
    assert "## Video" not in readme  # absent sections are left out

    refusals = {
        "anonymous": (PEPEUNIT_TOML, {}, 403),
        "unit": (PEPEUNIT_TOML, actors.headers["unit"], 403),
        "too long": (b"#" * 10_001, alice, 422),
        "not UTF-8": (b"\xff\xfe", alice, 422),
        "not TOML": (b"[general\nname = 1", alice, 422),
        "too many items": (b"[general]\nhardware = [" + b'"x",' * 31 + b"]", alice, 422),
        "nested": (b"a = " + b"[" * 3000 + b"]" * 3000, alice, 422),
    }
    for case, (content, headers, status) in refusals.items():
        (error,) = upload(client, TOML_TO_MD, content, headers).json()["errors"]
        twin = client.post(
            f"{UNITS}/convert_toml_to_md", files={"file": ("p.toml", content)}, headers=headers
        )
        assert error["extensions"]["status"] == twin.status_code == status, (case, error)
        assert error["message"] == twin.json()["detail"], case
