"""The schema is 1.x's (docs/graphql.md): `graphql_contract.json` holds 1.x's GraphQL contract
as facts (root fields with their arguments and types, object and input types with their
fields, enums with their values, the pipe-data union), and our schema must have each of them
exactly. Then every operation is driven once with valid input (the twins of
test_graphql_access_matrix.py, sent by an actor allowed to), selecting every field of the
answer's type, and the answer is checked against the contract: each object's `__typename`,
each value's type and nullability, enum values by name, UUIDs and DateTimes in 1.x's format.
"""

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, build_client_schema, get_introspection_query

from tests.control_plane.test_access_matrix import ROWS, Row, World, wait_for_background_work
from tests.control_plane.test_graphql_access_matrix import (
    BEYOND_1X,
    GRAPHQL,
    REST_ONLY,
    send,
    twin_of,
    world,  # noqa: F401  (the module's world fixture)
)

CONTRACT = json.loads((Path(__file__).parent / "graphql_contract.json").read_text())
SCALARS = {"String", "Int", "Float", "Boolean", "UUID", "DateTime", "Upload"}
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def schema(world: World) -> GraphQLSchema:  # noqa: F811
    introspection = world.client.post(GRAPHQL, json={"query": get_introspection_query()})
    return build_client_schema(introspection.json()["data"])


def test_the_schema_has_every_field_type_and_enum_of_the_contract(schema: GraphQLSchema):
    for root, fields in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for name, expected in CONTRACT[root].items():
            ours = fields.fields[name]
            assert str(ours.type) == expected["type"], name
            assert {arg: str(value.type) for arg, value in ours.args.items()} == expected["args"], (
                name
            )
    for kind in ("types", "inputs"):
        for name, expected in CONTRACT[kind].items():
            ours = schema.type_map[name]
            assert {field: str(value.type) for field, value in ours.fields.items()} == expected, (
                name
            )
    for name, values in CONTRACT["enums"].items():
        assert sorted(schema.type_map[name].values) == sorted(values), name
    for name, members in CONTRACT["unions"].items():
        assert sorted(member.name for member in schema.type_map[name].types) == sorted(members)


def _named(type_text: str) -> str:
    return type_text.strip("[]!")


def selection(type_text: str, depth: int = 3) -> str:
    """Every field of the type (and of the objects in it, `depth` levels down), with
    `__typename`; empty for scalars and enums."""
    name = _named(type_text)
    if name in CONTRACT["unions"]:
        parts = " ".join(
            f"... on {member} {selection(member, depth)}" for member in CONTRACT["unions"][name]
        )
        return f"{{ __typename {parts} }}"
    if name not in CONTRACT["types"]:
        return ""
    fields = []
    for field, field_type in CONTRACT["types"][name].items():
        inner = _named(field_type)
        if inner in CONTRACT["types"] or inner in CONTRACT["unions"]:
            if depth > 1:
                fields.append(f"{field} {selection(field_type, depth - 1)}")
        elif field == "state" and name == "AggregationType":
            fields.append("stateFloat: state")  # as 1.x's frontend selects it (overlap rule)
        else:
            fields.append(field)
    return "{ __typename " + " ".join(fields) + " }"


def check_value(type_text: str, value: Any, where: str) -> None:
    """`value` is what the contract's `type_text` allows."""
    if type_text.endswith("!"):
        assert value is not None, f"{where}: null for {type_text}"
        type_text = type_text[:-1]
    if value is None:
        return
    if type_text.startswith("["):
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            check_value(type_text[1:-1], item, f"{where}[{index}]")
        return
    name = type_text
    if name in CONTRACT["enums"]:
        assert value in CONTRACT["enums"][name], f"{where}: {value!r} not in {name}"
    elif name == "UUID":
        assert isinstance(value, str) and UUID_TEXT.fullmatch(value), f"{where}: {value!r}"
    elif name == "DateTime":
        assert isinstance(value, str), where
        datetime.fromisoformat(value)
    elif name in ("String", "Upload"):
        assert isinstance(value, str), where
    elif name == "Int":
        assert isinstance(value, int) and not isinstance(value, bool), where
        assert -(2**31) <= value < 2**31, where
    elif name == "Float":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
    elif name == "Boolean":
        assert isinstance(value, bool), where
    else:
        check_object(name, value, where)


def check_object(name: str, value: dict[str, Any], where: str) -> None:
    assert isinstance(value, dict), where
    typename = value["__typename"]
    if name in CONTRACT["unions"]:
        assert typename in CONTRACT["unions"][name], f"{where}: {typename}"
        name = typename
    assert typename == name, f"{where}: __typename {typename}, contract {name}"
    for field, field_type in CONTRACT["types"][name].items():
        key = "stateFloat" if (name, field) == ("AggregationType", "state") else field
        inner = _named(field_type)
        if key not in value:  # only objects below the selection's depth are left out
            assert inner in CONTRACT["types"] or inner in CONTRACT["unions"], f"{where}.{key}"
            continue
        check_value(field_type, value[key], f"{where}.{field}")


def _operation_rows() -> list[Row]:
    """One row per operation: the first row of each twin, sent by an actor it lets through."""
    seen: dict[str, Row] = {}
    for item in ROWS:
        if (item.method, item.route) in REST_ONLY or item.status >= 400:
            continue
        if twin_of(item).field in BEYOND_1X:  # not in 1.x's contract
            continue
        seen.setdefault(twin_of(item).field, item)
    return list(seen.values())


OPERATION_ROWS = _operation_rows()
OPERATION_IDS = [twin_of(item).field for item in OPERATION_ROWS]


@pytest.mark.parametrize(
    "item", OPERATION_ROWS, ids=[twin_of(item).field for item in OPERATION_ROWS]
)
def test_every_operation_answers_in_the_contracts_shape(world: World, item: Row) -> None:  # noqa: F811
    twin = twin_of(item)
    root = "mutation" if twin.mutation else "query"
    returned = CONTRACT[root][twin.field]["type"]
    full = dataclasses.replace(twin, selection=selection(returned))
    allowed = twin.ok if twin.ok is not None else item.ok
    actor = "owner" if "owner" in allowed else sorted(allowed)[0]
    response = send(world, item, full, world.headers[actor])
    wait_for_background_work()
    answer = response.json()
    assert response.status_code == 200 and not answer.get("errors"), answer
    check_value(returned, answer["data"][twin.field], twin.field)
