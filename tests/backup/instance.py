"""An instance filled through the API: three users, a registry cloned from a real git
repository, a public and a private repo, units with nodes, an edge, pipelines of all four
policies with stored rows, alert events, a unit log, state storage, env, permissions and a
dashboard; and the list of reads that show all of it, per agent."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from control_plane.security import make_unit_token
from flows.storage.clickhouse_writer import ClickHouseWriter
from pepeunit_core.db.enums import AlertEventKind
from pepeunit_core.db.models import AlertEvent
from pepeunit_core.stored_data.rows import IngestedRow, UnitLogRow
from pipelines.rows import AggregationRow, NRecordsRow, TimeWindowRow
from tests.control_plane.conftest import API, SECRET_KEY, auth, login_token, register
from tests.control_plane_registry.git_sources import UnitRepository

POLICIES = {
    "nrec": "{policy_type: NRecords, n_records_count: 4}",
    "window": "{policy_type: TimeWindow, time_window_size: 86400}",
    "agg": "{policy_type: Aggregation, time_window_size: 60, aggregation_functions: Avg}",
    "last": "{policy_type: LastValue}",
}
ROWS_PER_NODE = 25

Read = Callable[[str, dict[str, object], dict[str, str | bytes]], tuple[int, object]]


@dataclass
class Instance:
    headers: dict[str, dict[str, str | bytes]] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    registry: str = ""
    repos: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)
    """By pipeline (nrec, window, agg, last) and by role (input)."""
    dashboard: str = ""


def _created(response: object) -> dict:
    assert response.status_code in (200, 201), response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined]


def _pipeline(policy: str) -> str:
    return (
        "active_period: {type: Permanent}\n"
        "filters: {type_input_value: Number, max_rate: 0, max_size: 32}\n"
        f"processing_policy: {policy}\n"
    )


def fill(
    client: TestClient,
    repository: UnitRepository,
    session_factory: sessionmaker[Session],
    clickhouse: Client,
) -> Instance:
    instance = Instance()
    for login in ("admin", "alice", "bobby"):
        instance.users[login] = register(client, login)["uuid"]
        instance.headers[login] = auth(login_token(client, login))
    alice, bob = instance.headers["alice"], instance.headers["bobby"]
    registry = {
        "platform": "Github",
        "repository_url": repository.url,
        "is_public_repository": True,
    }
    instance.registry = _created(
        client.post(f"{API}/repository_registry", json=registry, headers=alice)
    )["uuid"]
    for level in ("Public", "Private"):
        body = {
            "repository_registry_uuid": instance.registry,
            "default_branch": "main",
            "visibility_level": level,
            "name": f"repo-{level.lower()}",
        }
        instance.repos[level] = _created(client.post(f"{API}/repos", json=body, headers=alice))[
            "uuid"
        ]
    for name, owner, repo, level in (
        ("alice-one", alice, "Public", "Public"),
        ("alice-two", alice, "Private", "Private"),
        ("bob-one", bob, "Public", "Internal"),
        ("bob-two", bob, "Public", "Public"),
    ):
        body = {
            "repo_uuid": instance.repos[repo],
            "visibility_level": level,
            "name": name,
            "is_auto_update_from_repo_unit": True,
        }
        unit = _created(client.post(f"{API}/units", json=body, headers=owner))
        instance.units[name] = unit["uuid"]
        instance.headers[name] = auth(make_unit_token(UUID(unit["uuid"]), SECRET_KEY))
    owner_of = {"alice-one": alice, "alice-two": alice, "bob-one": bob, "bob-two": bob}
    nodes = {
        (name, node["type"]): node["uuid"]
        for name, uuid in instance.units.items()
        for node in _created(
            client.get(f"{API}/unit_nodes", params={"unit_uuid": uuid}, headers=owner_of[name])
        )["unit_nodes"]
    }
    outputs = {name: nodes[(name, "Output")] for name in instance.units}
    instance.nodes = dict(zip(POLICIES, outputs.values(), strict=True))
    instance.nodes["input"] = nodes[("alice-one", "Input")]
    owners = {"nrec": alice, "window": alice, "agg": bob, "last": bob}
    for name, policy in POLICIES.items():
        response = client.post(
            f"{API}/unit_nodes/set_data_pipe_config",
            params={"uuid": instance.nodes[name]},
            files={"data": ("data.yaml", _pipeline(policy))},
            headers=owners[name],
        )
        assert response.status_code == 204, response.text
    edge = {"node_output_uuid": instance.nodes["nrec"], "node_input_uuid": instance.nodes["input"]}
    _created(client.post(f"{API}/unit_nodes/create_unit_node_edge", json=edge, headers=alice))
    state = client.patch(
        f"{API}/unit_nodes/set_state_input/{instance.nodes['input']}",
        json={"state": "7"},
        headers=alice,
    )
    assert state.status_code == 200, state.text
    grant = {
        "agent_uuid": instance.users["bobby"],
        "agent_type": "User",
        "resource_uuid": instance.repos["Private"],
        "resource_type": "Repo",
    }
    _created(client.post(f"{API}/permission", json=grant, headers=alice))
    env = {"env_json_string": json.dumps({"WIFI_SSID": "grëenhouse"})}
    unit_one = instance.units["alice-one"]
    response = client.patch(f"{API}/units/env/{unit_one}", json=env, headers=alice)
    assert response.status_code == 204, response.text
    stored_state = {"state": '{"counter": 3}'}
    response = client.post(
        f"{API}/units/set_state_storage/{unit_one}",
        json=stored_state,
        headers=instance.headers["alice-one"],
    )
    assert response.status_code == 204, response.text
    instance.dashboard = _created(
        client.post(f"{API}/grafana/create_dashboard", json={"name": "greenhouse"}, headers=alice)
    )["uuid"]
    panel = {"dashboard_uuid": instance.dashboard, "title": "temperature", "type": "timeseries"}
    panel_uuid = _created(
        client.post(f"{API}/grafana/create_dashboard_panel", json=panel, headers=alice)
    )["uuid"]
    link = {
        "unit_node_uuid": instance.nodes["nrec"],
        "dashboard_panels_uuid": panel_uuid,
        "is_last_data": True,
        "is_forced_to_json": False,
    }
    _created(client.post(f"{API}/grafana/link_unit_node_to_panel", json=link, headers=alice))
    csv = "state,create_datetime\n" + "".join(
        f"{index},{(datetime.now(UTC) - timedelta(hours=2, seconds=-index)):%Y-%m-%d %H:%M:%S}\n"
        for index in range(5)
    )
    response = client.post(
        f"{API}/unit_nodes/set_data_pipe_data_csv",
        params={"uuid": instance.nodes["window"]},
        files={"data": ("data.csv", csv)},
        headers=alice,
    )
    assert response.status_code == 204, response.text
    _store_rows(instance, clickhouse)
    _add_alert_events(instance, session_factory)
    return instance


def _store_rows(instance: Instance, clickhouse: Client) -> None:
    """Rows as the dataflow writes them (its ClickHouse writer)."""
    now = datetime.now(UTC).replace(microsecond=0)
    rows: list[IngestedRow] = []
    for index in range(ROWS_PER_NODE):
        created = now - timedelta(minutes=index)
        rows += [
            IngestedRow(
                index + 1, NRecordsRow(instance.nodes["nrec"], str(index), "Number", created, 4, 2)
            ),
            IngestedRow(
                index + 1,
                TimeWindowRow(
                    instance.nodes["window"],
                    f"{index}.5",
                    "Number",
                    created,
                    created + timedelta(days=1),
                    3,
                ),
            ),
            IngestedRow(
                0,
                AggregationRow(
                    instance.nodes["agg"],
                    index * 1.5,
                    "Avg",
                    60,
                    created,
                    created - timedelta(seconds=60),
                    created,
                ),
            ),
        ]
    rows.append(
        IngestedRow(
            1,
            UnitLogRow(
                "5d0e0a56-7f3c-4c59-9f55-8a7d1c0f0001",
                "Info",
                instance.units["alice-one"],
                "booted",
                now,
                now + timedelta(days=1),
            ),
        )
    )
    ClickHouseWriter(clickhouse).write(rows)


def _add_alert_events(instance: Instance, session_factory: sessionmaker[Session]) -> None:
    """Alert events as the dataflow raises them (its rows in the notifier's outbox)."""
    with session_factory() as session:
        for index, kind in enumerate((AlertEventKind.ALERT, AlertEventKind.RECOVERY)):
            session.add(
                AlertEvent(
                    uuid=UUID(int=index + 1),
                    unit_node_uuid=UUID(instance.nodes["nrec"]),
                    rule_name="too hot",
                    kind=kind,
                    value="36",
                    message="too hot: 36",
                    event_datetime=datetime.now(UTC),
                )
            )
        session.commit()


def reads(instance: Instance) -> list[tuple[str, str, dict[str, object]]]:
    """(agent, path, query) of every read that shows what `fill` made."""
    plan: list[tuple[str, str, dict[str, object]]] = []
    for agent in ("admin", "alice", "bobby"):
        plan += [
            (agent, "/users", {"limit": 100}),
            (agent, "/repository_registry", {}),
            (agent, f"/repository_registry/{instance.registry}", {}),
            (agent, "/repos", {}),
            (agent, "/units", {}),
            (agent, "/unit_nodes", {"limit": 100}),
            (agent, "/grafana/get_dashboards", {}),
            (agent, "/metrics/", {}),
        ]
        plan += [(agent, f"/users/{uuid}", {}) for uuid in instance.users.values()]
        plan += [(agent, f"/repos/{uuid}", {}) for uuid in instance.repos.values()]
        plan += [(agent, f"/units/{uuid}", {}) for uuid in instance.units.values()]
        plan += [(agent, f"/unit_nodes/{uuid}", {}) for uuid in instance.nodes.values()]
        plan += [
            (
                agent,
                "/permission/get_resource_agents",
                {"resource_uuid": uuid, "resource_type": "Repo"},
            )
            for uuid in instance.repos.values()
        ]
    for agent, pipes in (("alice", ("nrec", "window")), ("bobby", ("agg", "last"))):
        for pipe in pipes:
            node = instance.nodes[pipe]
            plan += [
                (agent, f"/unit_nodes/get_data_pipe_config/{node}", {}),
                (agent, f"/unit_nodes/get_data_pipe_data_csv/{node}", {}),
            ]
    for policy, pipe in (("NRecords", "nrec"), ("TimeWindow", "window"), ("Aggregation", "agg")):
        owner = "alice" if pipe != "agg" else "bobby"
        plan.append(
            (
                owner,
                "/unit_nodes/get_data_pipe_data/",
                {"uuid": instance.nodes[pipe], "type": policy},
            )
        )
    unit_one = instance.units["alice-one"]
    plan += [
        ("alice", f"/grafana/get_dashboard/{instance.dashboard}", {}),
        ("alice", f"/grafana/get_dashboard_panels/{instance.dashboard}", {}),
        ("alice", "/units/log_list/", {"uuid": unit_one}),
        ("alice", f"/units/env/{unit_one}", {}),
        ("alice-one", f"/units/env/{unit_one}", {}),
        ("alice-one", f"/units/get_state_storage/{unit_one}", {}),
        ("alice-one", f"/units/{unit_one}", {}),
    ]
    return plan


def read_all(instance: Instance, read: Read) -> dict[str, tuple[int, object]]:
    return {
        f"{agent} GET {path} {sorted(query.items())}": read(
            f"{API}{path}", query, instance.headers[agent]
        )
        for agent, path, query in reads(instance)
    }
