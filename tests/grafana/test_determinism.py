"""Generation is deterministic: the same database gives the same bytes, whatever order its rows
were inserted in; uids come from the unit uuid and panel ids from the node uuid; the committed
example provisioning in grafana/ is what the generator makes of pipelines/."""

from pathlib import Path
from uuid import UUID

import pytest

from pepeunit_grafana import SqlDialect, build_dashboards, write_provisioning
from pepeunit_grafana.provisioning import render_json
from tests.grafana.builders import NodeSpec, UnitSpec, config
from tests.grafana.examples import EXAMPLE_DIRECTORY, generate_examples
from tests.grafana.fleets import database_with, every_kind_fleet, inventory_of, sqlite_url


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def reversed_fleet() -> list[UnitSpec]:
    """The same units and nodes, inserted in the opposite order."""
    return [
        UnitSpec(unit.uuid, unit.name, list(reversed(unit.nodes)))
        for unit in reversed(every_kind_fleet())
    ]


def test_the_same_database_gives_the_same_files(tmp_path: Path) -> None:
    url = database_with(sqlite_url(tmp_path), every_kind_fleet())
    for name in ("first", "second"):
        dashboards = build_dashboards(inventory_of(url), SqlDialect.POSTGRESQL)
        write_provisioning(tmp_path / name, dashboards, SqlDialect.POSTGRESQL)
    first = tree(tmp_path / "first")
    assert first == tree(tmp_path / "second")
    assert sorted(first) == [
        "dashboards/pepeunit.yaml",
        "dashboards/pepeunit/plant-a.json",
        "dashboards/pepeunit/plant-b.json",
        "datasources/pepeunit.yaml",
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_row_order_does_not_matter(tmp_path: Path, backend: str, request) -> None:
    if backend == "sqlite":
        urls = [sqlite_url(tmp_path, "a.sqlite"), sqlite_url(tmp_path, "b.sqlite")]
    else:
        urls = [
            request.getfixturevalue("postgres_database").url,
            sqlite_url(tmp_path, "b.sqlite"),  # and PostgreSQL agrees with SQLite
        ]
    in_order = build_dashboards(
        inventory_of(database_with(urls[0], every_kind_fleet())), SqlDialect.POSTGRESQL
    )
    reversed_order = build_dashboards(
        inventory_of(database_with(urls[1], reversed_fleet())), SqlDialect.POSTGRESQL
    )
    assert [render_json(d.document) for d in in_order] == [
        render_json(d.document) for d in reversed_order
    ]


def test_uids_and_panel_ids_come_from_uuids(tmp_path: Path) -> None:
    unit = UUID("12345678-9abc-4def-8123-456789abcdef")
    first, second = (
        UUID("0abcdef0-0000-4000-8000-000000000001"),
        UUID("0abcdef0-0000-4000-8000-000000000002"),
    )
    third = UUID("00000001-0000-4000-8000-000000000003")
    number = config({"policy_type": "NRecords", "n_records_count": 4})

    def panel_ids(nodes: list[NodeSpec], name: str) -> dict[str, int]:
        url = database_with(sqlite_url(tmp_path, name), [UnitSpec(unit, "rig", nodes)])
        (dashboard,) = build_dashboards(inventory_of(url), SqlDialect.SQLITE)
        assert dashboard.uid == dashboard.document["uid"] == f"pu-{unit}"
        assert len(dashboard.uid) <= 40
        return {panel["title"]: panel["id"] for panel in dashboard.document["panels"]}

    before = panel_ids(
        [NodeSpec(first, "a/pepeunit", number), NodeSpec(second, "b/pepeunit", number)], "1.sqlite"
    )
    # first and second share their leading hex digits: the later one moves to the next id.
    assert before == {"rig@a/pepeunit": 0x0ABCDEF + 1, "rig@b/pepeunit": 0x0ABCDEF + 2}
    after = panel_ids(
        [
            NodeSpec(third, "0/pepeunit", number),
            NodeSpec(first, "a/pepeunit", number),
            NodeSpec(second, "b/pepeunit", number),
        ],
        "2.sqlite",
    )
    assert after == {**before, "rig@0/pepeunit": 1}


def test_dashboards_of_units_without_pipelines_are_removed(tmp_path: Path) -> None:
    url = database_with(sqlite_url(tmp_path), every_kind_fleet())
    out = tmp_path / "provisioning"
    (out / "alerting").mkdir(parents=True)
    (out / "alerting" / "mine.yaml").write_text("apiVersion: 1\n")
    write_provisioning(
        out, build_dashboards(inventory_of(url), SqlDialect.SQLITE), SqlDialect.SQLITE
    )
    only_b = [
        d
        for d in build_dashboards(inventory_of(url), SqlDialect.SQLITE)
        if d.unit_name == "plant-b"
    ]
    report = write_provisioning(out, only_b, SqlDialect.SQLITE)
    assert [path.name for path in report.removed] == ["plant-a.json"]
    assert sorted(tree(out)) == [
        "alerting/mine.yaml",
        "dashboards/pepeunit.yaml",
        "dashboards/pepeunit/plant-b.json",
        "datasources/pepeunit.yaml",
    ]


def test_committed_examples_are_what_the_generator_makes(tmp_path: Path) -> None:
    generate_examples(tmp_path)
    committed = {
        name: text for name, text in tree(EXAMPLE_DIRECTORY).items() if name != "README.md"
    }
    assert committed == tree(tmp_path), (
        "grafana/ is out of date: regenerate it with `.venv/bin/python -m tests.grafana.examples`"
    )
