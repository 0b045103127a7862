"""GraphQL against REST, route by route: every REST route has a GraphQL twin (or is REST-only,
said here with the reason), and the twin lets exactly the same actors through
(docs/graphql.md).

`TWINS` gives, for each REST route of test_access_matrix.py's table, the GraphQL field that
mirrors it and how its variables come from the REST request. Each row of that table is sent
again as its twin, by every actor, on the same world: the actors the row lets through must get
data (or, for a row whose REST answer is an error status, the same status in
`extensions.status`), lists must leave out what they leave out over REST, and every other actor
must be refused with a 401/403 error of the REST shape. `test_every_route_has_a_twin` fails
when a REST route has none, and `test_every_field_is_accounted_for` when the schema lacks a
field of 1.x's contract or has one this file does not know (`BEYOND_1X` lists ours).
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import build_client_schema, get_introspection_query

from tests.control_plane import test_access_matrix as matrix
from tests.control_plane.test_access_matrix import (
    ACTORS,
    ROWS,
    USERS,
    Row,
    World,
    fill,
    served_routes,
    wait_for_background_work,
)

from .conftest import API

GRAPHQL = "/pepeunit/graphql"

# 1.x's root fields (docs/graphql.md#fields-and-their-rest-twins): 30 queries and 38 mutations.
QUERY_FIELDS = {
    "getUser", "getToken", "getVerificationUser", "getUsers", "getRepo", "getRepos",
    "getRepositoryRegistry", "getBranchCommits", "getCredentials", "getRepositoriesRegistry",
    "getAvailablePlatforms", "getVersions", "getUnit", "getUnitEnv", "getTargetVersion",
    "getUnitCurrentSchema", "getStateStorage", "getUnits", "getUnitLogs", "getConvertTomlToMd",
    "getUnitNode", "getPipeData", "getUnitNodes", "checkDataPipeConfig", "getDataPipeConfig",
    "getBaseMetrics", "getResourceAgents", "getDashboard", "getDashboards",
    "getDashboardPanels",
}  # fmt: skip
MUTATION_FIELDS = {
    "createUser", "updateUser", "setGrafanaCookies", "blockUser", "unblockUser",
    "deleteUserCookies", "createRepo", "updateRepo", "deleteRepo", "createRepositoryRegistry",
    "setCredentials", "updateLocalRepository", "deleteRepositoryRegistry", "updateUnitsFirmware",
    "bulkUpdate", "createUnit", "updateUnit", "updateUnitEnv", "resetUnitEnv", "setStateStorage",
    "sendCommandToInputBaseTopic", "deleteUnit", "updateUnitNode", "setStateUnitNodeInput",
    "createPermission", "deletePermission", "createUnitNodeEdge", "deleteUnitNodeEdge",
    "setDataPipeConfig", "setDataPipeDataCsv", "deleteDataPipeData", "createDashboard",
    "createDashboardPanel", "linkUnitNodeToPanel", "syncDashboard", "deleteDashboard",
    "deletePanel", "deleteLink",
}  # fmt: skip

REST_ONLY = {
    ("GET", "/pepeunit"): "instance info: a REST route in 1.x too",
    ("POST", API + "/bot"): "Telegram's webhook: Telegram posts there, 1.x has no field",
    ("PATCH", API + "/repository_registry/backend_sync_registry"):
        "the Backend's own sync: 1.x has no field",
    ("POST", API + "/units/auth"): "the broker's auth hook: 1.x has no field",
    ("GET", API + "/units/firmware/{archive_format}/{uuid}"):
        "a binary download: REST only in 1.x too",
    ("GET", API + "/unit_nodes/get_data_pipe_data_csv/{uuid}"):
        "a CSV download: REST only in 1.x too",
    ("GET", API + "/users/export"): "a binary archive download (docs/user-export.md)",
    ("POST", API + "/users/import"): "a binary archive upload (docs/user-export.md)",
    ("GET", API + "/unit_nodes/get_data_pipe_rejections/{uuid}"):
        "rejections are ours (beyond 1.x), read through REST and the console",
}  # fmt: skip

BEYOND_1X = {
    "getRollout": "GET /rollouts/{uuid}",
    "getRollouts": "GET /rollouts",
    "createRollout": "POST /rollouts",
    "commandRollout": "POST /rollouts/{uuid}/{command}",
}
"""Our fields that 1.x lacks, with their REST twins (docs/graphql.md#rollouts-beyond-1x)."""

GRAPHQL_ONLY = {
    "setGrafanaCookies": "sets the Grafana cookie; no REST twin in 1.x",
    "deleteUserCookies": "deletes the Grafana cookie; no REST twin in 1.x",
}


# --- how a REST request becomes its twin ------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A REST request of the table, its placeholders filled."""

    path: str
    params: dict[str, Any]
    json: dict[str, Any]
    file: tuple[str, str] | None

    @property
    def uuid(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


def enum_name(value: str) -> str:
    """A stored enum value as GraphQL names it: `UnitNode` → `UNIT_NODE`, `NRecords` →
    `N_RECORDS`, `gauge` → `GAUGE`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", value).upper()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def as_input(body: dict[str, Any], enums: tuple[str, ...] = ()) -> dict[str, Any]:
    """A REST JSON body as a GraphQL input: camelCase keys, `enums` as GraphQL names."""
    return {camel(key): enum_name(value) if key in enums else value for key, value in body.items()}


@dataclass(frozen=True)
class Twin:
    field: str
    arguments: str
    """`(uuid: UUID!)`-style declarations of the variables."""
    variables: Callable[[Sent], dict[str, Any]]
    selection: str = ""
    mutation: bool = False
    items: str | None = None
    """For lists: the key of the items (to check what `hidden` actors see)."""
    ok: frozenset[str] | None = None
    """Who gets through where GraphQL differs from REST on purpose (with the reason)."""

    def document(self) -> str:
        declared = f"({self.arguments})" if self.arguments else ""
        names = re.findall(r"\$(\w+)", self.arguments)
        passed = f"({', '.join(f'{name}: ${name}' for name in names)})" if names else ""
        kind = "mutation" if self.mutation else "query"
        return f"{kind} Twin{declared} {{ {self.field}{passed} {self.selection} }}"


def by_uuid(sent: Sent) -> dict[str, Any]:
    return {"uuid": sent.uuid}


def nothing(_sent: Sent) -> dict[str, Any]:
    return {}


def uuids_filter(sent: Sent) -> dict[str, Any]:
    return {"filters": {"uuids": [sent.params["uuids"]]}}


def file_of(sent: Sent) -> dict[str, Any]:
    return {"file": None}


def rollout_input(body: dict[str, Any]) -> dict[str, Any]:
    """A REST rollout body as `RolloutCreateInput`."""
    stages = [as_input(stage, enums=("size_kind",)) for stage in body["stages"]]
    return as_input(body, enums=("target_kind",)) | {"stages": stages}


def rollout_command(sent: Sent) -> dict[str, Any]:
    """`/rollouts/{uuid}/{command}` as the uuid and the command's GraphQL name."""
    uuid, command = sent.path.rsplit("/", 2)[-2:]
    return {"uuid": uuid, "command": enum_name(command)}


def query(field_name: str, arguments: str = "", variables: Callable[[Sent], dict] = nothing,
          selection: str = "", **options: Any) -> Twin:  # fmt: skip
    return Twin(field_name, arguments, variables, selection, **options)


def mutation(field_name: str, arguments: str = "", variables: Callable[[Sent], dict] = nothing,
             selection: str = "{ isNone }", **options: Any) -> Twin:  # fmt: skip
    return Twin(field_name, arguments, variables, selection, mutation=True, **options)


UUID_ARG = "$uuid: UUID!"
UPLOAD = "$uuid: UUID!, $file: Upload!"

# fmt: off
TWINS: dict[tuple[str, str], Twin] = {
    # users
    ("POST", "/users"): mutation("createUser", "$user: UserCreateInput!",
                                 lambda s: {"user": as_input(s.json)}, "{ uuid }"),
    ("POST", "/users/auth"): query("getToken", "$data: UserAuthInput!",
                                   lambda s: {"data": as_input(s.json)}),
    ("GET", "/users"): query("getUsers", "$filters: UserFilterInput!",
                             lambda s: {"filters": {}}, "{ count users { uuid } }"),
    ("GET", "/users/{uuid}"): query("getUser", UUID_ARG, by_uuid, "{ uuid login }"),
    # 1.x's updateUser changes the caller (it takes no uuid): every user may call it.
    ("PATCH", "/users/{uuid}"): mutation("updateUser", "$user: UserUpdateInput!",
                                         lambda s: {"user": {}}, "{ uuid }", ok=USERS),
    ("PATCH", "/users/block/{uuid}"): mutation("blockUser", UUID_ARG, by_uuid),
    ("PATCH", "/users/unblock/{uuid}"): mutation("unblockUser", UUID_ARG, by_uuid),
    ("GET", "/users/generate_verification_link/"): query("getVerificationUser"),
    # registries
    ("POST", "/repository_registry"): mutation(
        "createRepositoryRegistry", "$registry: RepositoryRegistryCreateInput!",
        lambda s: {"registry": as_input(s.json, enums=("platform",))}, "{ uuid }"),
    ("GET", "/repository_registry/{uuid}"): query(
        "getRepositoryRegistry", UUID_ARG, by_uuid, "{ uuid branches }"),
    ("GET", "/repository_registry"): query(
        "getRepositoriesRegistry", "$filters: RepositoryRegistryFilterInput!", uuids_filter,
        "{ count repositoriesRegistry { uuid } }", items="repositoriesRegistry"),
    ("GET", "/repository_registry/branch_commits/{uuid}"): query(
        "getBranchCommits", "$uuid: UUID!, $filters: CommitFilterInput!",
        lambda s: {"uuid": s.uuid, "filters": {"repoBranch": s.params["repo_branch"]}},
        "{ commit summary tag }"),
    ("PATCH", "/repository_registry/set_credentials/{uuid}"): mutation(
        "setCredentials", "$uuid: UUID!, $data: CredentialsInput!",
        lambda s: {"uuid": s.uuid, "data": as_input(s.json)}),
    ("GET", "/repository_registry/get_credentials/{uuid}"): query(
        "getCredentials", UUID_ARG, by_uuid, "{ status credentials { username } }"),
    ("PATCH", "/repository_registry/update_local_repository/{uuid}"): mutation(
        "updateLocalRepository", UUID_ARG, by_uuid),
    ("DELETE", "/repository_registry/{uuid}"): mutation(
        "deleteRepositoryRegistry", UUID_ARG, by_uuid),
    # repos
    ("POST", "/repos"): mutation(
        "createRepo", "$repo: RepoCreateInput!",
        lambda s: {"repo": as_input(s.json, enums=("visibility_level",))
                   | {"isCompilableRepo": False}},
        "{ uuid }"),
    ("GET", "/repos"): query("getRepos", "$filters: RepoFilterInput!", uuids_filter,
                             "{ count repos { uuid } }", items="repos"),
    ("GET", "/repos/{uuid}"): query("getRepo", UUID_ARG, by_uuid, "{ uuid visibilityLevel }"),
    ("GET", "/repos/versions/{uuid}"): query("getVersions", UUID_ARG, by_uuid,
                                            "{ unitCount versions { commit } }"),
    ("GET", "/repos/available_platforms/{uuid}"): query(
        "getAvailablePlatforms", UUID_ARG, by_uuid, "{ name link }"),
    ("PATCH", "/repos/{uuid}"): mutation("updateRepo", "$uuid: UUID!, $repo: RepoUpdateInput!",
                                         lambda s: {"uuid": s.uuid, "repo": {}}, "{ uuid }"),
    ("DELETE", "/repos/{uuid}"): mutation("deleteRepo", UUID_ARG, by_uuid),
    ("PATCH", "/repos/update_units_firmware/{uuid}"): mutation("updateUnitsFirmware", UUID_ARG,
                                                              by_uuid),
    ("POST", "/repos/bulk_update"): mutation("bulkUpdate"),
    # units
    ("POST", "/units"): mutation(
        "createUnit", "$unit: UnitCreateInput!",
        lambda s: {"unit": as_input(s.json, enums=("visibility_level",))
                   | {"isAutoUpdateFromRepoUnit": True}},
        "{ uuid unitNodes { uuid } }"),
    ("GET", "/units"): query("getUnits", "$filters: UnitFilterInput!", uuids_filter,
                             "{ count units { uuid } }", items="units"),
    ("GET", "/units/{uuid}"): query("getUnit", UUID_ARG, by_uuid, "{ uuid name }"),
    ("PATCH", "/units/{uuid}"): mutation("updateUnit", "$uuid: UUID!, $unit: UnitUpdateInput!",
                                         lambda s: {"uuid": s.uuid, "unit": {}}, "{ uuid }"),
    ("DELETE", "/units/{uuid}"): mutation("deleteUnit", UUID_ARG, by_uuid),
    ("GET", "/units/get_target_version/{uuid}"): query("getTargetVersion", UUID_ARG, by_uuid,
                                                      "{ commit tag }"),
    ("GET", "/units/env/{uuid}"): query("getUnitEnv", UUID_ARG, by_uuid),
    ("PATCH", "/units/env/{uuid}"): mutation(
        "updateUnitEnv", "$uuid: UUID!, $env: String!",
        lambda s: {"uuid": s.uuid, "env": s.json["env_json_string"]}),
    ("DELETE", "/units/env/{uuid}"): mutation("resetUnitEnv", UUID_ARG, by_uuid),
    ("GET", "/units/log_list/"): query(
        "getUnitLogs", "$filters: UnitLogFilterInput!",
        lambda s: {"filters": {"uuid": s.params["uuid"]}}, "{ count unitLogs { uuid } }"),
    ("GET", "/units/get_current_schema/{uuid}"): query("getUnitCurrentSchema", UUID_ARG,
                                                      by_uuid),
    ("POST", "/units/set_state_storage/{uuid}"): mutation(
        "setStateStorage", "$uuid: UUID!, $state: String!",
        lambda s: {"uuid": s.uuid, "state": s.json["state"]}),
    ("GET", "/units/get_state_storage/{uuid}"): query("getStateStorage", UUID_ARG, by_uuid),
    ("POST", "/units/convert_toml_to_md"): query("getConvertTomlToMd", "$file: Upload!",
                                                 file_of),
    ("POST", "/units/send_command_to_input_base_topic/{uuid}"): mutation(
        "sendCommandToInputBaseTopic", "$uuid: UUID!, $command: BackendTopicCommand!",
        lambda s: {"uuid": s.uuid, "command": enum_name(s.params["command"])}),
    # unit nodes and edges
    ("GET", "/unit_nodes"): query("getUnitNodes", "$filters: UnitNodeFilterInput!",
                                  uuids_filter, "{ count unitNodes { uuid } }",
                                  items="unitNodes"),
    ("GET", "/unit_nodes/{uuid}"): query("getUnitNode", UUID_ARG, by_uuid, "{ uuid type }"),
    ("PATCH", "/unit_nodes/{uuid}"): mutation(
        "updateUnitNode", "$uuid: UUID!, $node: UnitNodeUpdateInput!",
        lambda s: {"uuid": s.uuid, "node": as_input(s.json)}, "{ uuid maxConnections }"),
    ("PATCH", "/unit_nodes/set_state_input/{uuid}"): mutation(
        "setStateUnitNodeInput", "$uuid: UUID!, $node: UnitNodeSetStateInput!",
        lambda s: {"uuid": s.uuid, "node": as_input(s.json)}, "{ uuid state }"),
    ("POST", "/unit_nodes/create_unit_node_edge"): mutation(
        "createUnitNodeEdge", "$edge: UnitNodeEdgeCreateInput!",
        lambda s: {"edge": as_input(s.json)}, "{ uuid nodeOutputUuid nodeInputUuid }"),
    ("DELETE", "/unit_nodes/delete_unit_node_edge"): mutation(
        "deleteUnitNodeEdge", "$input: UUID!, $output: UUID!",
        lambda s: {"input": s.params["input_uuid"], "output": s.params["output_uuid"]}),
    ("POST", "/unit_nodes/check_data_pipe_config"): query(
        "checkDataPipeConfig", "$file: Upload!", file_of, "{ stage message }"),
    ("POST", "/unit_nodes/set_data_pipe_config"): mutation(
        "setDataPipeConfig", UPLOAD, lambda s: {"uuid": s.params["uuid"], "file": None}),
    ("GET", "/unit_nodes/get_data_pipe_config/{uuid}"): query("getDataPipeConfig", UUID_ARG,
                                                             by_uuid),
    ("GET", "/unit_nodes/get_data_pipe_data/"): query(
        "getPipeData", "$filters: DataPipeFilterInput!",
        lambda s: {"filters": {"uuid": s.params["uuid"], "type": enum_name(s.params["type"])}},
        "{ count }"),
    ("POST", "/unit_nodes/set_data_pipe_data_csv"): mutation(
        "setDataPipeDataCsv", UPLOAD, lambda s: {"uuid": s.params["uuid"], "file": None}),
    ("DELETE", "/unit_nodes/delete_data_pipe_data/{uuid}"): mutation("deleteDataPipeData",
                                                                    UUID_ARG, by_uuid),
    # permissions
    ("POST", "/permission"): mutation(
        "createPermission", "$permission: PermissionCreateInput!",
        lambda s: {"permission": as_input(s.json, enums=("agent_type", "resource_type"))},
        "{ uuid agentUuid resourceUuid }"),
    ("GET", "/permission/get_resource_agents"): query(
        "getResourceAgents", "$filters: PermissionFilterInput!",
        lambda s: {"filters": as_input(s.params, enums=("resource_type",))},
        "{ count permissions { uuid } }"),
    ("DELETE", "/permission/{uuid}"): mutation(
        "deletePermission", "$agent: UUID!, $resource: UUID!",
        lambda s: {"agent": s.params["agent_uuid"], "resource": s.params["resource_uuid"]}),
    # metrics
    ("GET", "/metrics/"): query("getBaseMetrics", selection="{ userCount unitCount }"),
    # dashboards
    ("POST", "/grafana/create_dashboard"): mutation(
        "createDashboard", "$dashboard: DashboardCreateInput!",
        lambda s: {"dashboard": as_input(s.json)}, "{ uuid name }"),
    ("POST", "/grafana/create_dashboard_panel"): mutation(
        "createDashboardPanel", "$panel: DashboardPanelCreateInput!",
        lambda s: {"panel": as_input(s.json, enums=("type",))}, "{ uuid type }"),
    ("POST", "/grafana/link_unit_node_to_panel"): mutation(
        "linkUnitNodeToPanel", "$link: LinkUnitNodeToPanelInput!",
        lambda s: {"link": as_input(s.json)}, "{ isLastData unitNode { uuid } }"),
    ("GET", "/grafana/get_dashboard/{uuid}"): query("getDashboard", UUID_ARG, by_uuid,
                                                   "{ uuid name }"),
    ("GET", "/grafana/get_dashboards"): query(
        "getDashboards", "$filters: DashboardFilterInput!", lambda s: {"filters": {}},
        "{ count dashboards { uuid creatorUuid } }"),
    ("GET", "/grafana/get_dashboard_panels/{uuid}"): query(
        "getDashboardPanels", UUID_ARG, by_uuid, "{ count panels { uuid } }"),
    ("POST", "/grafana/sync_dashboard"): mutation(
        "syncDashboard", UUID_ARG, lambda s: {"uuid": s.params["uuid"]}, "{ uuid syncStatus }"),
    ("DELETE", "/grafana/delete_dashboard/{uuid}"): mutation("deleteDashboard", UUID_ARG,
                                                            by_uuid),
    ("DELETE", "/grafana/delete_panel/{uuid}"): mutation("deletePanel", UUID_ARG, by_uuid),
    ("DELETE", "/grafana/delete_link/{uuid}"): mutation(
        "deleteLink", "$node: UUID!, $panel: UUID!",
        lambda s: {"node": s.params["unit_node_uuid"],
                   "panel": s.params["dashboard_panel_uuid"]}),
    # rollouts (beyond 1.x)
    ("POST", "/rollouts"): mutation("createRollout", "$rollout: RolloutCreateInput!",
                                    lambda s: {"rollout": rollout_input(s.json)},
                                    "{ uuid status stages { position } }"),
    ("GET", "/rollouts"): query("getRollouts", "$filters: RolloutFilterInput!",
                                lambda s: {"filters": {}}, "{ count rollouts { uuid } }"),
    ("GET", "/rollouts/{uuid}"): query("getRollout", UUID_ARG, by_uuid,
                                       "{ uuid status units { unitUuid } }"),
    ("POST", "/rollouts/{uuid}/{command}"): mutation(
        "commandRollout", "$uuid: UUID!, $command: RolloutCommand!", rollout_command,
        "{ uuid status history { toStatus } }"),
}
# fmt: on
# The argument names the documents pass (`$name` above) are the variables' names; the field's
# own argument names are 1.x's, mapped here where they differ from the variable.
ARGUMENT_NAMES = {
    "createRepositoryRegistry": {"registry": "repositoryRegistry"},
    "updateUnitEnv": {"env": "envJsonStr"},
    "updateUnitNode": {"node": "unitNode"},
    "setStateUnitNodeInput": {"node": "unitNode"},
    "createUnitNodeEdge": {"edge": "unitNodeEdge"},
    "deleteUnitNodeEdge": {"input": "inputUuid", "output": "outputUuid"},
    "deletePermission": {"agent": "agentUuid", "resource": "resourceUuid"},
    "createDashboardPanel": {"panel": "dashboardPanel"},
    "linkUnitNodeToPanel": {"link": "dashboard"},
    "deleteLink": {"node": "unitNodeUuid", "panel": "dashboardPanelUuid"},
}


def twin_of(item: Row) -> Twin:
    return TWINS[(item.method, item.route.removeprefix(API))]


def document_of(twin: Twin) -> str:
    text = twin.document()
    for variable, argument in ARGUMENT_NAMES.get(twin.field, {}).items():
        text = text.replace(f"{variable}: ${variable}", f"{argument}: ${variable}")
    return text


def send(world: World, item: Row, twin: Twin, headers: dict[str, str]) -> httpx.Response:
    names = world.ids | (item.call.fresh(world) if item.call.fresh else {})
    path = matrix._PLACEHOLDER.sub(lambda match: names[match.group(1)], item.call.path)
    file = next(iter(item.call.files.values())) if item.call.files else None
    sent = Sent(path, fill(item.call.params or {}, names), fill(item.call.json or {}, names), file)
    operation = {"query": document_of(twin), "variables": twin.variables(sent)}
    if file is None:
        return world.client.post(GRAPHQL, json=operation, headers=headers)
    return world.client.post(
        GRAPHQL,
        data={"operations": json.dumps(operation), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": file},
        headers=headers,
    )


def _refused(error: dict[str, Any]) -> bool:
    status = error.get("extensions", {}).get("status")
    return status in (401, 403) and error["message"].startswith(f"{status}: 1: No Access: ")


def _listed(world: World, item: Row, twin: Twin, answer: dict[str, Any]) -> bool:
    """The GraphQL counterpart of the row's `shows`."""
    found = answer["data"][twin.field]
    if twin.items is not None:
        name = re.fullmatch(r"\{(\w+)\}", item.call.params["uuids"]).group(1)
        return world.ids[name] in {entry["uuid"] for entry in found[twin.items]}
    if twin.field == "getUnitLogs":
        return found["count"] == 1
    if twin.field == "getRollouts":
        return world.ids["rollout"] in {entry["uuid"] for entry in found["rollouts"]}
    if twin.field == "getDashboards":
        return any(entry["creatorUuid"] == world.ids["owner"] for entry in found["dashboards"])
    raise AssertionError(f"no listing check for {twin.field}")


TWINNED = [item for item in ROWS if (item.method, item.route) not in REST_ONLY]


@pytest.fixture(scope="module", params=matrix.BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with matrix.build_world(request, tmp_path_factory.mktemp("graphql-matrix")) as built:
        yield built


@pytest.mark.parametrize("item", TWINNED, ids=[item.id for item in TWINNED])
def test_the_twin_lets_through_the_same_actors(world: World, item: Row) -> None:
    twin = twin_of(item)
    allowed = twin.ok if twin.ok is not None else item.ok
    for actor in sorted(ACTORS, key=lambda name: name in allowed):
        response = send(world, item, twin, world.headers[actor])
        wait_for_background_work()
        assert response.status_code == 200, (actor, response.text[:300])
        answer = response.json()
        outcome = (actor, answer)
        errors = answer.get("errors") or []
        if actor in allowed and item.status < 400:
            assert not errors and answer["data"][twin.field] is not None, outcome
            if item.shows is not None:
                assert _listed(world, item, twin, answer), outcome
        elif actor in allowed:
            assert errors and errors[0]["extensions"]["status"] == item.status, outcome
        elif actor in item.hidden:
            assert not errors and not _listed(world, item, twin, answer), outcome
        else:
            assert errors and _refused(errors[0]), outcome
            # A non-null field nulls `data`; the nullable getCredentials nulls itself.
            assert answer["data"] is None or answer["data"][twin.field] is None, outcome


def test_every_route_has_a_twin(world: World) -> None:
    routes = {
        (method, route.removeprefix(API))
        for method, route in served_routes(world.app)
        if (method, route) not in REST_ONLY
    }
    assert routes - set(TWINS) == set(), "REST routes without a GraphQL twin"
    assert set(TWINS) - routes == set(), "twins of routes the app does not serve"


def _root_fields(world: World) -> tuple[set[str], set[str]]:
    introspection = world.client.post(GRAPHQL, json={"query": get_introspection_query()}).json()
    schema = build_client_schema(introspection["data"])
    return set(schema.query_type.fields), set(schema.mutation_type.fields)


def test_every_field_is_accounted_for(world: World) -> None:
    queries, mutations = _root_fields(world)
    assert QUERY_FIELDS - queries == set(), "1.x's queries we lack"
    assert MUTATION_FIELDS - mutations == set(), "1.x's mutations we lack"
    twinned = {twin.field for twin in TWINS.values()}
    assert (QUERY_FIELDS | MUTATION_FIELDS) - twinned == set(GRAPHQL_ONLY)
    assert twinned - (queries | mutations) == set(), "twins the schema does not have"
    extra = (queries | mutations) - QUERY_FIELDS - MUTATION_FIELDS
    assert extra == set(BEYOND_1X), "fields beyond 1.x: add them to BEYOND_1X with their twin"
    twins = {twin.field: f"{method} {route}" for (method, route), twin in TWINS.items()}
    assert {field: twins[field] for field in BEYOND_1X} == BEYOND_1X
