"""`/units` over HTTP, on SQLite and PostgreSQL, with a registry cloned from a real git
repository over file://.

Who may call what (docs/compatibility.md#access-model), visibility of single reads and lists, create
rules (visibility ordering, update mode prerequisites, schema_example.json at the target), the nodes
and permissions a unit gets, node sync when the target commit changes,
update, delete, the target version, and bad input (always a 4xx with a detail, never a 500).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from control_plane.app import create_app
from control_plane.security import make_unit_token
from pepeunit_core.db.config_version import read_dataflow_config_version
from pepeunit_core.db.enums import PermissionEntity
from pepeunit_core.db.models import Permission, RepositoryRegistry, Unit, UnitNode
from pepeunit_core.settings import Settings
from tests.control_plane_registry.git_sources import UnitRepository

from .conftest import API, CHEAP_ARGON2, Actors, auth, checked_client, make_settings

UNITS = f"{API}/units"
REPOS = f"{API}/repos"
REGISTRY = f"{API}/repository_registry"
NO_ACCESS = "403: 1: No Access: "
UNIT_ERROR = "422: 7: Unit Validation Error: "


def schema(inputs: list[str], outputs: list[str]) -> bytes:
    return json.dumps(
        {
            "input_base_topic": ["update/pepeunit"],
            "output_base_topic": ["state/pepeunit"],
            "input_topic": inputs,
            "output_topic": outputs,
        }
    ).encode()


@dataclass(frozen=True)
class Source:
    repository: UnitRepository
    first: str
    """On branch `nodes`: inputs set/pepeunit, raw; outputs temp/pepeunit, humidity/pepeunit."""
    second: str
    """Next on `nodes`: input set/pepeunit; outputs temp/pepeunit, pressure/pepeunit."""
    broken: str
    """Next on `nodes`: a schema_example.json that is not JSON."""
    bad_env: str
    """Next on `nodes`: a valid schema again, but an env_example.json that is not JSON."""

    @property
    def url(self) -> str:
        return self.repository.url


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    repository = UnitRepository(tmp_path_factory.mktemp("units-api-source"))
    git = repository.source
    git.switch("nodes", start=repository.fix)
    first = git.commit(
        "Nodes",
        {
            "schema_example.json": schema(
                ["set/pepeunit", "raw"], ["temp/pepeunit", "humidity/pepeunit"]
            )
        },
    )
    second = git.commit(
        "Other nodes",
        {"schema_example.json": schema(["set/pepeunit"], ["temp/pepeunit", "pressure/pepeunit"])},
    )
    broken = git.commit("Broken", {"schema_example.json": b"{not json"})
    bad_env = git.commit(
        "Bad env",
        {"schema_example.json": schema([], ["temp/pepeunit"]), "env_example.json": b"{nope"},
    )
    git.switch("main")
    git.publish()
    return Source(repository, first, second, broken, bad_env)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
    )


@dataclass(frozen=True)
class World:
    actors: Actors
    repos: dict[str, str]
    """Public, Internal and Private repos of the registry (branch main), by level."""

    def headers(self, agent: str) -> dict:
        return self.actors.headers[agent]


@pytest.fixture
def world(client: TestClient, actors: Actors, source: Source) -> World:
    body = {"platform": "Github", "repository_url": source.url, "is_public_repository": True}
    response = client.post(REGISTRY, json=body, headers=actors.headers["alice"])
    assert response.status_code == 201, response.text
    registry = response.json()["uuid"]
    repos = {}
    for level in ("Public", "Internal", "Private"):
        repo = {
            "repository_registry_uuid": registry,
            "default_branch": "main",
            "visibility_level": level,
            "name": f"repo-{level.lower()}",
        }
        response = client.post(REPOS, json=repo, headers=actors.headers["alice"])
        assert response.status_code == 201, response.text
        repos[level] = response.json()["uuid"]
    return World(actors, repos)


def unit_body(world: World, name: str, /, **fields: object) -> dict:
    return {
        "repo_uuid": world.repos["Public"],
        "visibility_level": "Public",
        "name": name,
        "is_auto_update_from_repo_unit": True,
        **fields,
    }


def create(client: TestClient, world: World, name: str, agent: str = "alice", /, **fields: object):
    return client.post(UNITS, json=unit_body(world, name, **fields), headers=world.headers(agent))


def created(client: TestClient, world: World, name: str, /, **fields: object) -> dict:
    response = create(client, world, name, **fields)
    assert response.status_code == 201, response.text
    return response.json()


def pinned(source: Source, commit: str | None = None) -> dict:
    return {
        "is_auto_update_from_repo_unit": False,
        "repo_branch": "nodes",
        "repo_commit": commit or source.first,
    }


def unit_headers(settings: Settings, unit: dict) -> dict:
    return auth(make_unit_token(UUID(unit["uuid"]), settings.resolved_secret_key))


def nodes_of(app: FastAPI, unit: dict) -> dict[tuple[str, str], UnitNode]:
    with app.state.context.session_factory() as session:
        rows = session.scalars(select(UnitNode).where(UnitNode.unit_uuid == UUID(unit["uuid"])))
        return {(node.type.value, node.topic_name): node for node in rows}


def config_version(app: FastAPI) -> int:
    with app.state.context.session_factory() as session:
        return read_dataflow_config_version(session)


def test_create_builds_nodes_pipelines_and_permissions(
    client: TestClient, world: World, app: FastAPI, source: Source
):
    unit = created(client, world, "greenhouse", visibility_level="Internal", **pinned(source))
    assert unit["creator_uuid"] == str(world.actors.alice_uuid)
    assert unit["repo_commit"] == source.first
    nodes = nodes_of(app, unit)
    assert {(node["type"], node["topic_name"]) for node in unit["unit_nodes"]} == set(nodes)
    assert set(nodes) == {
        ("Input", "set/pepeunit"),
        ("Input", "raw"),
        ("Output", "temp/pepeunit"),
        ("Output", "humidity/pepeunit"),
    }
    for (_, topic), node in nodes.items():
        assert node.visibility_level.value == "Internal"
        assert node.is_data_pipe_active is topic.endswith("/pepeunit")
        assert node.creator_uuid == world.actors.alice_uuid
    config = json.loads(nodes[("Output", "temp/pepeunit")].data_pipe_yml or "")
    assert config["active_period"]["type"] == "Permanent"
    assert config["processing_policy"]["policy_type"] == "LastValue"
    assert {
        key: config["filters"][key] for key in ("type_input_value", "max_rate", "max_size")
    } == {
        "type_input_value": "Text",
        "max_rate": 5,
        "max_size": 100,
    }
    assert nodes[("Input", "raw")].data_pipe_yml is None
    assert config_version(app) == 1
    with app.state.context.session_factory() as session:
        rows = session.scalars(select(Permission)).all()
    unit_uuid = UUID(unit["uuid"])
    grants = {
        (row.agent_user_uuid or row.agent_unit_uuid, row.resource_type, row.resource_unit_uuid)
        for row in rows
        if row.resource_type != PermissionEntity.UNIT_NODE
    }
    assert {
        (world.actors.alice_uuid, PermissionEntity.UNIT, unit_uuid),
        (unit_uuid, PermissionEntity.UNIT, unit_uuid),
        (unit_uuid, PermissionEntity.REPO, None),
    } <= grants
    node_grants = [row for row in rows if row.resource_type == PermissionEntity.UNIT_NODE]
    for node in nodes.values():
        holders = {
            row.agent_user_uuid or row.agent_unit_uuid
            for row in node_grants
            if row.resource_unit_node_uuid == node.uuid
        }
        assert holders == {world.actors.alice_uuid, unit_uuid}


def test_get_lists_the_units_nodes_with_running_pipelines_active(
    client: TestClient, world: World, app: FastAPI, source: Source
):
    """Issue 12.10: `GET /units/{uuid}` answered `"unit_nodes": []`, and nodes created with
    the default pipeline were stored as Inactive."""
    unit = created(client, world, "two-nodes", **pinned(source))
    nodes = nodes_of(app, unit)
    stored = {
        key: (node.data_pipe_status.value, node.data_pipe_error) for key, node in nodes.items()
    }
    assert stored == {
        ("Input", "set/pepeunit"): ("Active", None),
        ("Input", "raw"): ("Inactive", None),
        ("Output", "temp/pepeunit"): ("Active", None),
        ("Output", "humidity/pepeunit"): ("Active", None),
    }
    hidden = nodes[("Output", "humidity/pepeunit")].uuid
    client.patch(
        f"{API}/unit_nodes/{hidden}",
        json={"visibility_level": "Private"},
        headers=world.headers("alice"),
    ).raise_for_status()

    def listed(agent: str) -> dict[tuple[str, str], dict]:
        response = client.get(f"{UNITS}/{unit['uuid']}", headers=world.headers(agent))
        assert response.status_code == 200, response.text
        return {(node["type"], node["topic_name"]): node for node in response.json()["unit_nodes"]}

    mine = listed("alice")
    assert set(mine) == set(nodes)
    assert {key: node["uuid"] for key, node in mine.items()} == {
        key: str(node.uuid) for key, node in nodes.items()
    }
    assert set(listed("bob")) == set(nodes) - {("Output", "humidity/pepeunit")}
    assert set(listed("anonymous")) == set(nodes) - {("Output", "humidity/pepeunit")}


def test_auto_mode_follows_the_repo_target(client: TestClient, world: World, app: FastAPI):
    unit = created(client, world, "auto-unit")
    assert set(nodes_of(app, unit)) == {("Input", "set/pepeunit"), ("Output", "temp/pepeunit")}


def test_default_pipeline_can_be_switched_off(
    database_url: str, tmp_path: Path, actors: Actors, source: Source
):
    settings = make_settings(
        database_url,
        save_repo_path=tmp_path / "other-repos",
        registry_allowed_url_schemes=("https", "file"),
        ff_datapipe_default_last_value_enable=False,
    )
    app = create_app(settings, password_hasher=CHEAP_ARGON2)
    with checked_client(app) as client:
        body = {"platform": "Github", "repository_url": source.url, "is_public_repository": True}
        registry = client.post(REGISTRY, json=body, headers=actors.headers["bob"]).json()["uuid"]
        repo = {"repository_registry_uuid": registry, "default_branch": "main", "name": "bob-repo"}
        repo_uuid = client.post(REPOS, json=repo, headers=actors.headers["bob"]).json()["uuid"]
        body = {"repo_uuid": repo_uuid, "name": "bob-unit"}
        response = client.post(UNITS, json=body, headers=actors.headers["bob"])
        assert response.status_code == 201, response.text
        nodes = nodes_of(app, response.json())
    assert nodes and all(not node.is_data_pipe_active for node in nodes.values())
    assert all(node.data_pipe_yml is None for node in nodes.values())
    assert config_version(app) == 0


def test_create_refusals(client: TestClient, world: World, source: Source):
    created(client, world, "taken-name")
    refusals = [
        ("anonymous", {}, 403, NO_ACCESS),
        ("unit", {}, 403, NO_ACCESS),
        ("bob", {"name": "taken-name"}, 422, f"{UNIT_ERROR}Name is not unique"),
        ("bob", {"repo_uuid": str(uuid4())}, 404, "404: "),
        ("bob", {"repo_uuid": world.repos["Private"]}, 403, NO_ACCESS),  # not his to see
        ("bob", {"repo_uuid": world.repos["Internal"]}, 422, UNIT_ERROR),
        (
            "bob",
            {"repo_uuid": world.repos["Private"], "visibility_level": "Private"},
            403,
            NO_ACCESS,
        ),
        ("bob", {"is_auto_update_from_repo_unit": False}, 422, UNIT_ERROR),
        ("bob", {**pinned(source), "repo_branch": "nope"}, 422, UNIT_ERROR),
        ("bob", pinned(source, source.repository.dev_work), 422, UNIT_ERROR),
        ("bob", pinned(source, "0" * 40), 422, UNIT_ERROR),
        ("bob", pinned(source, source.broken), 422, UNIT_ERROR),
        ("bob", pinned(source, source.bad_env), 422, f"{UNIT_ERROR}env_example.json is not"),
        ("bob", {"name": "ab"}, 422, "422: 2: "),
        ("bob", {"name": "bad name!"}, 422, "422: 2: "),
        ("bob", {"visibility_level": "Secret"}, 422, "422: 2: "),
        ("bob", {**pinned(source), "repo_commit": "xyz"}, 422, "422: 2: "),
        ("bob", {**pinned(source), "repo_branch": "a\x00b"}, 422, "422: 2: "),
        ("bob", {"repo_uuid": "not-a-uuid"}, 422, "422: 2: "),
    ]
    for agent, fields, status, detail in refusals:
        response = create(client, world, "some-unit", agent, **fields)
        assert response.status_code == status, (agent, fields, response.text)
        assert response.json()["detail"].startswith(detail), (fields, response.text)
    for body in ([], "x", {"name": "only-name"}, None):
        assert client.post(UNITS, json=body, headers=world.headers("bob")).status_code == 422
    mine = {"repo_uuid": world.repos["Public"]}
    assert client.get(UNITS, params=mine, headers=world.headers("alice")).json()["count"] == 1


def test_a_private_repo_takes_private_units(client: TestClient, world: World):
    unit = created(
        client, world, "private-ok", repo_uuid=world.repos["Private"], visibility_level="Private"
    )
    assert unit["visibility_level"] == "Private"
    response = client.patch(
        f"{UNITS}/{unit['uuid']}",
        json={"visibility_level": "Internal"},
        headers=world.headers("alice"),
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{UNIT_ERROR}The unit (Internal) must be")


def test_unit_state_is_read_from_the_stored_message(client: TestClient, world: World, app: FastAPI):
    unit = created(client, world, "stateful")
    assert unit["unit_state"] is None
    url = f"{UNITS}/{unit['uuid']}"
    state = {"millis": 1200, "mem_free": 100, "ifconfig": ["10.0.0.2"], "pu_commit_version": "abc"}
    for stored, expected in (
        (json.dumps(state), {**state, "mem_alloc": None, "freq": None, "statvfs": []}),
        ("{broken", None),
        ("[1, 2]", None),
    ):
        with app.state.context.session_factory() as session:
            session.get_one(Unit, UUID(unit["uuid"])).unit_state_dict = stored
            session.commit()
        assert client.get(url).json()["unit_state"] == expected, stored


@pytest.fixture
def levels(client: TestClient, world: World) -> dict[str, dict]:
    return {
        level: created(client, world, f"unit-{level.lower()}", visibility_level=level)
        for level in ("Public", "Internal", "Private")
    }


def test_get_by_visibility(
    client: TestClient, world: World, levels: dict[str, dict], settings: Settings
):
    private = levels["Private"]
    callers = {
        "anonymous": {"Public"},
        "bob": {"Public", "Internal"},
        "alice": {"Public", "Internal", "Private"},
        "unit": {"Public", "Internal"},
    }
    for agent, visible in callers.items():
        for level, unit in levels.items():
            response = client.get(f"{UNITS}/{unit['uuid']}", headers=world.headers(agent))
            expected = 200 if level in visible else 403
            assert response.status_code == expected, (agent, level, response.text)
    own = client.get(f"{UNITS}/{private['uuid']}", headers=unit_headers(settings, private))
    assert own.status_code == 200 and own.json() == private
    assert client.get(f"{UNITS}/{uuid4()}").status_code == 404
    assert client.get(f"{UNITS}/not-a-uuid").status_code == 422


def test_list_by_visibility_filters_and_pages(
    client: TestClient, world: World, levels: dict[str, dict], settings: Settings
):
    def names(agent: str | dict = "alice", **params: object) -> list[str]:
        headers = agent if isinstance(agent, dict) else world.headers(agent)
        ours = {"repos_uuids": list(world.repos.values())}  # not the actors' own unit
        response = client.get(UNITS, params=ours | params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] >= len(body["units"])
        return [unit["name"] for unit in body["units"]]

    everything = ["unit-private", "unit-internal", "unit-public"]
    assert names() == everything
    assert names("anonymous") == ["unit-public"]
    assert names("anonymous", visibility_level="Private") == []
    assert names("bob") == ["unit-internal", "unit-public"]
    assert names("unit") == ["unit-internal", "unit-public"]
    assert names(unit_headers(settings, levels["Private"])) == everything
    assert names(order_by_create_date="asc") == everything[::-1]
    assert names(order_by_unit_name="asc") == sorted(everything)
    assert names(search_string="PRIV unit") == ["unit-private"]
    assert names(visibility_level=["Public", "Private"]) == ["unit-private", "unit-public"]
    assert names(uuids=[levels["Public"]["uuid"], levels["Internal"]["uuid"]]) == everything[1:]
    assert names(creator_uuid=str(world.actors.bob_uuid)) == []
    assert names(repo_uuid=world.repos["Public"]) == everything
    assert names(repos_uuids=[world.repos["Private"]]) == []
    assert names(is_auto_update_from_repo_unit=False) == []
    page = client.get(
        UNITS,
        params={"offset": 1, "limit": 1, "repo_uuid": world.repos["Public"]},
        headers=world.headers("alice"),
    )
    assert page.json()["count"] == 3 and [u["name"] for u in page.json()["units"]] == [
        "unit-internal"
    ]
    listed = client.get(
        UNITS,
        params={"is_include_output_unit_nodes": True, "uuids": levels["Public"]["uuid"]},
        headers=world.headers("bob"),
    ).json()["units"]
    assert [node["topic_name"] for node in listed[0]["unit_nodes"]] == ["temp/pepeunit"]
    inputs = client.get(
        UNITS,
        params={
            "is_include_output_unit_nodes": True,
            "unit_node_type": "Input",
            "uuids": levels["Public"]["uuid"],
        },
    ).json()["units"]
    assert [node["type"] for node in inputs[0]["unit_nodes"]] == ["Input"]
    for params in (
        {"limit": 100000},
        {"offset": -1},
        {"visibility_level": "Secret"},
        {"order_by_unit_name": "up"},
        {"uuids": "nope"},
        {"search_string": "a\x00b"},
        {"unit_node_type": "Sideways"},
    ):
        assert client.get(UNITS, params=params).status_code == 422, params


def test_update_syncs_nodes_on_version_change(
    client: TestClient, world: World, app: FastAPI, source: Source
):
    unit = created(client, world, "syncing", **pinned(source))
    url = f"{UNITS}/{unit['uuid']}"
    before = nodes_of(app, unit)
    version = config_version(app)
    response = client.patch(
        url, json={"repo_commit": source.second}, headers=world.headers("alice")
    )
    assert response.status_code == 200, response.text
    assert response.json()["repo_commit"] == source.second
    after = nodes_of(app, unit)
    assert set(after) == {
        ("Input", "set/pepeunit"),
        ("Output", "temp/pepeunit"),
        ("Output", "pressure/pepeunit"),
    }
    for kept in (("Input", "set/pepeunit"), ("Output", "temp/pepeunit")):
        assert after[kept].uuid == before[kept].uuid
    assert after[("Output", "pressure/pepeunit")].is_data_pipe_active
    assert config_version(app) == version + 1
    with app.state.context.session_factory() as session:
        gone = [before[("Output", "humidity/pepeunit")].uuid, before[("Input", "raw")].uuid]
        left = session.scalars(
            select(Permission).where(Permission.resource_unit_node_uuid.in_(gone))
        ).all()
    assert left == []
    # back to auto mode: the repo's target (1.0.0) lists set/pepeunit and temp/pepeunit only
    response = client.patch(
        url, json={"is_auto_update_from_repo_unit": True}, headers=world.headers("alice")
    )
    assert response.status_code == 200, response.text
    assert set(nodes_of(app, unit)) == {("Input", "set/pepeunit"), ("Output", "temp/pepeunit")}


def test_update_rules_and_visibility(
    client: TestClient, world: World, app: FastAPI, source: Source, settings: Settings
):
    unit = created(client, world, "updating", **pinned(source))
    other = created(client, world, "other-unit")
    url = f"{UNITS}/{unit['uuid']}"
    refusals = [
        ("anonymous", {"name": "renamed"}, 403),
        ("bob", {"name": "renamed"}, 403),
        ("unit", {"name": "renamed"}, 403),
        ("alice", {"name": "other-unit"}, 422),
        ("alice", {"repo_commit": source.broken}, 422),
        ("alice", {"repo_commit": source.repository.dev_work}, 422),
        ("alice", {"repo_branch": "nope"}, 422),
        ("alice", {"visibility_level": "Secret"}, 422),
        ("alice", {"name": "x"}, 422),
    ]
    for agent, body, status in refusals:
        response = client.patch(url, json=body, headers=world.headers(agent))
        assert response.status_code == status, (agent, body, response.text)
    own = client.patch(url, json={"name": "renamed"}, headers=unit_headers(settings, unit))
    assert own.status_code == 403
    assert client.patch(url, json=[], headers=world.headers("alice")).status_code == 422
    assert (
        client.patch(f"{UNITS}/{uuid4()}", json={}, headers=world.headers("alice")).status_code
        == 404
    )
    assert client.get(url).json() == unit  # nothing was kept
    response = client.patch(
        url, json={"visibility_level": "Private", "name": "renamed"}, headers=world.headers("alice")
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "renamed"
    assert {node.visibility_level.value for node in nodes_of(app, unit).values()} == {"Private"}
    assert client.get(f"{UNITS}/{other['uuid']}").status_code == 200


def test_only_the_creator_deletes(
    client: TestClient, world: World, app: FastAPI, source: Source, settings: Settings
):
    unit = created(client, world, "deleting", **pinned(source))
    url = f"{UNITS}/{unit['uuid']}"
    for headers in (
        world.headers("anonymous"),
        world.headers("bob"),
        world.headers("unit"),
        unit_headers(settings, unit),
    ):
        assert client.delete(url, headers=headers).status_code == 403
    version = config_version(app)
    assert client.delete(url, headers=world.headers("alice")).status_code == 204
    assert config_version(app) == version + 1  # its nodes had pipelines
    assert client.get(url).status_code == 404
    assert nodes_of(app, unit) == {}
    assert client.delete(url, headers=world.headers("alice")).status_code == 404
    assert client.delete(f"{UNITS}/bad", headers=world.headers("alice")).status_code == 422


def test_target_version(client: TestClient, world: World, source: Source, settings: Settings):
    auto = created(client, world, "auto-target")
    manual = created(client, world, "manual-target", **pinned(source, source.second))
    url = f"{UNITS}/get_target_version"
    response = client.get(f"{url}/{auto['uuid']}", headers=world.headers("alice"))
    assert response.status_code == 200, response.text
    assert response.json() == {"commit": source.repository.features, "tag": "1.0.0"}
    own = client.get(f"{url}/{manual['uuid']}", headers=unit_headers(settings, manual))
    assert own.json() == {"commit": source.second, "tag": None}
    for headers in (
        world.headers("anonymous"),
        world.headers("bob"),
        world.headers("unit"),
        unit_headers(settings, auto),
    ):
        assert client.get(f"{url}/{manual['uuid']}", headers=headers).status_code == 403
    assert client.get(f"{url}/{uuid4()}", headers=world.headers("alice")).status_code == 404
    assert client.get(f"{url}/nope", headers=world.headers("alice")).status_code == 422


def test_compilable_repos_need_a_released_platform(
    client: TestClient, world: World, app: FastAPI, source: Source
):
    repo = client.get(f"{REPOS}/{world.repos['Public']}").json()
    body = {
        "repository_registry_uuid": repo["repository_registry_uuid"],
        "default_branch": "main",
        "name": "compiled",
        "is_compilable_repo": True,
    }
    response = client.post(REPOS, json=body, headers=world.headers("alice"))
    assert response.status_code == 201, response.text
    compiled = response.json()["uuid"]
    refused = create(client, world, "esp-unit", "bob", repo_uuid=compiled)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(f"{UNIT_ERROR}Platform None is not among")
    with app.state.context.session_factory() as session:
        registry = session.get_one(RepositoryRegistry, UUID(repo["repository_registry_uuid"]))
        registry.releases_data = json.dumps({"1.0.0": [["esp32", "https://example.com/fw.bin"]]})
        session.commit()
    wrong = create(
        client, world, "esp-unit", "bob", repo_uuid=compiled, target_firmware_platform="rp2040"
    )
    assert wrong.status_code == 422
    unit = created(client, world, "esp-unit", repo_uuid=compiled, target_firmware_platform="esp32")
    assert unit["target_firmware_platform"] == "esp32"
    # a manual target must carry a tag on a compilable repo
    untagged = {"repo_branch": "main", "repo_commit": source.repository.fix}
    response = client.patch(
        f"{UNITS}/{unit['uuid']}",
        json={"is_auto_update_from_repo_unit": False, **untagged},
        headers=world.headers("alice"),
    )
    assert response.status_code == 422 and "has no tag" in response.json()["detail"]
