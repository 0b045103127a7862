"""Who may call what, route by route (docs/compatibility.md#access-model with
docs/compatibility.md#permission-api-creator-only), over HTTP on
SQLite and PostgreSQL.

`ROWS` lists every route the app serves with, for each case, the actors that must succeed;
every other actor must be refused (401/403), except where a list answers but leaves the
resource out (`hidden`). `test_every_route_has_a_row` fails when a route has no row, so a new
route cannot ship without its access decision.

The world (a registry cloned over file://, repos, units with nodes, an edge, a pipeline
config, a log entry) is built once per backend; resources are alice's ("owner") and Private
where visibility matters, with Internal and Public variants where the reference says "vis".
Routes that change or delete what they touch get a fresh resource for every attempt.
`build_world` is shared with test_bad_input.py.

Decisions the table encodes, beyond the reference's matrix: units have no access to repos or
registries (although visibility lets them see Internal entities); the Backend agent reads
everything but changes nothing of users' (its own sync aside); a unit reads the DataPipe data
of its own nodes only (the reference lets any unit read any node's); the broker hook
(`POST /units/auth`) answers anyone, since the token it judges is in the body. Rows in
`KNOWN_BUGS` fail today and are expected to (strictly) until fixed.
"""

import itertools
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import clickhouse_connect
import fastapi.routing as fastapi_routing
import httpx
import pytest
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from control_plane.app import create_app
from control_plane.security import make_backend_token, make_unit_token, make_user_token
from control_plane.services.users.permissions import ensure_permission
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.enums import (
    PermissionEntity,
    RepositoryPlatform,
    UnitNodeType,
    UserStatus,
    VisibilityLevel,
)
from pepeunit_core.db.models import (
    Base,
    Dashboard,
    DashboardPanel,
    DataflowConfigVersion,
    PanelUnitNode,
    Repo,
    RepositoryRegistry,
    Unit,
    UnitNode,
    UnitNodeEdge,
    User,
)
from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_sources import UnitRepository
from tests.pepeunit_core.builders import add_node, add_repo, add_unit, add_user, short_name
from tests.services.clickhouse import migrated_chdb_database

from .conftest import (
    API,
    BACKENDS,
    CHEAP_ARGON2,
    PASSWORD,
    auth,
    checked_client,
    login_token,
    make_settings,
    register,
)

ACTORS = ("anonymous", "owner", "other_user", "admin", "unit", "other_unit", "backend")
"""owner = alice; other_user = bob; unit = alice's Private unit; other_unit = bob's unit;
backend = the instance's own token."""
USERS = frozenset({"owner", "other_user", "admin"})
UNITS = frozenset({"unit", "other_unit"})
EVERYONE = frozenset(ACTORS)
DEVICE = frozenset({"owner", "unit"})
"""The unit's creator or the unit itself (reference: "own" / "self")."""
OWNER = frozenset({"owner"})

NRECORDS_YAML = """
active_period: {type: Permanent}
filters: {type_input_value: Number, max_rate: 0, max_size: 32}
processing_policy: {policy_type: NRecords, n_records_count: 5}
"""
CSV_ROWS = "state,create_datetime\n1,2024-01-01 00:00:00\n"
ENV_EDIT = '{"WIFI_SSID": "home"}'


# --- the world --------------------------------------------------------------------------------


BACKGROUND_THREADS = ("bulk-firmware-update",)
"""Threads routes start (POST /repos/bulk_update); tests wait for them between requests, so
their writes never race a later check."""


def wait_for_background_work() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith(BACKGROUND_THREADS):
            thread.join(timeout=120)
            assert not thread.is_alive(), f"{thread.name} still runs"


@dataclass
class World:
    """The app on one backend, every actor's headers, and the named entities (`ids`)."""

    app: FastAPI
    client: TestClient
    settings: Settings
    clickhouse: Client
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]
    source: UnitRepository
    root: Path
    counter: Iterator[int] = field(default_factory=itertools.count)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.app.state.context.session_factory() as session:
            yield session

    def uuid(self, name: str) -> UUID:
        return UUID(self.ids[name])

    def fresh_source_url(self) -> str:
        """The source repository under a path of its own, so a registry can be made of it."""
        folder = self.root / "copies" / str(next(self.counter))
        shutil.copytree(self.source.source.bare, folder / "unit.git", symlinks=True)
        return (folder / "unit.git").as_uri()


def empty_database(url: str) -> None:
    """As conftest's `database_url`, for a database this module keeps for all its tests."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                if table is not DataflowConfigVersion.__table__:
                    connection.execute(delete(table))
            connection.execute(update(DataflowConfigVersion).values(version=0))
    finally:
        engine.dispose()


class RecordingPublisher:
    """Stands in for the MQTT broker: what the API publishes, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))


def _created(response: httpx.Response) -> str:
    assert response.status_code in (200, 201), response.text
    return response.json()["uuid"]


@contextmanager
def build_world(request: pytest.FixtureRequest, root: Path) -> Iterator[World]:
    """The world on the backend `request.param`, kept for one module."""
    database_url = request.getfixturevalue(f"migrated_{request.param}_url")
    empty_database(database_url)
    (root / "source").mkdir()
    source = UnitRepository(root / "source")
    with migrated_chdb_database(
        request.getfixturevalue("clickhouse_client"), request.getfixturevalue("clickhouse_path")
    ) as (_, dsn):
        settings = make_settings(
            database_url,
            save_repo_path=root / "repos",
            registry_allowed_url_schemes=("https", "file"),
            min_interval_sync_repository=0,
            clickhouse_database_url=dsn,
            metrics_cache_seconds=0,
        )
        app = create_app(settings, password_hasher=CHEAP_ARGON2, publisher=RecordingPublisher())
        with checked_client(app) as client:
            clickhouse = clickhouse_connect.get_client(dsn=dsn)
            try:
                world = World(app, client, settings, clickhouse, {}, {}, source, root)
                _populate(world)
                yield world
            finally:
                clickhouse.close()


def _populate(world: World) -> None:
    client, ids, headers = world.client, world.ids, world.headers
    secret = world.settings.resolved_secret_key
    for actor, login in (("admin", "admin"), ("owner", "alice"), ("other_user", "bobby")):
        ids[actor] = register(client, login)["uuid"]
        headers[actor] = auth(login_token(client, login))
    headers["anonymous"] = {}
    headers["backend"] = auth(make_backend_token(world.settings.domain, secret))
    alice, bob = headers["owner"], headers["other_user"]

    registry = {"platform": "Github", "repository_url": world.fresh_source_url()}
    ids["reg_public"] = _created(
        client.post(
            f"{API}/repository_registry",
            json=registry | {"is_public_repository": True},
            headers=alice,
        )
    )
    private = {
        "platform": "Gitlab",
        "repository_url": world.fresh_source_url(),
        "is_public_repository": False,
        "credentials": {"username": "robot", "pat_token": "glpat-token"},
    }
    ids["reg_private"] = _created(
        client.post(f"{API}/repository_registry", json=private, headers=alice)
    )
    for level in ("Private", "Internal", "Public"):
        body = {
            "repository_registry_uuid": ids["reg_public"],
            "default_branch": "main",
            "visibility_level": level,
            "name": f"repo-{level.lower()}",
        }
        ids[f"repo_{level.lower()}"] = _created(
            client.post(f"{API}/repos", json=body, headers=alice)
        )
    body = {
        "repository_registry_uuid": ids["reg_private"],
        "default_branch": "main",
        "visibility_level": "Private",
        "name": "repo-secret",
    }
    ids["repo_secret"] = _created(client.post(f"{API}/repos", json=body, headers=alice))
    for level in ("Private", "Internal", "Public"):
        body = {
            "repo_uuid": ids[f"repo_{level.lower()}"],
            "visibility_level": level,
            "name": f"unit-{level.lower()}",
        }
        ids[f"unit_{level.lower()}"] = _created(
            client.post(f"{API}/units", json=body, headers=alice)
        )
    body = {"repo_uuid": ids["repo_public"], "visibility_level": "Private", "name": "bob-unit"}
    ids["bob_unit"] = _created(client.post(f"{API}/units", json=body, headers=bob))
    rollout = ROLLOUT | {"repo_uuid": ids["repo_private"], "unit_uuids": [ids["unit_private"]]}
    ids["rollout"] = _created(client.post(f"{API}/rollouts", json=rollout, headers=alice))
    ids["unit_token"] = make_unit_token(world.uuid("unit_private"), secret)
    headers["unit"] = auth(ids["unit_token"])
    headers["other_unit"] = auth(make_unit_token(world.uuid("bob_unit"), secret))

    # Every unit has the nodes of schema_example.json at 1.0.0: set/pepeunit, temp/pepeunit.
    with world.session() as session:
        for level in ("private", "internal", "public"):
            for node in session.query(UnitNode).filter_by(unit_uuid=world.uuid(f"unit_{level}")):
                kind = "in" if node.type == UnitNodeType.INPUT else "out"
                ids[f"{kind}_{level}"] = str(node.uuid)
        for name in ("in_private", "in_public"):
            session.get_one(UnitNode, world.uuid(name)).is_rewritable_input = True
        session.commit()

    ids["own_topic"] = f"{world.settings.domain}/{ids['out_private']}/pepeunit"
    edge = {"node_output_uuid": ids["out_private"], "node_input_uuid": ids["in_internal"]}
    response = client.post(f"{API}/unit_nodes/create_unit_node_edge", json=edge, headers=alice)
    ids["edge"] = _created(response)
    response = client.post(
        f"{API}/unit_nodes/set_data_pipe_config",
        params={"uuid": ids["out_private"]},
        files={"data": ("config.yaml", NRECORDS_YAML)},
        headers=alice,
    )
    assert response.status_code == 204, response.text
    now = datetime.now(UTC)
    world.clickhouse.insert(
        "unit_logs",
        [[uuid4(), "Info", world.uuid("unit_private"), "booted", now, now + timedelta(days=1)]],
        column_names=[
            "uuid",
            "level",
            "unit_uuid",
            "text",
            "create_datetime",
            "expiration_datetime",
        ],
    )


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with build_world(request, tmp_path_factory.mktemp("access-matrix")) as built:
        yield built


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every API route the app serves (docs, OpenAPI, the console's
    pages and GraphQL aside: tests/console and test_graphql_access_matrix.py check those)."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)  # FastAPI ≥ 0.16x
    routes = contexts(app.routes) if contexts is not None else app.routes
    served = set()
    for route in routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and original.include_in_schema:
            served |= {(method, route.path) for method in route.methods}
    return served


# --- fresh resources, one per attempt ---------------------------------------------------------

Names = dict[str, str]
Fresh = Callable[[World], Names]


def _add(world: World, build: Callable[[Session], Any]) -> Names:
    with world.session() as session:
        names = build(session)
        session.commit()
    return names


def fresh_login(_world: World) -> Names:
    return {"name": short_name("user")}


def fresh_name(_world: World) -> Names:
    return {"name": short_name("new")}


def fresh_source(world: World) -> Names:
    return {"url": world.fresh_source_url()}


def fresh_user(*, blocked: bool = False) -> Fresh:
    def build(session: Session) -> Names:
        user = add_user(session)
        if blocked:
            user.status = UserStatus.BLOCKED
        return {"fresh": str(user.uuid)}

    return lambda world: _add(world, build)


def fresh_registry(*, public: bool) -> Fresh:
    """alice's registry at a URL nothing answers at (never cloned), under the allowed file://
    roots."""

    def fresh(world: World) -> Names:
        def build(session: Session) -> Names:
            registry = RepositoryRegistry(
                platform=RepositoryPlatform.GITLAB,
                repository_url=(Path(tempfile.gettempdir()) / f"{uuid4().hex}.git").as_uri(),
                is_public_repository=public,
                creator_uuid=world.uuid("owner"),
            )
            session.add(registry)
            session.flush()
            return {"fresh": str(registry.uuid)}

        return _add(world, build)

    return fresh


def _grant(session: Session, agent: PermissionEntity, agent_uuid: UUID, kind, uuid) -> None:
    ensure_permission(session, agent, agent_uuid, kind, uuid)


def fresh_repo(world: World) -> Names:
    """alice's Private repo without units."""

    def build(session: Session) -> Names:
        alice = session.get_one(User, world.uuid("owner"))
        registry = session.get_one(RepositoryRegistry, world.uuid("reg_public"))
        repo = add_repo(session, alice, registry)
        repo.visibility_level = VisibilityLevel.PRIVATE
        _grant(session, PermissionEntity.USER, alice.uuid, PermissionEntity.REPO, repo.uuid)
        return {"fresh": str(repo.uuid)}

    return _add(world, build)


def fresh_unit(world: World) -> Names:
    """alice's Private unit with a node, on her Private repo."""

    def build(session: Session) -> Names:
        alice = session.get_one(User, world.uuid("owner"))
        unit = add_unit(session, alice, session.get_one(Repo, world.uuid("repo_private")))
        unit.visibility_level = VisibilityLevel.PRIVATE
        node = add_node(session, unit, UnitNodeType.OUTPUT, "temp/pepeunit")
        node.visibility_level = VisibilityLevel.PRIVATE
        for kind, uuid in (
            (PermissionEntity.UNIT, unit.uuid),
            (PermissionEntity.UNIT_NODE, node.uuid),
        ):
            _grant(session, PermissionEntity.USER, alice.uuid, kind, uuid)
            _grant(session, PermissionEntity.UNIT, unit.uuid, kind, uuid)
        return {"fresh": str(unit.uuid)}

    return _add(world, build)


def fresh_rollout_repo(world: World) -> Names:
    """alice's Private repo with one unit of hers, in no rollout."""

    def build(session: Session) -> Names:
        alice = session.get_one(User, world.uuid("owner"))
        registry = session.get_one(RepositoryRegistry, world.uuid("reg_public"))
        repo = add_repo(session, alice, registry)
        repo.visibility_level = VisibilityLevel.PRIVATE
        add_unit(session, alice, repo)
        return {"fresh": str(repo.uuid)}

    return _add(world, build)


def fresh_rollout(world: World) -> Names:
    """A Pending rollout of alice's over a unit of a fresh repo of hers."""
    repo = fresh_rollout_repo(world)["fresh"]
    body = ROLLOUT | {"repo_uuid": repo}
    response = world.client.post(f"{API}/rollouts", json=body, headers=world.headers["owner"])
    return {"fresh": _created(response)}


def _node_on(session: Session, unit_uuid: UUID, node_type: UnitNodeType) -> UnitNode:
    unit = session.get_one(Unit, unit_uuid)
    node = add_node(session, unit, node_type, f"{short_name('topic')}/pepeunit")
    node.visibility_level = unit.visibility_level
    return node


def fresh_nodes(output_unit: str, input_unit: str) -> Fresh:
    """An Output node on one unit and an Input node on another, each at its unit's level."""

    def fresh(world: World) -> Names:
        def build(session: Session) -> Names:
            output = _node_on(session, world.uuid(output_unit), UnitNodeType.OUTPUT)
            input_ = _node_on(session, world.uuid(input_unit), UnitNodeType.INPUT)
            return {"out": str(output.uuid), "in": str(input_.uuid)}

        return _add(world, build)

    return fresh


def fresh_edge(output_unit: str, input_unit: str, creator: str) -> Fresh:
    """An edge between fresh nodes, created by `creator`."""
    nodes = fresh_nodes(output_unit, input_unit)

    def fresh(world: World) -> Names:
        names = nodes(world)
        edge = UnitNodeEdge(
            node_output_uuid=UUID(names["out"]),
            node_input_uuid=UUID(names["in"]),
            creator_uuid=world.uuid(creator),
        )
        _add(world, lambda session: session.add(edge))
        return names

    return fresh


def fresh_dashboard(*, panel: bool = False, link: bool = False) -> Fresh:
    """alice's dashboard (`dashboard`), with a panel (`panel`) showing her node out_private."""

    def fresh(world: World) -> Names:
        def build(session: Session) -> Names:
            alice = world.uuid("owner")
            dashboard = Dashboard(name=short_name("dash"), creator_uuid=alice)
            session.add(dashboard)
            session.flush()
            names = {"dashboard": str(dashboard.uuid), "name": short_name("panel")}
            if panel or link:
                made = DashboardPanel(
                    type="timeseries",
                    title="levels",
                    dashboard_uuid=dashboard.uuid,
                    creator_uuid=alice,
                )
                session.add(made)
                session.flush()
                names["panel"] = str(made.uuid)
                if link:
                    session.add(
                        PanelUnitNode(
                            unit_node_uuid=world.uuid("out_private"),
                            dashboard_panels_uuid=made.uuid,
                            creator_uuid=alice,
                        )
                    )
            return names

        return _add(world, build)

    return fresh


def owners_dashboard_listed(world: World, response: httpx.Response) -> bool:
    return any(item["creator_uuid"] == world.ids["owner"] for item in response.json()["dashboards"])


def granted(
    agent: str, agent_kind: PermissionEntity, resource: str, kind: PermissionEntity
) -> Fresh:
    """Makes sure `agent` holds a Permission on `resource` (an earlier attempt revoked it)."""

    def fresh(world: World) -> Names:
        def build(session: Session) -> Names:
            _grant(session, agent_kind, world.uuid(agent), kind, world.uuid(resource))
            return {}

        return _add(world, build)

    return fresh


# --- the table --------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(value: Any, names: Names) -> Any:
    """`value` with every string that is exactly `{name}` replaced by names[name]."""
    if isinstance(value, str):
        match = _PLACEHOLDER.fullmatch(value)
        return names[match.group(1)] if match else value
    if isinstance(value, dict):
        return {key: fill(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, names) for item in value]
    return value


@dataclass(frozen=True)
class Call:
    """A request with `{name}` placeholders (world ids, then the fresh resource's names)."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    files: dict[str, tuple[str, str]] | None = None
    fresh: Fresh | None = None

    def send(self, world: World, headers: dict[str, str]) -> httpx.Response:
        names = world.ids | (self.fresh(world) if self.fresh else {})
        path = _PLACEHOLDER.sub(lambda match: names[match.group(1)], self.path)
        return world.client.request(
            self.method,
            path,
            params=fill(self.params, names),
            json=fill(self.json, names),
            files=self.files,
            headers=headers,
        )


Shows = Callable[[World, httpx.Response], bool]


@dataclass(frozen=True)
class Row:
    method: str
    route: str
    """The route's path template, as the app serves it."""
    case: str
    call: Call
    ok: frozenset[str]
    """Actors that must get `status`; all others a refusal (401/403), but for `hidden`."""
    status: int = 200
    hidden: frozenset[str] = frozenset()
    """Actors a list answers (200) without the resource."""
    shows: Shows | None = None
    """For lists: is the resource in the answer (true for `ok`, false for `hidden`)."""

    @property
    def id(self) -> str:
        return f"{self.method} {self.route.removeprefix(API)} [{self.case}]"


def row(
    route: str,
    case: str,
    path: str,
    ok: frozenset[str],
    *,
    status: int = 200,
    hidden: frozenset[str] = frozenset(),
    shows: Shows | None = None,
    **request: Any,
) -> Row:
    """A row for `route` ("METHOD /template" under API), calling `path` (under API, with
    placeholders)."""
    method, template = route.split(" ")
    call = Call(method, API + path, **request)
    return Row(method, API + template, case, call, ok, status, hidden, shows)


def listed(key: str, name: str) -> Shows:
    return lambda world, response: (
        world.ids[name] in {item["uuid"] for item in response.json()[key]}
    )


def grant_body(resource: str, kind: str) -> dict[str, str]:
    return {
        "agent_uuid": "{fresh}",
        "agent_type": "User",
        "resource_uuid": "{" + resource + "}",
        "resource_type": kind,
    }


ANONYMOUS = frozenset({"anonymous"})
ADMIN = frozenset({"admin"})
SEE_PRIVATE_REPO = frozenset({"owner", "backend"})
SEE_PRIVATE_UNIT = frozenset({"owner", "unit", "backend"})
"""A Private unit or node: its creator, the unit itself (its own Permission row), the Backend."""
NOT_ANONYMOUS = EVERYONE - ANONYMOUS
NOBODY_ELSE = frozenset({"anonymous", "other_user", "admin", "other_unit"})
EDGE = {"node_output_uuid": "{out}", "node_input_uuid": "{in}"}
EDGE_QUERY = {"output_uuid": "{out}", "input_uuid": "{in}"}
CONFIG_FILE = {"data": ("config.yaml", NRECORDS_YAML)}
REGISTRY_URL = {"platform": "Github", "repository_url": "{url}", "is_public_repository": True}


ROLLOUT = {
    "target_kind": "BranchHead",
    "target_ref": "main",
    "stages": [
        {"size_kind": "Percent", "size_value": 100, "soak_seconds": 0,
         "confirm_deadline_seconds": 60},
    ],
}  # fmt: skip


def new_repo(registry: str) -> dict[str, str]:
    return {
        "repository_registry_uuid": "{" + registry + "}",
        "default_branch": "main",
        "visibility_level": "Private",
        "name": "{name}",
    }


def new_unit(repo: str) -> dict[str, str]:
    return {"repo_uuid": "{" + repo + "}", "visibility_level": "Private", "name": "{name}"}


BOB_ON_ALICES_UNIT = granted(
    "other_user", PermissionEntity.USER, "unit_private", PermissionEntity.UNIT
)
UNIT_ON_OTHER_NODE = granted(
    "unit_private", PermissionEntity.UNIT, "out_internal", PermissionEntity.UNIT_NODE
)


def allowed(_world: World, response: httpx.Response) -> bool:
    return response.json() == {"result": "allow"}


def one_log(_world: World, response: httpx.Response) -> bool:
    return response.json()["count"] == 1


# One row per route and case: (route, case, path called, actors that succeed, options).
# fmt: off
ROWS: list[Row] = [
    Row("GET", "/pepeunit", "instance info", Call("GET", "/pepeunit"), EVERYONE),
    # users: registration and login are for anonymous callers, blocking for the Admin
    row("POST /users", "register", "/users", ANONYMOUS, status=201, fresh=fresh_login,
        json={"login": "{name}", "password": PASSWORD}),
    row("POST /users/auth", "log in", "/users/auth", ANONYMOUS,
        json={"credentials": "alice", "password": PASSWORD}),
    row("GET /users", "list", "/users", USERS),
    row("GET /users/{uuid}", "alice", "/users/{owner}", USERS),
    row("PATCH /users/{uuid}", "alice herself", "/users/{owner}", OWNER, json={}),
    row("PATCH /users/block/{uuid}", "fresh user", "/users/block/{fresh}", ADMIN, status=204,
        fresh=fresh_user()),
    row("PATCH /users/unblock/{uuid}", "fresh blocked user", "/users/unblock/{fresh}", ADMIN,
        status=204, fresh=fresh_user(blocked=True)),
    # registries: users; private ones only their creator's (and grantees', issue 11.4); never
    # units
    row("POST /repository_registry", "fresh source", "/repository_registry", USERS, status=201,
        fresh=fresh_source, json=REGISTRY_URL),
    row("GET /repository_registry/{uuid}", "public", "/repository_registry/{reg_public}",
        USERS | {"anonymous", "backend"}),
    row("GET /repository_registry/{uuid}", "private", "/repository_registry/{reg_private}",
        OWNER | {"backend"}),
    row("GET /repository_registry", "private one", "/repository_registry", OWNER | {"backend"},
        hidden=ANONYMOUS | {"other_user", "admin"}, params={"uuids": "{reg_private}"},
        shows=listed("repositories_registry", "reg_private")),
    row("GET /repository_registry/branch_commits/{uuid}", "private",
        "/repository_registry/branch_commits/{reg_private}", OWNER,
        params={"repo_branch": "main"}),
    row("PATCH /repository_registry/set_credentials/{uuid}", "fresh private",
        "/repository_registry/set_credentials/{fresh}", OWNER, status=204,
        fresh=fresh_registry(public=False), json={"username": "robot", "pat_token": "glpat-2"}),
    row("GET /repository_registry/get_credentials/{uuid}", "private",
        "/repository_registry/get_credentials/{reg_private}", OWNER),
    row("PATCH /repository_registry/update_local_repository/{uuid}", "public",
        "/repository_registry/update_local_repository/{reg_public}", USERS, status=204),
    row("PATCH /repository_registry/update_local_repository/{uuid}", "private: own credentials",
        "/repository_registry/update_local_repository/{reg_private}", OWNER, status=204),
    row("PATCH /repository_registry/backend_sync_registry", "backend only",
        "/repository_registry/backend_sync_registry", frozenset({"backend"}), status=204),
    row("DELETE /repository_registry/{uuid}", "fresh, no repos", "/repository_registry/{fresh}",
        OWNER, status=204, fresh=fresh_registry(public=True)),
    # repos: visibility for reads (units have none), the creator for changes
    row("POST /repos", "public registry", "/repos", USERS, status=201, fresh=fresh_name,
        json=new_repo("reg_public")),
    row("POST /repos", "private registry: own credentials", "/repos", OWNER, status=201,
        fresh=fresh_name, json=new_repo("reg_private")),
    row("GET /repos", "private one", "/repos", SEE_PRIVATE_REPO,
        hidden=frozenset({"anonymous", "other_user", "admin"}),
        params={"uuids": "{repo_private}"}, shows=listed("repos", "repo_private")),
    row("GET /repos/{uuid}", "private", "/repos/{repo_private}", SEE_PRIVATE_REPO),
    row("GET /repos/{uuid}", "internal", "/repos/{repo_internal}", USERS | {"backend"}),
    row("GET /repos/{uuid}", "public", "/repos/{repo_public}", USERS | {"anonymous", "backend"}),
    row("GET /repos/versions/{uuid}", "private", "/repos/versions/{repo_private}",
        SEE_PRIVATE_REPO),
    row("GET /repos/versions/{uuid}", "internal", "/repos/versions/{repo_internal}",
        USERS | {"backend"}),
    row("GET /repos/available_platforms/{uuid}", "private",
        "/repos/available_platforms/{repo_private}", OWNER),
    row("GET /repos/available_platforms/{uuid}", "internal",
        "/repos/available_platforms/{repo_internal}", USERS),
    row("PATCH /repos/{uuid}", "private", "/repos/{repo_private}", OWNER, json={}),
    row("PATCH /repos/{uuid}", "public", "/repos/{repo_public}", OWNER, json={}),
    row("DELETE /repos/{uuid}", "fresh, no units", "/repos/{fresh}", OWNER, status=204,
        fresh=fresh_repo),
    row("PATCH /repos/update_units_firmware/{uuid}", "private",
        "/repos/update_units_firmware/{repo_private}", OWNER, status=204),
    row("PATCH /repos/update_units_firmware/{uuid}", "public",
        "/repos/update_units_firmware/{repo_public}", OWNER, status=204),
    row("POST /repos/bulk_update", "the Admin's", "/repos/bulk_update", ADMIN, status=204),
    # units: visibility for reads, the creator for changes, creator or the unit for device data
    row("POST /units/convert_toml_to_md", "users", "/units/convert_toml_to_md", USERS,
        files={"file": ("pepeunit.toml", b'[general]\nname = "Lamp"\n')}),
    row("POST /units", "public repo", "/units", USERS, status=201, fresh=fresh_name,
        json=new_unit("repo_public")),
    row("POST /units", "private repo", "/units", OWNER, status=201, fresh=fresh_name,
        json=new_unit("repo_private")),
    row("POST /units", "private repo, private registry", "/units", OWNER, status=201,
        fresh=fresh_name, json=new_unit("repo_secret")),
    row("GET /units", "private one", "/units", SEE_PRIVATE_UNIT, hidden=NOBODY_ELSE,
        params={"uuids": "{unit_private}"}, shows=listed("units", "unit_private")),
    row("GET /units/{uuid}", "private", "/units/{unit_private}", SEE_PRIVATE_UNIT),
    row("GET /units/{uuid}", "internal", "/units/{unit_internal}", NOT_ANONYMOUS),
    row("GET /units/{uuid}", "public", "/units/{unit_public}", EVERYONE),
    row("PATCH /units/{uuid}", "private", "/units/{unit_private}", OWNER, json={}),
    row("PATCH /units/{uuid}", "public", "/units/{unit_public}", OWNER, json={}),
    row("DELETE /units/{uuid}", "fresh", "/units/{fresh}", OWNER, status=204, fresh=fresh_unit),
    row("GET /units/get_target_version/{uuid}", "private",
        "/units/get_target_version/{unit_private}", DEVICE),
    row("GET /units/get_target_version/{uuid}", "public",
        "/units/get_target_version/{unit_public}", OWNER),
    row("GET /units/env/{uuid}", "private", "/units/env/{unit_private}", DEVICE),
    row("GET /units/env/{uuid}", "public", "/units/env/{unit_public}", OWNER),
    row("PATCH /units/env/{uuid}", "private", "/units/env/{unit_private}", OWNER, status=204,
        json={"env_json_string": ENV_EDIT}),
    row("PATCH /units/env/{uuid}", "public", "/units/env/{unit_public}", OWNER, status=204,
        json={"env_json_string": ENV_EDIT}),
    row("DELETE /units/env/{uuid}", "private", "/units/env/{unit_private}", OWNER, status=204),
    row("DELETE /units/env/{uuid}", "public", "/units/env/{unit_public}", OWNER, status=204),
    row("GET /units/log_list/", "private", "/units/log_list/", DEVICE,
        params={"uuid": "{unit_private}"}, shows=one_log),
    row("GET /units/log_list/", "public", "/units/log_list/", OWNER,
        params={"uuid": "{unit_public}"}),
    row("POST /units/auth", "broker hook: anyone asks", "/units/auth", EVERYONE,
        json={"token": "{unit_token}", "topic": "{own_topic}", "action": "publish"},
        shows=allowed),
    row("GET /units/get_current_schema/{uuid}", "private",
        "/units/get_current_schema/{unit_private}", DEVICE),
    row("POST /units/set_state_storage/{uuid}", "private",
        "/units/set_state_storage/{unit_private}", DEVICE, status=204, json={"state": "kept"}),
    row("GET /units/get_state_storage/{uuid}", "private",
        "/units/get_state_storage/{unit_private}", DEVICE),
    row("GET /units/get_state_storage/{uuid}", "public",
        "/units/get_state_storage/{unit_public}", OWNER),
    row("GET /units/firmware/{archive_format}/{uuid}", "tgz",
        "/units/firmware/tgz/{unit_private}", DEVICE, params={"wbits": 9, "level": 9}),
    row("GET /units/firmware/{archive_format}/{uuid}", "zip",
        "/units/firmware/zip/{unit_private}", DEVICE),
    row("GET /units/firmware/{archive_format}/{uuid}", "tar, public unit",
        "/units/firmware/tar/{unit_public}", OWNER),
    row("POST /units/send_command_to_input_base_topic/{uuid}", "private",
        "/units/send_command_to_input_base_topic/{unit_private}", DEVICE, status=204,
        params={"command": "Update"}),
    row("POST /units/send_command_to_input_base_topic/{uuid}", "public",
        "/units/send_command_to_input_base_topic/{unit_public}", OWNER, status=204,
        params={"command": "Update"}),
    # unit nodes: visibility for reads, the creator for settings
    row("GET /unit_nodes", "private one", "/unit_nodes", SEE_PRIVATE_UNIT, hidden=NOBODY_ELSE,
        params={"uuids": "{out_private}"}, shows=listed("unit_nodes", "out_private")),
    row("GET /unit_nodes/{uuid}", "private", "/unit_nodes/{out_private}", SEE_PRIVATE_UNIT),
    row("GET /unit_nodes/{uuid}", "internal", "/unit_nodes/{out_internal}", NOT_ANONYMOUS),
    row("GET /unit_nodes/{uuid}", "public", "/unit_nodes/{out_public}", EVERYONE),
    row("PATCH /unit_nodes/{uuid}", "private", "/unit_nodes/{in_private}", OWNER,
        json={"max_connections": 10}),
    row("PATCH /unit_nodes/{uuid}", "public", "/unit_nodes/{in_public}", OWNER,
        json={"max_connections": 10}),
    row("PATCH /unit_nodes/set_state_input/{uuid}", "private, rewritable",
        "/unit_nodes/set_state_input/{in_private}", DEVICE, json={"state": "1"}),
    row("PATCH /unit_nodes/set_state_input/{uuid}", "internal, not rewritable",
        "/unit_nodes/set_state_input/{in_internal}", USERS, json={"state": "1"}),
    row("PATCH /unit_nodes/set_state_input/{uuid}", "public, rewritable",
        "/unit_nodes/set_state_input/{in_public}", USERS | UNITS, json={"state": "1"}),
    row("POST /unit_nodes/create_unit_node_edge", "fresh private nodes",
        "/unit_nodes/create_unit_node_edge", OWNER, status=201, json=EDGE,
        fresh=fresh_nodes("unit_private", "unit_private")),
    row("POST /unit_nodes/create_unit_node_edge", "fresh internal nodes",
        "/unit_nodes/create_unit_node_edge", USERS, status=201, json=EDGE,
        fresh=fresh_nodes("unit_internal", "unit_internal")),
    row("DELETE /unit_nodes/delete_unit_node_edge", "alice's edge",
        "/unit_nodes/delete_unit_node_edge", OWNER, status=204, params=EDGE_QUERY,
        fresh=fresh_edge("unit_private", "unit_internal", "owner")),
    row("DELETE /unit_nodes/delete_unit_node_edge", "bob's edge to alice's input",
        "/unit_nodes/delete_unit_node_edge", frozenset({"owner", "other_user"}), status=204,
        params=EDGE_QUERY, fresh=fresh_edge("bob_unit", "unit_internal", "other_user")),
    # DataPipe: anyone checks; the node's creator changes; the creator or its unit reads
    row("POST /unit_nodes/check_data_pipe_config", "anyone",
        "/unit_nodes/check_data_pipe_config", EVERYONE, files=CONFIG_FILE),
    row("POST /unit_nodes/set_data_pipe_config", "private", "/unit_nodes/set_data_pipe_config",
        OWNER, status=204, params={"uuid": "{out_private}"}, files=CONFIG_FILE),
    row("GET /unit_nodes/get_data_pipe_config/{uuid}", "private",
        "/unit_nodes/get_data_pipe_config/{out_private}", DEVICE),
    row("GET /unit_nodes/get_data_pipe_config/{uuid}", "public",
        "/unit_nodes/get_data_pipe_config/{out_public}", OWNER),
    row("GET /unit_nodes/get_data_pipe_data/", "private", "/unit_nodes/get_data_pipe_data/",
        DEVICE, params={"uuid": "{out_private}", "type": "NRecords"}),
    row("GET /unit_nodes/get_data_pipe_data_csv/{uuid}", "private",
        "/unit_nodes/get_data_pipe_data_csv/{out_private}", DEVICE),
    row("GET /unit_nodes/get_data_pipe_rejections/{uuid}", "private",
        "/unit_nodes/get_data_pipe_rejections/{out_private}", DEVICE),
    row("POST /unit_nodes/set_data_pipe_data_csv", "private",
        "/unit_nodes/set_data_pipe_data_csv", OWNER, status=204,
        params={"uuid": "{out_private}"}, files={"data": ("data.csv", CSV_ROWS)}),
    row("DELETE /unit_nodes/delete_data_pipe_data/{uuid}", "private",
        "/unit_nodes/delete_data_pipe_data/{out_private}", OWNER, status=204),
    # permissions: the resource's creator grants and lists; the creator or the agent revokes
    row("POST /permission", "repo", "/permission", OWNER, status=201, fresh=fresh_user(),
        json=grant_body("repo_private", "Repo")),
    row("POST /permission", "unit", "/permission", OWNER, status=201, fresh=fresh_user(),
        json=grant_body("unit_private", "Unit")),
    row("POST /permission", "unit node", "/permission", OWNER, status=201, fresh=fresh_user(),
        json=grant_body("out_private", "UnitNode")),
    row("POST /permission", "public unit", "/permission", OWNER, status=201, fresh=fresh_user(),
        json=grant_body("unit_public", "Unit")),
    row("GET /permission/get_resource_agents", "repo", "/permission/get_resource_agents", OWNER,
        params={"resource_uuid": "{repo_private}", "resource_type": "Repo"}),
    row("GET /permission/get_resource_agents", "unit", "/permission/get_resource_agents", OWNER,
        params={"resource_uuid": "{unit_private}", "resource_type": "Unit"}),
    row("GET /permission/get_resource_agents", "unit node", "/permission/get_resource_agents",
        OWNER, params={"resource_uuid": "{out_private}", "resource_type": "UnitNode"}),
    row("DELETE /permission/{uuid}", "bob's access to alice's unit", "/permission/ignored",
        frozenset({"owner", "other_user"}), status=204, fresh=BOB_ON_ALICES_UNIT,
        params={"agent_uuid": "{other_user}", "resource_uuid": "{unit_private}"}),
    row("DELETE /permission/{uuid}", "the unit's access to another node", "/permission/ignored",
        DEVICE, status=204, fresh=UNIT_ON_OTHER_NODE,
        params={"agent_uuid": "{unit_private}", "resource_uuid": "{out_internal}"}),
    # metrics: anyone
    row("GET /metrics/", "anyone", "/metrics/", EVERYONE),
    # rollouts: users; a rollout is its creator's alone, over units of a repo she created
    row("POST /rollouts", "alice's fresh repo", "/rollouts", OWNER, status=201,
        fresh=fresh_rollout_repo, json=ROLLOUT | {"repo_uuid": "{fresh}"}),
    row("GET /rollouts", "alice's among them", "/rollouts", OWNER,
        hidden=frozenset({"other_user", "admin"}), shows=listed("rollouts", "rollout")),
    row("GET /rollouts/{uuid}", "alice's", "/rollouts/{rollout}", OWNER),
    row("POST /rollouts/{uuid}/{command}", "pause a fresh one", "/rollouts/{fresh}/pause",
        OWNER, fresh=fresh_rollout),
    # Telegram: verification links for users (this world sets up no bot: 405); the webhook
    # for Telegram, which sends no token (and is not in webhook mode here: 405)
    # per-user export: a user's own data only (there is no way to name another user's)
    row("GET /users/export", "your own", "/users/export", USERS),
    row("POST /users/import", "not an archive", "/users/import", USERS, status=422,
        files={"data": ("export.tar", "not a tar archive")}),
    row("GET /users/generate_verification_link/", "no bot set up",
        "/users/generate_verification_link/", USERS, status=405),
    row("POST /bot", "not in webhook mode", "/bot", ANONYMOUS, status=405,
        json={"update_id": 1}),
    # dashboards: the creator's alone (listing too); linking also needs the node's creator
    row("POST /grafana/create_dashboard", "users", "/grafana/create_dashboard", USERS,
        status=201, fresh=fresh_name, json={"name": "{name}"}),
    row("POST /grafana/create_dashboard_panel", "alice's dashboard",
        "/grafana/create_dashboard_panel", OWNER, status=201, fresh=fresh_dashboard(),
        json={"dashboard_uuid": "{dashboard}", "title": "{name}", "type": "gauge"}),
    row("POST /grafana/link_unit_node_to_panel", "alice's panel and node",
        "/grafana/link_unit_node_to_panel", OWNER, status=201,
        fresh=fresh_dashboard(panel=True),
        json={"unit_node_uuid": "{out_private}", "dashboard_panels_uuid": "{panel}",
              "is_last_data": False, "is_forced_to_json": False}),
    row("GET /grafana/get_dashboard/{uuid}", "alice's", "/grafana/get_dashboard/{dashboard}",
        OWNER, fresh=fresh_dashboard()),
    row("GET /grafana/get_dashboards", "alice's among them", "/grafana/get_dashboards", OWNER,
        hidden=frozenset({"other_user", "admin"}), fresh=fresh_dashboard(),
        shows=owners_dashboard_listed),
    row("GET /grafana/get_dashboard_panels/{uuid}", "alice's",
        "/grafana/get_dashboard_panels/{dashboard}", OWNER, fresh=fresh_dashboard(link=True)),
    row("POST /grafana/sync_dashboard", "alice's, no Grafana set up",
        "/grafana/sync_dashboard", OWNER, fresh=fresh_dashboard(panel=True),
        params={"uuid": "{dashboard}"}),
    row("DELETE /grafana/delete_dashboard/{uuid}", "alice's",
        "/grafana/delete_dashboard/{dashboard}", OWNER, status=204, fresh=fresh_dashboard()),
    row("DELETE /grafana/delete_panel/{uuid}", "alice's", "/grafana/delete_panel/{panel}",
        OWNER, status=204, fresh=fresh_dashboard(panel=True)),
    row("DELETE /grafana/delete_link/{uuid}", "alice's", "/grafana/delete_link/ignored", OWNER,
        status=204, fresh=fresh_dashboard(link=True),
        params={"unit_node_uuid": "{out_private}", "dashboard_panel_uuid": "{panel}"}),
]
# fmt: on


KNOWN_BUGS: dict[str, str] = {}
"""Row ids that fail today, with the bug; strict, so a fix makes them fail until removed."""


def _route_pattern(route: str) -> re.Pattern[str]:
    return re.compile(
        _PLACEHOLDER.sub("[^/]+", re.escape(route).replace(r"\{", "{").replace(r"\}", "}"))
    )


def _params() -> list[Any]:
    return [
        pytest.param(
            item, id=item.id, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[item.id])
        )
        if item.id in KNOWN_BUGS
        else pytest.param(item, id=item.id)
        for item in ROWS
    ]


def _refused(response: httpx.Response) -> bool:
    return response.status_code in (401, 403) and response.json()["detail"].startswith(
        f"{response.status_code}: 1: No Access: "
    )


@pytest.mark.parametrize("item", _params())
def test_only_the_allowed_actors_succeed(world: World, item: Row) -> None:
    pattern = _route_pattern(item.route)
    # Refusals first: were one to slip through and change something, the allowed calls show it.
    for actor in sorted(ACTORS, key=lambda name: name in item.ok):
        response = item.call.send(world, world.headers[actor])
        wait_for_background_work()
        assert pattern.fullmatch(response.request.url.path), (item.id, response.request.url)
        outcome = (actor, response.status_code, response.text[:300])
        if actor in item.ok:
            assert response.status_code == item.status, outcome
            if item.shows is not None:
                assert item.shows(world, response), outcome
        elif actor in item.hidden:
            assert response.status_code == 200, outcome
            assert item.shows is not None and not item.shows(world, response), outcome
        else:
            assert _refused(response), outcome


def test_every_route_has_a_row(world: World) -> None:
    served = served_routes(world.app)
    assert len(served) > 50  # the enumeration itself works
    table = {(item.method, item.route) for item in ROWS}
    assert served - table == set(), "routes without an access matrix row"
    assert table - served == set(), "rows for routes the app does not serve"


NO_CALLER = {("GET", "/pepeunit"), ("POST", API + "/units/auth")}
"""Routes that do not read the caller (the broker hook reads the token in its body)."""


def test_tokens_that_name_nobody_are_refused(world: World) -> None:
    secret = world.settings.resolved_secret_key
    blocked = fresh_user(blocked=True)(world)["fresh"]
    tokens = {
        "garbage": (auth("not-a-jwt"), 401),
        "other key": (auth(make_unit_token(world.uuid("unit_private"), "x" * 44)), 401),
        "expired": (
            auth(
                make_user_token(
                    world.uuid("owner"), secret, 60, datetime.now(UTC) - timedelta(days=1)
                )
            ),
            401,
        ),
        "unknown unit": (auth(make_unit_token(uuid4(), secret)), 401),
        "unknown user": (auth(make_user_token(uuid4(), secret, 3600)), 401),
        "blocked user": (auth(make_user_token(UUID(blocked), secret, 3600)), 403),
    }
    first_rows = {(item.method, item.route): item for item in reversed(ROWS)}
    for key, item in first_rows.items():
        for name, (headers, status) in tokens.items():
            response = item.call.send(world, headers)
            if key in NO_CALLER:
                assert response.status_code == item.status, (item.id, name)
            else:
                assert response.status_code == status, (item.id, name, response.text)
                assert _refused(response), (item.id, name, response.text)
