"""Generated dashboards: valid for Grafana's own models (grafana-foundation-sdk), a panel per
active pipeline with the type its policy calls for, `unit@topic` titles, the provisioned data
sources, and a layout without overlaps."""

import json
from uuid import uuid4

import pytest
from sqlalchemy import update

from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.models import UnitNode
from pepeunit_grafana import SqlDialect, build_dashboards
from pepeunit_grafana.datasources import datasources_document
from tests.grafana.builders import NodeSpec, UnitSpec, config
from tests.grafana.examples import EXAMPLE_DIRECTORY
from tests.grafana.fleets import database_with, every_kind_fleet, inventory_of, sqlite_url
from tests.grafana.grafana_models import dashboard_problems


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return database_with(sqlite_url(tmp_path_factory.mktemp("fleet")), every_kind_fleet())


@pytest.mark.parametrize("dialect", list(SqlDialect))
def test_every_dashboard_is_one_grafanas_models_read_unchanged(fleet_url: str, dialect) -> None:
    dashboards = build_dashboards(inventory_of(fleet_url), dialect)
    assert [dashboard.unit_name for dashboard in dashboards] == ["plant-a", "plant-b"]
    for dashboard in dashboards:
        assert dashboard_problems(dashboard.document) == [], dashboard.unit_name


def test_committed_example_dashboards_are_valid() -> None:
    files = sorted((EXAMPLE_DIRECTORY / "dashboards" / "pepeunit").glob("*.json"))
    assert len(files) == 3
    for path in files:
        assert dashboard_problems(json.loads(path.read_text())) == [], path.name


def chart(document: dict) -> dict:
    return next(panel for panel in document["panels"] if panel["type"] == "timeseries")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: chart(d)["gridPos"].update(w="12"), "grid_pos.w"),
        (lambda d: chart(d).update(colour="red"), "colour dropped"),
        (lambda d: chart(d)["targets"][0].update(format="time_series"), "format"),
        (lambda d: chart(d)["targets"][0]["datasource"].update(type="mysql"), "names"),
        (lambda d: chart(d)["options"]["tooltip"].update(mode="sometimes"), "mode"),
        (lambda d: d.update(tags="pepeunit"), "tags"),
        (lambda d: d.pop("schemaVersion"), "schemaVersion"),
    ],
)
def test_the_validator_rejects_what_grafana_would_not_read(
    fleet_url: str, change, complaint
) -> None:
    (dashboard, _) = build_dashboards(inventory_of(fleet_url), SqlDialect.POSTGRESQL)
    document = json.loads(json.dumps(dashboard.document))
    change(document)
    problems = dashboard_problems(document)
    assert any(complaint in problem for problem in problems), problems


def test_a_panel_per_active_pipeline_typed_by_policy(fleet_url: str) -> None:
    (plant_a, plant_b) = build_dashboards(inventory_of(fleet_url), SqlDialect.POSTGRESQL)
    kinds = {
        panel["title"]: (panel["type"], panel["datasource"]["uid"])
        for panel in plant_a.document["panels"]
    }
    assert kinds == {
        "plant-a@last_number/pepeunit": ("stat", "pepeunit-sql"),
        "plant-a@last_text/pepeunit": ("stat", "pepeunit-sql"),
        "plant-a@nrec_number/pepeunit": ("timeseries", "pepeunit-clickhouse"),
        "plant-a@nrec_text/pepeunit": ("table", "pepeunit-clickhouse"),
        "plant-a@window_number/pepeunit": ("timeseries", "pepeunit-clickhouse"),
        "plant-a@window_text/pepeunit": ("table", "pepeunit-clickhouse"),
        "plant-a@agg_number/pepeunit": ("timeseries", "pepeunit-clickhouse"),
    }
    assert [panel["title"] for panel in plant_b.document["panels"]] == ["plant-b@temp/pepeunit"]
    descriptions = {panel["title"]: panel["description"] for panel in plant_a.document["panels"]}
    assert descriptions["plant-a@agg_number/pepeunit"].startswith("Aggregation: Max per 300 s")
    assert "newest 16 values" in descriptions["plant-a@nrec_text/pepeunit"]


@pytest.mark.parametrize("dialect", list(SqlDialect))
def test_panels_query_the_provisioned_data_sources(fleet_url: str, dialect: SqlDialect) -> None:
    provisioned = {
        source["uid"]: source["type"] for source in datasources_document(dialect)["datasources"]
    }
    for dashboard in build_dashboards(inventory_of(fleet_url), dialect):
        for panel in dashboard.document["panels"]:
            (target,) = panel["targets"]
            assert target["datasource"] == panel["datasource"]
            assert provisioned[panel["datasource"]["uid"]] == panel["datasource"]["type"]


def test_layout_has_unique_ids_stats_first_and_no_overlap(fleet_url: str) -> None:
    (plant_a, _) = build_dashboards(inventory_of(fleet_url), SqlDialect.POSTGRESQL)
    panels = plant_a.document["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    assert [panel["type"] for panel in panels[:2]] == ["stat", "stat"]
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, panel["title"]
        cells |= covered
    charts = [panel for panel in panels if panel["type"] != "stat"]
    assert min(panel["gridPos"]["y"] for panel in charts) == max(
        panel["gridPos"]["y"] + panel["gridPos"]["h"] for panel in panels if panel["type"] == "stat"
    )


def test_a_stored_config_that_does_not_validate_is_skipped_and_reported(tmp_path) -> None:
    good, bad = uuid4(), uuid4()
    url = database_with(
        sqlite_url(tmp_path),
        [
            UnitSpec(
                uuid4(),
                "lab",
                [
                    NodeSpec(good, "a/pepeunit", config({"policy_type": "LastValue"})),
                    NodeSpec(bad, "b/pepeunit", config({"policy_type": "LastValue"})),
                ],
            )
        ],
    )
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(update(UnitNode).where(UnitNode.uuid == bad).values(data_pipe_yml="{"))
    engine.dispose()
    inventory = inventory_of(url)
    assert [node.node_uuid for unit in inventory.units for node in unit.nodes] == [good]
    (skipped,) = inventory.skipped
    assert skipped.node_uuid == bad and "lab@b/pepeunit" in str(skipped)
