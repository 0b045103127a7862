"""GraphQL dashboard fields (docs/graphql.md#dashboards) against their REST twins under
`/grafana`."""

from uuid import UUID

from fastapi import FastAPI
from fastapi.testclient import TestClient

from pepeunit_core.db.enums import DataPipeStatus, UnitNodeType
from pepeunit_core.db.models import Unit
from pepeunit_core.pipeline_store import stored_config_json
from tests.grafana.builders import config
from tests.pepeunit_core.builders import add_node

from .conftest import API, Actors
from .graphql_twins import as_graphql, data, gql, refusal_status, without_typenames

GRAFANA = f"{API}/grafana"
DASHBOARD_FIELDS = (
    "{ __typename uuid grafanaUuid name createDatetime dashboardUrl incLastVersion syncStatus "
    "syncError syncLastDatetime creatorUuid }"
)
NODE_FIELDS = (
    "{ __typename uuid type visibilityLevel isRewritableInput maxConnections topicName "
    "lastUpdateDatetime isDataPipeActive dataPipeYml dataPipeStatus dataPipeError "
    "createDatetime state unitUuid creatorUuid }"
)
LINK_FIELDS = (
    f"{{ __typename unitNode {NODE_FIELDS} isLastData isForcedToJson unitWithUnitNodeName }}"
)
PANEL_FIELDS = (
    "{ __typename uuid type title createDatetime creatorUuid dashboardUuid "
    f"unitNodesForPanel {LINK_FIELDS} }}"
)
CREATE = (
    "mutation($dashboard: DashboardCreateInput!) { createDashboard(dashboard: $dashboard) "
    f"{DASHBOARD_FIELDS} }}"
)
GET = f"query($uuid: UUID!) {{ getDashboard(uuid: $uuid) {DASHBOARD_FIELDS} }}"
LIST = (
    "query($filters: DashboardFilterInput!) { getDashboards(filters: $filters) "
    f"{{ __typename count dashboards {DASHBOARD_FIELDS} }} }}"
)
CREATE_PANEL = (
    "mutation($panel: DashboardPanelCreateInput!) { createDashboardPanel(dashboardPanel: $panel)"
    f" {PANEL_FIELDS} }}"
)
PANELS = (
    "query($uuid: UUID!) { getDashboardPanels(uuid: $uuid) "
    f"{{ __typename count panels {PANEL_FIELDS} }} }}"
)
LINK = (
    "mutation($link: LinkUnitNodeToPanelInput!) { linkUnitNodeToPanel(dashboard: $link) "
    f"{LINK_FIELDS} }}"
)
SYNC = f"mutation($uuid: UUID!) {{ syncDashboard(uuid: $uuid) {DASHBOARD_FIELDS} }}"
DELETE_LINK = (
    "mutation($node: UUID!, $panel: UUID!) { deleteLink(unitNodeUuid: $node, "
    "dashboardPanelUuid: $panel) { isNone } }"
)
DELETE_PANEL = "mutation($uuid: UUID!) { deletePanel(uuid: $uuid) { isNone } }"
DELETE = "mutation($uuid: UUID!) { deleteDashboard(uuid: $uuid) { isNone } }"


def alices_node(app: FastAPI, actors: Actors, pipeline: bool = True) -> str:
    """An Output node of alice's unit, with an active LastValue pipeline (or none)."""
    with app.state.context.session_factory() as session:
        unit = session.get_one(Unit, actors.unit_uuid)
        node = add_node(session, unit, UnitNodeType.OUTPUT, f"temp{pipeline}/pepeunit")
        if pipeline:
            node.is_data_pipe_active = True
            node.data_pipe_status = DataPipeStatus.ACTIVE
            node.data_pipe_yml = stored_config_json(config({"policy_type": "LastValue"}))
        session.commit()
        return str(node.uuid)


def test_dashboards_panels_and_links_answer_what_rest_answers(
    client: TestClient, app: FastAPI, actors: Actors
):
    alice = actors.headers["alice"]
    created = data(gql(client, CREATE, {"dashboard": {"name": "greenhouse"}}, alice))
    dashboard = created["createDashboard"]
    assert dashboard["__typename"] == "DashboardType" and dashboard["syncStatus"] is None
    rest = client.get(f"{GRAFANA}/get_dashboard/{dashboard['uuid']}", headers=alice).json()
    assert without_typenames(dashboard) == as_graphql(rest)
    assert data(gql(client, GET, {"uuid": dashboard["uuid"]}, alice))["getDashboard"] == dashboard
    data(gql(client, CREATE, {"dashboard": {"name": "cellar"}}, alice))
    for filters, params in (({}, {}), ({"searchString": "green"}, {"search_string": "green"})):
        rest = client.get(f"{GRAFANA}/get_dashboards", params=params, headers=alice).json()
        answer = data(gql(client, LIST, {"filters": filters}, alice))["getDashboards"]
        assert answer["__typename"] == "DashboardsResultType"
        assert without_typenames(answer) == as_graphql(rest)

    panel_input = {
        "dashboardUuid": dashboard["uuid"],
        "title": "temperature",
        "type": "TIME_SERIES",
    }
    panel = data(gql(client, CREATE_PANEL, {"panel": panel_input}, alice))["createDashboardPanel"]
    assert panel["__typename"] == "DashboardPanelType" and panel["type"] == "TIME_SERIES"
    assert panel["unitNodesForPanel"] == []
    node = alices_node(app, actors)
    link_input = {
        "unitNodeUuid": node,
        "dashboardPanelsUuid": panel["uuid"],
        "isLastData": False,
        "isForcedToJson": True,
    }
    link = data(gql(client, LINK, {"link": link_input}, alice))["linkUnitNodeToPanel"]
    assert link["__typename"] == "UnitNodeForPanelType"
    assert link["unitNode"]["__typename"] == "UnitNodeType"
    assert link["unitNode"]["type"] == "OUTPUT" and link["unitNode"]["uuid"] == node
    assert link["isForcedToJson"] is True and link["unitNode"]["dataPipeStatus"] == "Active"

    rest = client.get(f"{GRAFANA}/get_dashboard_panels/{dashboard['uuid']}", headers=alice).json()
    answer = data(gql(client, PANELS, {"uuid": dashboard["uuid"]}, alice))["getDashboardPanels"]
    assert answer["__typename"] == "DashboardPanelsResultType"
    assert without_typenames(answer) == as_graphql(rest)
    assert without_typenames(answer["panels"][0]["unitNodesForPanel"][0]) == without_typenames(link)

    synced = data(gql(client, SYNC, {"uuid": dashboard["uuid"]}, alice))["syncDashboard"]
    assert synced["syncStatus"] == "ERROR"  # no Grafana here (PU_GRAFANA_URL)
    rest = client.get(f"{GRAFANA}/get_dashboard/{dashboard['uuid']}", headers=alice).json()
    assert without_typenames(synced) == as_graphql(rest)

    variables = {"node": node, "panel": panel["uuid"]}
    assert data(gql(client, DELETE_LINK, variables, alice)) == {"deleteLink": {"isNone": True}}
    rest_status = client.delete(
        f"{GRAFANA}/delete_link/x",
        params={"unit_node_uuid": node, "dashboard_panel_uuid": panel["uuid"]},
        headers=alice,
    ).status_code
    assert refusal_status(gql(client, DELETE_LINK, variables, alice)) == rest_status == 404
    answer = data(gql(client, DELETE_PANEL, {"uuid": panel["uuid"]}, alice))
    assert answer == {"deletePanel": {"isNone": True}}
    answer = data(gql(client, DELETE, {"uuid": dashboard["uuid"]}, alice))
    assert answer == {"deleteDashboard": {"isNone": True}}
    gone = client.get(f"{GRAFANA}/get_dashboard/{dashboard['uuid']}", headers=alice)
    assert refusal_status(gql(client, GET, {"uuid": dashboard["uuid"]}, alice)) == gone.status_code
    assert gone.status_code == 404


def test_refusals_match_rest(client: TestClient, app: FastAPI, actors: Actors):
    alice, bob = actors.headers["alice"], actors.headers["bob"]
    dashboard = data(gql(client, CREATE, {"dashboard": {"name": "greenhouse"}}, alice))
    uuid = dashboard["createDashboard"]["uuid"]
    for caller in ("anonymous", "unit", "bob"):
        headers = actors.headers[caller]
        rest = client.get(f"{GRAFANA}/get_dashboard/{uuid}", headers=headers).status_code
        assert refusal_status(gql(client, GET, {"uuid": uuid}, headers)) == rest == 403
        rest = client.get(f"{GRAFANA}/get_dashboard_panels/{uuid}", headers=headers).status_code
        assert refusal_status(gql(client, PANELS, {"uuid": uuid}, headers)) == rest == 403
        rest = client.delete(f"{GRAFANA}/delete_dashboard/{uuid}", headers=headers).status_code
        assert refusal_status(gql(client, DELETE, {"uuid": uuid}, headers)) == rest == 403
        rest = client.post(f"{GRAFANA}/sync_dashboard", params={"uuid": uuid}, headers=headers)
        assert refusal_status(gql(client, SYNC, {"uuid": uuid}, headers)) == rest.status_code
    rest = client.get(f"{GRAFANA}/get_dashboards").status_code
    assert refusal_status(gql(client, LIST, {"filters": {}})) == rest == 403

    # A node without a pipeline cannot be drawn: the sync is refused as REST refuses it.
    panel_input = {"dashboardUuid": uuid, "title": "humidity", "type": "GAUGE"}
    panel = data(gql(client, CREATE_PANEL, {"panel": panel_input}, alice))["createDashboardPanel"]
    bare = {
        "unitNodeUuid": alices_node(app, actors, pipeline=False),
        "dashboardPanelsUuid": panel["uuid"],
        "isLastData": True,
        "isForcedToJson": False,
    }
    data(gql(client, LINK, {"link": bare}, alice))
    rest = client.post(f"{GRAFANA}/sync_dashboard", params={"uuid": uuid}, headers=alice)
    answer = gql(client, SYNC, {"uuid": uuid}, alice)
    assert refusal_status(answer) == rest.status_code == 422
    assert answer["errors"][0]["message"] == rest.json()["detail"]

    bobs = data(gql(client, CREATE, {"dashboard": {"name": "bobs-board"}}, bob))
    panel_input = {
        "dashboardUuid": bobs["createDashboard"]["uuid"],
        "title": "temperature",
        "type": "STAT",
    }
    panel = data(gql(client, CREATE_PANEL, {"panel": panel_input}, bob))["createDashboardPanel"]
    node = alices_node(app, actors)
    link = {
        "unitNodeUuid": node,
        "dashboardPanelsUuid": panel["uuid"],
        "isLastData": False,
        "isForcedToJson": False,
    }
    rest = client.post(
        f"{GRAFANA}/link_unit_node_to_panel",
        json={"unit_node_uuid": node, "dashboard_panels_uuid": panel["uuid"]},
        headers=bob,
    )
    assert refusal_status(gql(client, LINK, {"link": link}, bob)) == rest.status_code == 403
    rest = client.delete(f"{GRAFANA}/delete_panel/{panel['uuid']}", headers=alice).status_code
    assert refusal_status(gql(client, DELETE_PANEL, {"uuid": panel["uuid"]}, alice)) == rest == 403

    answer = gql(client, CREATE_PANEL, {"panel": {**panel_input, "type": "timeseries"}}, bob)
    assert answer["data"] is None
    message = answer["errors"][0]["message"]
    assert "Value 'timeseries' does not exist in 'DashboardPanelTypeEnum' enum" in message
    answer = gql(client, CREATE, {"dashboard": {"name": "x"}}, bob)
    assert refusal_status(answer) == 422
    assert "dashboard.name: at least 4 characters (got 1)" in answer["errors"][0]["message"]
    answer = gql(client, LIST, {"filters": {"limit": 100000}}, bob)
    assert refusal_status(answer) == 422
    assert UUID(uuid).hex  # the dashboard survived every refused call
    assert client.get(f"{GRAFANA}/get_dashboard/{uuid}", headers=alice).status_code == 200
