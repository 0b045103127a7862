"""The README's GraphQL examples, run as written: the query answers, the subscription streams
the unit's status over WebSocket, and the mutation is a valid operation of the schema."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from graphql import OperationDefinitionNode, parse, validate

from control_plane.graphql.schema import build_schema
from pepeunit_core.settings import Settings

from .conftest import Actors

ROOT = Path(__file__).resolve().parents[2]
GRAPHQL = "/pepeunit/graphql"


def readme_operations() -> dict[str, str]:
    """The README's ```graphql blocks by operation type (query, mutation, subscription)."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)```", readme, re.DOTALL)
    operations = {}
    for block in blocks:
        (definition,) = parse(block).definitions
        assert isinstance(definition, OperationDefinitionNode)
        operations[definition.operation.value] = block
    assert set(operations) == {"query", "mutation", "subscription"}
    return operations


def test_the_readme_query_answers(client: TestClient, actors: Actors):
    answer = client.post(GRAPHQL, json={"query": readme_operations()["query"]})
    assert answer.json() == {
        "data": {
            "getBaseMetrics": {"userCount": 3, "repoCount": 1, "unitCount": 1, "unitNodeCount": 0}
        }
    }


def test_the_readme_subscription_streams_the_units_status(client: TestClient, actors: Actors):
    subscription = readme_operations()["subscription"]
    with client.websocket_connect(GRAPHQL, subprotocols=["graphql-transport-ws"]) as socket:
        token = str(actors.headers["alice"]["x-auth-token"])
        socket.send_json({"type": "connection_init", "payload": {"x-auth-token": token}})
        assert socket.receive_json() == {"type": "connection_ack"}
        payload = {"query": subscription, "variables": {"uuid": str(actors.unit_uuid)}}
        socket.send_json({"id": "1", "type": "subscribe", "payload": payload})
        assert socket.receive_json() == {
            "id": "1",
            "type": "next",
            "payload": {
                "data": {
                    "unitState": {
                        "online": False,
                        "lastStateReportDatetime": None,
                        "unitState": None,
                    }
                }
            },
        }


def test_the_readme_mutation_is_valid(settings: Settings):
    schema = build_schema(settings)._schema
    if schema.mutation_type.fields.get("setStateUnitNodeInput") is None:
        pytest.skip("setStateUnitNodeInput comes with the unit node fields (issue 15)")
    assert validate(schema, parse(readme_operations()["mutation"])) == []
