"""Calling `/pepeunit/graphql` in tests and comparing its answers with REST's."""

import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi.testclient import TestClient

from control_plane.graphql import enums

GRAPHQL = "/pepeunit/graphql"

# Stored spelling -> GraphQL name, over every enum of the schema (`Public` -> `PUBLIC`).
_ENUM_NAMES = {
    member.value: member.name
    for enum in vars(enums).values()
    if isinstance(enum, type) and issubclass(enum, StrEnum)
    for member in enum
}


def gql(
    client: TestClient, query: str, headers: dict | None = None, **variables: Any
) -> dict[str, Any]:
    """The JSON answer of one operation (HTTP 200, as every GraphQL-level outcome)."""
    response = client.post(
        GRAPHQL, json={"query": query, "variables": variables}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


def data(client: TestClient, query: str, headers: dict | None = None, **variables: Any) -> Any:
    """The data of the only root field of a query that must succeed."""
    answer = gql(client, query, headers, **variables)
    assert "errors" not in answer, answer["errors"]
    (value,) = answer["data"].values()
    return value


def refusal(client: TestClient, query: str, headers: dict | None = None, **variables: Any) -> dict:
    """The only error of a refused query: `{message, status}`."""
    answer = gql(client, query, headers, **variables)
    (error,) = answer["errors"]
    return {"message": error["message"], "status": error["extensions"]["status"]}


def upload(
    client: TestClient,
    query: str,
    content: bytes,
    headers: dict | None = None,
    filename: str = "data.yaml",
    **variables: Any,
) -> Any:
    """A multipart request (the GraphQL multipart request spec) with `content` as `$file`."""
    operations = {"query": query, "variables": {**variables, "file": None}}
    return client.post(
        GRAPHQL,
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content)},
        headers=headers or {},
    )


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def assert_same(graphql: Any, rest: Any, where: str = "") -> None:
    """Every field REST answers (and GraphQL has) equal in the GraphQL answer: enums by their
    GraphQL names, date-times as the same instant, JSON text as the same document."""
    if isinstance(rest, dict):
        assert isinstance(graphql, dict), where
        shared = [key for key in rest if camel(key) in graphql]
        assert shared, f"{where}: nothing in common: {sorted(rest)} / {sorted(graphql)}"
        for key in shared:
            assert_same(graphql[camel(key)], rest[key], f"{where}.{key}")
    elif isinstance(rest, list):
        assert isinstance(graphql, list) and len(graphql) == len(rest), f"{where}: {graphql}"
        for number, (one, other) in enumerate(zip(graphql, rest, strict=True)):
            assert_same(one, other, f"{where}[{number}]")
    elif isinstance(rest, str) and graphql != rest:
        assert graphql in (_ENUM_NAMES.get(rest), _as_datetime(rest)), f"{where}: {graphql}!={rest}"
    else:
        assert graphql == rest, f"{where}: {graphql!r} != {rest!r}"


def _as_datetime(text: str) -> str | None:
    """`text` as Python's isoformat writes it, if it is a date-time."""
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        return None
