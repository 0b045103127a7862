"""`/grafana` dashboards, panels and node links over HTTP, on SQLite and PostgreSQL
(docs/operations.md#grafana): the creator-only rules, the one-link-per-node and per-panel limits,
and the sync, which builds the dashboard with the generator's panel SQL and saves it to a Grafana
HTTP API (a real local server recording requests), recording Success or Error on the dashboard."""

import copy
import json
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from control_plane.app import create_app
from pepeunit_core.db.enums import DataPipeStatus, UnitNodeType
from pepeunit_core.db.models import Unit, User
from pepeunit_core.pipeline_store import stored_config_json
from pepeunit_core.settings import Settings
from pepeunit_grafana import SqlDialect, sql_dialect_of_url
from pepeunit_grafana.clickhouse_queries import clickhouse_query
from pepeunit_grafana.sql_queries import last_value_query
from tests.grafana.builders import config
from tests.grafana.grafana_api_server import fake_grafana
from tests.grafana.grafana_models import dashboard_problems
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit

from .conftest import API, CHEAP_ARGON2, Actors, checked_client, make_settings

GRAFANA = f"{API}/grafana"
NO_ACCESS = "403: 1: No Access: "
GRAFANA_ERROR = "422: 14: Grafana Validation Error: "
TOKEN = "glsa_dashboards"
AGGREGATION = config(
    {"policy_type": "Aggregation", "time_window_size": 300, "aggregation_functions": "Avg"}
)
N_RECORDS = config({"policy_type": "NRecords", "n_records_count": 8})
LAST_VALUE = config({"policy_type": "LastValue"})
TEXT_WINDOW = config({"policy_type": "TimeWindow", "time_window_size": 600}, "Text")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, grafana_limit_unit_node_per_one_panel=3)


def add_pipeline_node(app: FastAPI, unit_uuid: UUID, topic: str, pipeline: Any) -> str:
    """An Output node of the unit with an active pipeline (None: without one)."""
    with app.state.context.session_factory() as session:
        unit = session.get_one(Unit, unit_uuid)
        node = add_node(session, unit, UnitNodeType.OUTPUT, topic)
        if pipeline is not None:
            node.is_data_pipe_active = True
            node.data_pipe_status = DataPipeStatus.ACTIVE
            node.data_pipe_yml = stored_config_json(pipeline)
        session.commit()
        return str(node.uuid)


def bobs_node(app: FastAPI, actors: Actors) -> str:
    with app.state.context.session_factory() as session:
        bob = session.get_one(User, actors.bob_uuid)
        unit = add_unit(session, bob, add_repo(session, bob, add_registry(session, bob)))
        session.commit()
        unit_uuid = unit.uuid
    return add_pipeline_node(app, unit_uuid, "bob/pepeunit", N_RECORDS)


def created(response: Any, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def new_dashboard(client: TestClient, headers: dict, name: str = "greenhouse") -> dict:
    return created(client.post(f"{GRAFANA}/create_dashboard", json={"name": name}, headers=headers))


def new_panel(client: TestClient, headers: dict, dashboard: str, title: str, kind: str) -> dict:
    body = {"dashboard_uuid": dashboard, "title": title, "type": kind}
    return created(client.post(f"{GRAFANA}/create_dashboard_panel", json=body, headers=headers))


def link(client: TestClient, headers: dict, panel: str, node: str, *, as_json: bool = False) -> Any:
    body = {
        "unit_node_uuid": node,
        "dashboard_panels_uuid": panel,
        "is_last_data": True,
        "is_forced_to_json": as_json,
    }
    return client.post(f"{GRAFANA}/link_unit_node_to_panel", json=body, headers=headers)


def unit_name(app: FastAPI, unit_uuid: UUID) -> str:
    with app.state.context.session_factory() as session:
        return session.get_one(Unit, unit_uuid).name


def test_dashboards_panels_and_links(client: TestClient, app: FastAPI, actors: Actors):
    alice = actors.headers["alice"]
    dashboard = new_dashboard(client, alice)
    assert dashboard | {"uuid": "", "grafana_uuid": "", "create_datetime": ""} == {
        "uuid": "",
        "grafana_uuid": "",
        "name": "greenhouse",
        "create_datetime": "",
        "dashboard_url": None,
        "inc_last_version": None,
        "sync_status": None,
        "sync_error": None,
        "sync_last_datetime": None,
        "creator_uuid": str(actors.alice_uuid),
    }
    panel = new_panel(client, alice, dashboard["uuid"], "temperature", "gauge")
    assert (panel["type"], panel["title"], panel["unit_nodes_for_panel"]) == (
        "gauge",
        "temperature",
        [],
    )
    assert panel["dashboard_uuid"] == dashboard["uuid"]
    node = add_pipeline_node(app, actors.unit_uuid, "temp/pepeunit", AGGREGATION)
    linked = created(link(client, alice, panel["uuid"], node))
    name = unit_name(app, actors.unit_uuid)
    assert linked["unit_with_unit_node_name"] == f"{name}@temp/pepeunit"
    assert (linked["is_last_data"], linked["is_forced_to_json"]) == (True, False)
    assert linked["unit_node"]["uuid"] == node
    # A node appears on a panel once; a panel shows at most the configured number (3 here).
    again = link(client, alice, panel["uuid"], node)
    assert (again.status_code, again.json()["detail"]) == (
        422,
        f"{GRAFANA_ERROR}The unit node is already on this panel",
    )
    for index in range(2):
        other = add_pipeline_node(app, actors.unit_uuid, f"t{index}/pepeunit", N_RECORDS)
        created(link(client, alice, panel["uuid"], other))
    fourth = add_pipeline_node(app, actors.unit_uuid, "t9/pepeunit", N_RECORDS)
    assert link(client, alice, panel["uuid"], fourth).json()["detail"] == (
        f"{GRAFANA_ERROR}A panel shows at most 3 unit nodes"
    )
    panels = created(
        client.get(f"{GRAFANA}/get_dashboard_panels/{dashboard['uuid']}", headers=alice), 200
    )
    assert panels["count"] == 1
    assert [
        item["unit_with_unit_node_name"] for item in panels["panels"][0]["unit_nodes_for_panel"]
    ] == [
        f"{name}@t0/pepeunit",
        f"{name}@t1/pepeunit",
        f"{name}@temp/pepeunit",
    ]
    # Lists: own dashboards only, searched by name, paginated newest first.
    new_dashboard(client, alice, "cellar")
    new_dashboard(client, actors.headers["bob"], "bobs-board")
    listed = created(client.get(f"{GRAFANA}/get_dashboards", headers=alice), 200)
    assert (listed["count"], [item["name"] for item in listed["dashboards"]]) == (
        2,
        ["cellar", "greenhouse"],
    )
    searched = client.get(
        f"{GRAFANA}/get_dashboards", params={"search_string": "HOUSE", "limit": 1}, headers=alice
    ).json()
    assert (searched["count"], [item["name"] for item in searched["dashboards"]]) == (
        1,
        ["greenhouse"],
    )
    fetched = created(
        client.get(f"{GRAFANA}/get_dashboard/{dashboard['uuid']}", headers=alice), 200
    )
    assert fetched == dashboard
    # Unlinking, then deleting the panel and the dashboard (panels and links go with it).
    gone = client.delete(
        f"{GRAFANA}/delete_link/ignored",
        params={"unit_node_uuid": node, "dashboard_panel_uuid": panel["uuid"]},
        headers=alice,
    )
    assert gone.status_code == 204
    assert (
        client.delete(
            f"{GRAFANA}/delete_link/ignored",
            params={"unit_node_uuid": node, "dashboard_panel_uuid": panel["uuid"]},
            headers=alice,
        ).status_code
        == 404
    )
    panels = client.get(f"{GRAFANA}/get_dashboard_panels/{dashboard['uuid']}", headers=alice)
    assert len(panels.json()["panels"][0]["unit_nodes_for_panel"]) == 2
    assert (
        client.delete(f"{GRAFANA}/delete_panel/{panel['uuid']}", headers=alice).status_code == 204
    )
    assert client.get(
        f"{GRAFANA}/get_dashboard_panels/{dashboard['uuid']}", headers=alice
    ).json() == {"count": 0, "panels": []}
    second = new_panel(client, alice, dashboard["uuid"], "second", "timeseries")
    created(link(client, alice, second["uuid"], node))
    deleted = client.delete(f"{GRAFANA}/delete_dashboard/{dashboard['uuid']}", headers=alice)
    assert deleted.status_code == 204
    assert (
        client.get(f"{GRAFANA}/get_dashboard/{dashboard['uuid']}", headers=alice).status_code == 404
    )
    assert link(client, alice, second["uuid"], node).status_code == 404  # the panel went too


def test_only_the_creator_touches_a_dashboard(client: TestClient, app: FastAPI, actors: Actors):
    alice, bob = actors.headers["alice"], actors.headers["bob"]
    dashboard = new_dashboard(client, alice)
    panel = new_panel(client, alice, dashboard["uuid"], "levels", "stat")
    node = add_pipeline_node(app, actors.unit_uuid, "level/pepeunit", N_RECORDS)
    created(link(client, alice, panel["uuid"], node))
    others_node = bobs_node(app, actors)
    link_query = {"unit_node_uuid": node, "dashboard_panel_uuid": panel["uuid"]}
    attempts = [
        ("GET", f"/get_dashboard/{dashboard['uuid']}", {}),
        ("GET", f"/get_dashboard_panels/{dashboard['uuid']}", {}),
        ("POST", "/sync_dashboard", {"params": {"uuid": dashboard["uuid"]}}),
        (
            "POST",
            "/create_dashboard_panel",
            {"json": {"dashboard_uuid": dashboard["uuid"], "title": "mine", "type": "table"}},
        ),
        ("DELETE", "/delete_link/x", {"params": link_query}),
        ("DELETE", f"/delete_panel/{panel['uuid']}", {}),
        ("DELETE", f"/delete_dashboard/{dashboard['uuid']}", {}),
    ]
    for agent in ("bob", "admin", "unit", "anonymous"):
        for method, path, options in attempts:
            response = client.request(
                method, f"{GRAFANA}{path}", headers=actors.headers[agent], **options
            )
            assert response.status_code == 403, (agent, path, response.text)
            assert response.json()["detail"].startswith(NO_ACCESS)
        # Linking a node onto alice's panel, even bob's own node.
        assert link(client, actors.headers[agent], panel["uuid"], others_node).status_code == 403
    # alice may not put bob's node on her panel either: both must be the caller's.
    refused = link(client, alice, panel["uuid"], others_node)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        f"{NO_ACCESS}Only the unit node's creator can put it on a panel",
    )
    assert client.get(f"{GRAFANA}/get_dashboards", headers=bob).json() == {
        "count": 0,
        "dashboards": [],
    }
    for name in ("x", "a b c d", "n" * 21):  # the name rules: 4-20 of A-Z a-z 0-9 _ . -
        answer = client.post(f"{GRAFANA}/create_dashboard", json={"name": name}, headers=alice)
        assert answer.status_code == 422, name
    for missing in (
        client.get(f"{GRAFANA}/get_dashboard/{uuid4()}", headers=alice),
        link(client, alice, str(uuid4()), node),
        link(client, alice, panel["uuid"], str(uuid4())),
    ):
        assert missing.status_code == 404, missing.text
    still = client.get(f"{GRAFANA}/get_dashboard_panels/{dashboard['uuid']}", headers=alice)
    assert [len(item["unit_nodes_for_panel"]) for item in still.json()["panels"]] == [1]


def per_target_problems(document: dict[str, Any]) -> list[str]:
    """`dashboard_problems`, with each target checked in a panel of its own data source (the
    SDK reads a Mixed panel's queries by the panel's source) and the transformations checked
    apart (the SDK's Panel keeps them as plain dicts)."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

    problems = []
    for panel in document["panels"]:
        for target in panel["targets"]:
            alone = copy.deepcopy(document)
            alone["panels"] = [
                {
                    key: value
                    for key, value in panel.items()
                    if key not in ("transformations", "datasource", "targets")
                }
                | {"datasource": target["datasource"], "targets": [target]}
            ]
            problems += dashboard_problems(alone)
        for transformation in panel.get("transformations", []):
            model = DataTransformerConfig.from_json(transformation)
            if json.loads(JSONEncoder(sort_keys=True).encode(model)) != transformation:
                problems.append(f"transformation {transformation} is not Grafana's")
    return problems


def test_sync_saves_the_generated_dashboard(database_url: str, actors: Actors, app: FastAPI):
    name = unit_name(app, actors.unit_uuid)
    nodes = {
        "temp": add_pipeline_node(app, actors.unit_uuid, "temp/pepeunit", AGGREGATION),
        "level": add_pipeline_node(app, actors.unit_uuid, "level/pepeunit", N_RECORDS),
        "setpoint": add_pipeline_node(app, actors.unit_uuid, "setpoint/pepeunit", LAST_VALUE),
        "status": add_pipeline_node(app, actors.unit_uuid, "status/pepeunit", TEXT_WINDOW),
        "idle": add_pipeline_node(app, actors.unit_uuid, "idle/pepeunit", None),
    }
    with fake_grafana() as grafana:
        settings = make_settings(database_url, grafana_url=grafana.url, grafana_token=TOKEN)
        with checked_client(create_app(settings, password_hasher=CHEAP_ARGON2)) as client:
            alice = actors.headers["alice"]
            dashboard = new_dashboard(client, alice)
            sync = f"{GRAFANA}/sync_dashboard"
            empty = client.post(sync, params={"uuid": dashboard["uuid"]}, headers=alice)
            assert empty.json()["detail"] == f"{GRAFANA_ERROR}The dashboard has no panels"
            chart = new_panel(client, alice, dashboard["uuid"], "climate", "timeseries")
            for key in ("temp", "level", "setpoint"):
                created(link(client, alice, chart["uuid"], nodes[key]))
            table = new_panel(client, alice, dashboard["uuid"], "status", "table")
            created(link(client, alice, table["uuid"], nodes["status"], as_json=True))
            idle = new_panel(client, alice, dashboard["uuid"], "idle-one", "stat")
            created(link(client, alice, idle["uuid"], nodes["idle"]))
            refused = client.post(sync, params={"uuid": dashboard["uuid"]}, headers=alice)
            assert (refused.status_code, refused.json()["detail"]) == (
                422,
                f"{GRAFANA_ERROR}{name}@idle/pepeunit has no active pipeline",
            )
            assert grafana.requests == []
            assert (
                client.delete(f"{GRAFANA}/delete_panel/{idle['uuid']}", headers=alice).status_code
                == 204
            )

            synced = created(
                client.post(sync, params={"uuid": dashboard["uuid"]}, headers=alice), 200
            )
            uid = dashboard["grafana_uuid"]
            assert synced["sync_status"] == "Success", synced
            assert synced["sync_error"] is None
            assert synced["dashboard_url"] == f"{grafana.url}/d/{uid}/x"
            assert synced["inc_last_version"] == 3
            assert synced["sync_last_datetime"] is not None
            (request,) = grafana.requests
            assert (request.path, request.headers["authorization"]) == (
                "/api/dashboards/db",
                f"Bearer {TOKEN}",
            )
            assert request.body["overwrite"] is True
            document = request.body["dashboard"]
            assert (document["uid"], document["title"], document["tags"]) == (
                uid,
                "greenhouse",
                ["greenhouse"],
            )
            problems = per_target_problems(document)
            assert problems == [], "\n".join(problems)
            climate, status = document["panels"]
            assert (climate["type"], climate["title"], status["type"]) == (
                "timeseries",
                "climate",
                "table",
            )
            assert climate["gridPos"]["y"] < status["gridPos"]["y"]
            dialect = sql_dialect_of_url(database_url)
            # Nodes by unit@topic: level, setpoint, temp. ClickHouse and SQL together: Mixed.
            assert climate["datasource"] == {"type": "datasource", "uid": "-- Mixed --"}
            level, setpoint, temp = climate["targets"]
            assert [target["refId"] for target in climate["targets"]] == ["A", "B", "C"]
            assert level["rawSql"] == clickhouse_query(UUID(nodes["level"]), N_RECORDS)
            assert temp["rawSql"] == clickhouse_query(UUID(nodes["temp"]), AGGREGATION)
            last_sql = last_value_query(UUID(nodes["setpoint"]), LAST_VALUE, dialect)
            sql_field = "queryText" if dialect is SqlDialect.SQLITE else "rawSql"
            assert setpoint[sql_field] == last_sql
            assert [
                (item["matcher"]["options"], item["properties"][0]["value"])
                for item in climate["fieldConfig"]["overrides"]
            ] == [
                ("A", f"{name}@level/pepeunit"),
                ("B", f"{name}@setpoint/pepeunit"),
                ("C", f"{name}@temp/pepeunit"),
            ]
            assert "transformations" not in climate
            assert status["datasource"] == status["targets"][0]["datasource"]
            assert [item["id"] for item in status["transformations"]] == ["extractFields"]
            assert status["transformations"][0]["filter"] == {"id": "byRefId", "options": "A"}

            # Again: the same document (stable uid and panel ids), overwriting.
            created(client.post(sync, params={"uuid": dashboard["uuid"]}, headers=alice), 200)
            assert grafana.requests[-1].body["dashboard"] == document
            # Grafana refusing is recorded on the dashboard, not raised.
            grafana.status = 412
            failed = created(
                client.post(sync, params={"uuid": dashboard["uuid"]}, headers=alice), 200
            )
            assert failed["sync_status"] == "Error"
            assert "Grafana answered 412" in failed["sync_error"]
            fetched = client.get(f"{GRAFANA}/get_dashboard/{dashboard['uuid']}", headers=alice)
            assert fetched.json()["sync_status"] == "Error"

    # Without PU_GRAFANA_URL / PU_GRAFANA_TOKEN nothing is sent, and the dashboard says so.
    with checked_client(
        create_app(make_settings(database_url), password_hasher=CHEAP_ARGON2)
    ) as client:
        unconfigured = created(
            client.post(
                f"{GRAFANA}/sync_dashboard",
                params={"uuid": dashboard["uuid"]},
                headers=actors.headers["alice"],
            ),
            200,
        )
        assert unconfigured["sync_status"] == "Error"
        assert "PU_GRAFANA_URL and PU_GRAFANA_TOKEN are not set" in unconfigured["sync_error"]
