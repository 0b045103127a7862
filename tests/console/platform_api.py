"""The Admin's calls to a running platform's API, for the browser tests that set up units
before the console is opened."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from tests.console.console_client import PASSWORD
from tests.control_plane_registry.git_sources import SourceRepository

ApiCall = Callable[..., dict]


@contextmanager
def admin_api(api: str) -> Iterator[ApiCall]:
    """`call(method, url, **httpx arguments)` as the Admin: the JSON answer ({} for none); a
    refusal fails the test with its text."""
    with httpx.Client(base_url=api, timeout=60) as http:
        token = http.post("/users/auth", json={"credentials": "admin", "password": PASSWORD})
        http.headers["x-auth-token"] = token.json()["token"]

        def call(method: str, url: str, **kwargs: object) -> dict:
            answer = http.request(method, url, **kwargs)  # type: ignore[arg-type]
            assert answer.status_code < 300, f"{method} {url}: {answer.text}"
            return answer.json() if answer.content else {}

        yield call


def add_public_repo(call: ApiCall, source: SourceRepository) -> dict:
    """A registry of `source`, synced, and a Public repo "thermometers" on its main branch."""
    registry = call(
        "POST", "/repository_registry",
        json={"platform": "Github", "repository_url": source.url, "is_public_repository": True},
    )  # fmt: skip
    call("PATCH", f"/repository_registry/update_local_repository/{registry['uuid']}")
    return call(
        "POST", "/repos",
        json={"repository_registry_uuid": registry["uuid"], "default_branch": "main",
              "visibility_level": "Public", "name": "thermometers"},
    )  # fmt: skip
