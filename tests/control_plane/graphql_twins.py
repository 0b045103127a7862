"""GraphQL calls and their REST twins side by side: a GraphQL answer is compared with what
REST answers for the same data, after REST's answer is put in GraphQL's terms (camelCase
keys, enum member names, DateTime as `isoformat()`)."""

import re
from datetime import datetime
from enum import Enum
from typing import Any

from fastapi.testclient import TestClient

from control_plane.graphql import enums

GRAPHQL = "/pepeunit/graphql"

_ENUM_KEYS = {
    "role",
    "status",
    "visibility_level",
    "platform",
    "sync_status",
    "type",
    "agent_type",
    "resource_type",
    # rollouts
    "target_kind",
    "offline_policy",
    "rollback_on_halt",
    "size_kind",
    "outcome",
    "from_status",
    "to_status",
}
"""REST fields whose values are enums in GraphQL (`data_pipe_status` stays a String)."""


def _graphql_names() -> dict[str, str]:
    """Stored value → GraphQL member name, over every enum of the schema (the same value has
    the same name in every enum that has it)."""
    names: dict[str, str] = {}
    for member_enum in vars(enums).values():
        is_in_schema = hasattr(member_enum, "__strawberry_definition__")
        if isinstance(member_enum, type) and issubclass(member_enum, Enum) and is_in_schema:
            for member in member_enum:
                assert names.setdefault(member.value, member.name) == member.name
    return names


GRAPHQL_NAMES = _graphql_names()


def camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda found: found.group(1).upper(), name)


def as_graphql(rest: Any, key: str | None = None) -> Any:
    """REST's JSON in GraphQL's terms."""
    if isinstance(rest, dict):
        return {camel(name): as_graphql(value, name) for name, value in rest.items()}
    if isinstance(rest, list):
        return [as_graphql(item, key) for item in rest]
    if isinstance(rest, str) and key in _ENUM_KEYS:
        return GRAPHQL_NAMES[rest]
    if isinstance(rest, str) and key is not None and key.endswith("_datetime"):
        return datetime.fromisoformat(rest).isoformat()
    return rest


def gql(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict | None = None,
) -> dict[str, Any]:
    """The JSON answer of a GraphQL request (always HTTP 200)."""
    response = client.post(
        GRAPHQL, json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


def data(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer
    return answer["data"]


def refusal_status(answer: dict[str, Any]) -> int:
    """The status of a refused root field (its one error); the field's data is null."""
    (error,) = answer["errors"]
    assert answer["data"] is None or all(value is None for value in answer["data"].values())
    assert error["message"].startswith(f"{error['extensions']['status']}: "), error
    return error["extensions"]["status"]


def selection(rest: dict[str, Any]) -> str:
    """A selection set asking for every field of REST's answer (nested objects included)."""
    parts = []
    for name, value in rest.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]
        parts.append(
            f"{camel(name)} {selection(value)}" if isinstance(value, dict) else camel(name)
        )
    return "{ __typename " + " ".join(parts) + " }"


def without_typenames(answer: Any) -> Any:
    if isinstance(answer, dict):
        return {k: without_typenames(v) for k, v in answer.items() if k != "__typename"}
    if isinstance(answer, list):
        return [without_typenames(item) for item in answer]
    return answer
