"""Schema-driven fuzzing (schemathesis) of every operation the OpenAPI document describes: no
5xx, and every response conforms to the document (a declared status code, a declared content
type and headers, a body that matches the declared schema).

It runs on PostgreSQL against the world of test_access_matrix.py (a registry cloned over
file://, repos, units, nodes, an edge), as a plain user and anonymously. Path uuids are, 3/4 of
the time, those of the world's objects of the path's kind, so requests reach past "not found".
Bounded: a few derandomised examples per operation (20), each request under 10 s, no shrinking;
the whole test takes about 30 s on 2 cores. `POST /repository_registry` is left out: its
generated URLs would make the server clone from arbitrary hosts (test_bad_input.py covers its
inputs).
"""

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .test_access_matrix import API, World, build_world

EXAMPLES_PER_OPERATION = int(os.environ.get("PEPEUNIT_FUZZ_EXAMPLES", "20"))
"""A deeper run: PEPEUNIT_FUZZ_EXAMPLES=200 (and a longer --timeout)."""
SLOW_REQUEST = timedelta(seconds=10)
ACTORS = ("owner", "anonymous")
SKIPPED = {"POST /pepeunit/api/v1/repository_registry"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
KNOWN_UUIDS = {
    "/repository_registry/": ("reg_public", "reg_private"),
    "/repos/": ("repo_public", "repo_internal", "repo_private", "repo_secret"),
    "/units/": ("unit_private", "unit_internal", "unit_public", "bob_unit"),
    "/unit_nodes/": ("out_private", "in_private", "out_public", "in_internal", "out_internal"),
    "/users/": ("owner", "admin", "other_user"),
}
"""The world's objects a path uuid takes, by the operation's path (others take any of them)."""


@pytest.fixture(scope="module", params=["postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with build_world(request, tmp_path_factory.mktemp("conformance")) as built:
        yield built


def operations(world: World) -> Iterator[Any]:
    document = world.client.get(f"{API}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label not in SKIPPED:
            yield operation


def send(world: World, case: Any, headers: dict[str, str]) -> httpx.Response:
    """The case's request as schemathesis would send it (encoded by `requests`, as its own
    transport does), through the suite's checked client."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    kwargs.pop("cookies", None)
    prepared = requests.Request(**kwargs).prepare()
    response = world.client.request(
        prepared.method or "GET",
        prepared.url or "",
        headers=dict(prepared.headers),
        content=prepared.body,
    )
    response.request.read()
    return response


def fuzz(world: World, operation: Any) -> str | None:
    """The first nonconforming response of `operation` (a description), or None."""
    failures: list[str] = []
    kinds = [names for prefix, names in KNOWN_UUIDS.items() if f"{API}{prefix}" in operation.path]
    names = kinds[0] if kinds else [name for names in KNOWN_UUIDS.values() for name in names]
    known = [world.ids[name] for name in names]

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        # No per-example deadline: timings on 2 shared cores make it flaky. The suite's
        # timeout (300 s) bounds it, and a request slower than SLOW_REQUEST fails it.
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), actor=st.sampled_from(ACTORS), data=st.data())
    def run(case: Any, actor: str, data: st.DataObject) -> None:
        if "uuid" in (case.path_parameters or {}) and data.draw(st.integers(0, 3)):
            case.path_parameters["uuid"] = data.draw(st.sampled_from(known))
        if failures:  # one is enough per operation; the others would be alike
            return
        for name in list(case.headers or {}):  # the actor's token, not a generated one
            if name.lower() in ("authorization", "x-auth-token"):
                del case.headers[name]
        headers = dict(world.headers[actor])
        answer = "no response"
        try:  # the client's own checks (conftest) raise too: no 5xx, a Content-Length, …
            started = time.monotonic()
            response = send(world, case, headers)
            took = time.monotonic() - started
            assert took < SLOW_REQUEST.total_seconds(), f"answered in {took:.1f} s"
            answer = f"{response.status_code} {response.text[:300]}"
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, FailureGroup) as error:  # every failure is reported below
            failures.append(
                f"{operation.label} as {actor} -> {answer}"
                f"\n  {type(error).__name__}: {str(error)[:1500]}"
                f"\n  {case.as_curl_command(headers=headers, base_url='http://testserver')}"
            )

    run()
    return failures[0] if failures else None


def test_every_response_conforms_to_the_openapi_document(world: World) -> None:
    found = [failure for operation in operations(world) if (failure := fuzz(world, operation))]
    assert not found, f"{len(found)} operation(s) answer outside their document:\n" + "\n".join(
        found
    )
