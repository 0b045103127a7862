"""Bad input on every GraphQL field, by every actor: documents generated from the schema
(hypothesis-graphql), valid ones with values chosen to hurt and invalid ones, are answered
with data or a GraphQL error, never a 5xx nor a masked "500: Internal Server Error"
(docs/graphql.md#errors).

Values: UUIDs are the world's own (so calls reach deep into the services), unknown ones and
garbage; strings include NUL and 1 MB; DateTimes span the calendar. Which actor sends a
document is drawn too, so refusals and successes are both exercised. The world is this file's
own: generated mutations may change or delete anything in it.
"""

import uuid

import pytest
from graphql import GraphQLSchema, build_client_schema, get_introspection_query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from tests.control_plane import test_access_matrix as matrix
from tests.control_plane.test_access_matrix import ACTORS, World, wait_for_background_work
from tests.control_plane.test_graphql_access_matrix import (
    BEYOND_1X,
    GRAPHQL,
    MUTATION_FIELDS,
    QUERY_FIELDS,
)

EXAMPLES_PER_FIELD = 12
NASTY_TEXT = ["", "\x00", "../" * 50, "%2e%2e%2f", "x" * 1_000_000, "{", "'; DROP TABLE units"]


@pytest.fixture(scope="module", params=matrix.BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with matrix.build_world(request, tmp_path_factory.mktemp("graphql-bad-input")) as built:
        yield built


@pytest.fixture(scope="module")
def schema(world: World) -> GraphQLSchema:
    introspection = world.client.post(GRAPHQL, json={"query": get_introspection_query()})
    return build_client_schema(introspection.json()["data"])


def _scalars(world: World) -> dict[str, st.SearchStrategy]:
    known = sorted(value for value in world.ids.values() if _is_uuid(value))
    uuids = st.one_of(
        st.sampled_from(known),
        st.uuids().map(str),
        st.sampled_from(["", "not-a-uuid", "0" * 32, "{" + known[0] + "}", "\x00"]),
    )
    datetimes = st.one_of(
        st.datetimes().map(lambda moment: moment.isoformat()),
        st.sampled_from(["", "yesterday", "9999-12-31T23:59:59+14:00", "0001-01-01"]),
    )
    return {
        "UUID": uuids.map(nodes.String),
        "DateTime": datetimes.map(nodes.String),
        "Upload": st.sampled_from(NASTY_TEXT[:4]).map(nodes.String),
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def _documents(schema: GraphQLSchema, world: World, name: str) -> st.SearchStrategy:
    root = schema.query_type if name in schema.query_type.fields else schema.mutation_type
    # Invalid documents need an argument to get wrong.
    modes = (Mode.POSITIVE, Mode.NEGATIVE) if root.fields[name].args else (Mode.POSITIVE,)
    strategies = [
        from_schema(schema, fields=[name], custom_scalars=_scalars(world), mode=mode)
        for mode in modes
    ]
    return st.one_of(strategies)


def _check(world: World, document: str, actor: str) -> None:
    response = world.client.post(GRAPHQL, json={"query": document}, headers=world.headers[actor])
    wait_for_background_work()
    outcome = (actor, document[:300], response.text[:300])
    assert response.status_code in (200, 400, 413), outcome
    if response.status_code != 200:
        return
    for error in response.json().get("errors") or []:
        assert not error["message"].startswith("500"), outcome
        assert "Traceback" not in error["message"], outcome


FIELDS = sorted(QUERY_FIELDS | MUTATION_FIELDS | set(BEYOND_1X))


@pytest.mark.parametrize("name", FIELDS)
def test_a_generated_document_never_breaks_the_server(
    world: World, schema: GraphQLSchema, name: str
) -> None:
    @settings(
        max_examples=EXAMPLES_PER_FIELD,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def attempt(data: st.DataObject) -> None:
        document = data.draw(_documents(schema, world, name))
        actor = data.draw(st.sampled_from(ACTORS))
        _check(world, str(document), actor)

    attempt()
