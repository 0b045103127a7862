"""`pepeunit grafana generate`, run as the installed console script: the provisioning layout
from the database, and `--push` to a Grafana HTTP API (a real local HTTP server)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.grafana.fleets import database_with, every_kind_fleet, sqlite_url
from tests.grafana.grafana_api_server import fake_grafana

CLI = Path(sys.executable).parent / "pepeunit"
TOKEN = "glsa_test-token"


def run(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PU_")}
    return subprocess.run(
        [str(CLI), "grafana", "generate", *args],
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generate_writes_the_layout_with_the_dialect_of_the_database(tmp_path: Path) -> None:
    url = database_with(sqlite_url(tmp_path), every_kind_fleet())
    out = tmp_path / "provisioning"
    result = run(str(out), "--dashboards-path", "/srv/dash", PU_SQLALCHEMY_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "2 dashboard(s), 8 panel(s) written" in result.stderr
    assert set(result.stdout.split()) == {
        str(out / "datasources/pepeunit.yaml"),
        str(out / "dashboards/pepeunit.yaml"),
        str(out / "dashboards/pepeunit/plant-a.json"),
        str(out / "dashboards/pepeunit/plant-b.json"),
    }
    datasources = yaml.safe_load((out / "datasources/pepeunit.yaml").read_text())
    assert [source["type"] for source in datasources["datasources"]] == [
        "grafana-clickhouse-datasource",
        "frser-sqlite-datasource",  # PU_SQLALCHEMY_DATABASE_URL is SQLite
    ]
    provider = yaml.safe_load((out / "dashboards/pepeunit.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/srv/dash"
    forced = run(str(out), "--sql-dialect", "postgresql", PU_SQLALCHEMY_DATABASE_URL=url)
    assert forced.returncode == 0, forced.stderr
    datasources = yaml.safe_load((out / "datasources/pepeunit.yaml").read_text())
    assert datasources["datasources"][1]["type"] == "grafana-postgresql-datasource"
    assert datasources["datasources"][1]["url"] == "${PEPEUNIT_POSTGRES_HOST}"


def test_push_saves_every_dashboard_through_the_api(tmp_path: Path) -> None:
    url = database_with(sqlite_url(tmp_path), every_kind_fleet())
    out = tmp_path / "provisioning"
    with fake_grafana() as grafana:
        result = run(
            str(out),
            "--push",
            PU_SQLALCHEMY_DATABASE_URL=url,
            PU_GRAFANA_URL=grafana.url + "/",
            PU_GRAFANA_TOKEN=TOKEN,
        )
    assert result.returncode == 0, result.stderr
    assert [request.path for request in grafana.requests] == ["/api/dashboards/db"] * 2
    for request in grafana.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["content-type"] == "application/json"
        assert request.body["overwrite"] is True
        uid = request.body["dashboard"]["uid"]
        name = request.body["dashboard"]["title"]
        written = json.loads((out / f"dashboards/pepeunit/{name}.json").read_text())
        assert request.body["dashboard"] == written
        assert f"pushed {uid} /d/{uid}/x" in result.stdout
    assert "2 dashboard(s) saved in Grafana" in result.stderr


def test_push_reports_a_refusal_and_fails(tmp_path: Path) -> None:
    url = database_with(sqlite_url(tmp_path), every_kind_fleet())
    with fake_grafana() as grafana:
        grafana.status = 412
        result = run(
            str(tmp_path / "out"),
            "--push",
            PU_SQLALCHEMY_DATABASE_URL=url,
            PU_GRAFANA_URL=grafana.url,
            PU_GRAFANA_TOKEN=TOKEN,
        )
    assert result.returncode == 1
    assert len(grafana.requests) == 1  # stops at the first refusal
    assert "Grafana answered 412" in result.stderr and "changed by someone else" in result.stderr


def test_push_without_grafana_settings_changes_nothing(tmp_path: Path) -> None:
    url = database_with(sqlite_url(tmp_path), every_kind_fleet())
    result = run(str(tmp_path / "out"), "--push", PU_SQLALCHEMY_DATABASE_URL=url)
    assert result.returncode == 1
    assert "PU_GRAFANA_URL and PU_GRAFANA_TOKEN" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_database_that_was_never_migrated_is_an_error(tmp_path: Path) -> None:
    result = run(str(tmp_path / "out"), PU_SQLALCHEMY_DATABASE_URL=sqlite_url(tmp_path))
    assert result.returncode == 1
    assert "pepeunit migrate" in result.stderr
