"""Per-user export and import (issue 17, docs/user-export.md): alice's archive from an instance
filled through the API (two users, pipelines of all four policies, stored rows, an edge, a
dashboard) is imported on a fresh instance (its own database, chdb database and clones) under
a new user: her units, nodes, pipelines, rows and dashboard come back under new uuids, nothing
of bob's does, and her units' env only when secrets were asked for. A damaged, cut short or
newer archive is refused with the target unchanged."""

import csv
import hashlib
import io
import json
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from control_plane.app import create_app
from control_plane.services.errors import StoreUnavailableError
from control_plane.services.user_export import import_user
from flows.storage.clickhouse_writer import ClickHouseWriter
from pepeunit_cli.main import main
from pepeunit_core.backup.manifest import content_sha256
from pepeunit_core.db.models import User
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings
from pepeunit_core.stored_data.rows import IngestedRow
from pipelines.rows import AggregationRow
from tests.control_plane.conftest import (
    API,
    CHEAP_ARGON2,
    auth,
    checked_client,
    login_token,
    make_settings,
    register,
)
from tests.control_plane_registry.git_sources import UnitRepository
from tests.services.clickhouse import migrated_chdb_database

from .dump_stores import dump_clickhouse, dump_sql
from .instance import Instance, fill

INPUT_PIPELINES = {
    "alice-one": "{policy_type: LastValue}",
    "alice-two": "{policy_type: Aggregation, time_window_size: 60, aggregation_functions: Avg}",
}
"""Pipelines on alice's Input nodes, so her units hold all four policies (fill gives her
NRecords and TimeWindow on their Outputs)."""


@dataclass
class Side:
    client: TestClient
    app: FastAPI
    settings: Settings
    clickhouse: Client
    sql_url: str


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty migrated database to copy: cheaper than migrating each instance's."""
    path = tmp_path_factory.mktemp("user-export-template") / "pepeunit.sqlite"
    migrate_sql(f"sqlite:///{path}")
    return path


@contextmanager
def instance_side(
    root: Path, template: Path, clickhouse_client: Client, clickhouse_path: Path
) -> Iterator[Side]:
    """An instance of its own: SQLite, a chdb database and a clone directory under `root`."""
    root.mkdir()
    shutil.copyfile(template, root / "pepeunit.sqlite")
    sql_url = f"sqlite:///{root / 'pepeunit.sqlite'}"
    with migrated_chdb_database(clickhouse_client, clickhouse_path) as (client, dsn):
        settings = make_settings(
            sql_url,
            data_dir=root,
            clickhouse_database_url=dsn,
            save_repo_path=root / "repos",
            registry_allowed_url_schemes=("https", "file"),
        )
        app = create_app(settings, password_hasher=CHEAP_ARGON2)
        with checked_client(app) as http:
            yield Side(http, app, settings, client, sql_url)


def _set_input_pipelines(side: Side, instance: Instance) -> dict[str, str]:
    alice = instance.headers["alice"]
    inputs = {}
    for name, policy in INPUT_PIPELINES.items():
        listed = side.client.get(
            f"{API}/unit_nodes", params={"unit_uuid": instance.units[name]}, headers=alice
        ).json()["unit_nodes"]
        (node,) = [node["uuid"] for node in listed if node["type"] == "Input"]
        config = (
            "active_period: {type: Permanent}\n"
            "filters: {type_input_value: Number, max_rate: 0, max_size: 32}\n"
            f"processing_policy: {policy}\n"
        )
        response = side.client.post(
            f"{API}/unit_nodes/set_data_pipe_config",
            params={"uuid": node},
            files={"data": ("data.yaml", config)},
            headers=alice,
        )
        assert response.status_code == 204, response.text
        inputs[name] = node
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ClickHouseWriter(side.clickhouse).write(
        [
            IngestedRow(
                0,
                AggregationRow(
                    inputs["alice-two"],
                    index + 0.25,
                    "Avg",
                    60,
                    now - timedelta(minutes=index),
                    now - timedelta(minutes=index + 1),
                    now - timedelta(minutes=index),
                ),
            )
            for index in range(6)
        ]
    )
    return inputs


@dataclass
class Source:
    side: Side
    instance: Instance
    archive: bytes
    """alice's archive, with secrets."""
    plain_archive: bytes
    """alice's archive without secrets."""


@pytest.fixture(scope="module")
def source(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_sqlite: Path,
    clickhouse_client: Client,
    clickhouse_path: Path,
) -> Iterator[Source]:
    root = tmp_path_factory.mktemp("user-export")
    (root / "git").mkdir()
    repository = UnitRepository(root / "git")
    with instance_side(
        root / "source", migrated_sqlite, clickhouse_client, clickhouse_path
    ) as side:
        instance = fill(
            side.client, repository, side.app.state.context.session_factory, side.clickhouse
        )
        instance.nodes |= {
            f"input-{name}": node for name, node in _set_input_pipelines(side, instance).items()
        }
        alice = instance.headers["alice"]
        archives = []
        for secrets in ("true", "false"):
            response = side.client.get(
                f"{API}/users/export", params={"include_secrets": secrets}, headers=alice
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/x-tar"
            archives.append(response.content)
        yield Source(side, instance, *archives)


@pytest.fixture
def target(
    tmp_path: Path, migrated_sqlite: Path, clickhouse_client: Client, clickhouse_path: Path
) -> Iterator[tuple[Side, dict[str, str | bytes]]]:
    """A fresh instance with its Admin and carol, who imports."""
    root = tmp_path / "target"
    with instance_side(root, migrated_sqlite, clickhouse_client, clickhouse_path) as side:
        register(side.client, "admin")
        register(side.client, "carol")
        yield side, auth(login_token(side.client, "carol"))


def members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {
            info.name: tar.extractfile(info).read()  # type: ignore[union-attr]
            for info in tar
            if info.isfile()
        }


def node_pipeline(archive: bytes, node: dict[str, Any]) -> str:
    return members(archive)[node["pipeline"]].decode() if node["pipeline"] else ""


def rebuilt(
    archive: bytes, replaced: dict[str, bytes] | None = None, **manifest_fields: Any
) -> bytes:
    """The archive with members replaced and manifest fields changed, its checksums made
    anew: an archive that is whole but says what a hostile client wants."""
    found = members(archive) | (replaced or {})
    manifest = json.loads(found.pop("manifest.json"))
    manifest.pop("manifest_sha256")
    manifest |= manifest_fields
    manifest["members"] = [
        {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in found.items()
    ]
    manifest["manifest_sha256"] = content_sha256(manifest)
    result = io.BytesIO()
    with tarfile.open(fileobj=result, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [*found.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return result.getvalue()


def import_archive(side: Side, headers: dict, archive: bytes) -> Any:
    return side.client.post(
        f"{API}/users/import", files={"data": ("export.tar", archive)}, headers=headers
    )


def _member_content(name: str, content: bytes) -> Any:
    """A pipeline file without its header (it names the node); a CSV's rows without the
    `size` column and with numbers as numbers (the dataflow stores `0.0` where the test's rows
    say `0`, and the size it measured)."""
    text = content.decode()
    if name.endswith(".yaml"):
        return text.split("\n", 1)[1]
    if name.endswith(".csv"):
        return [
            {key: _number_or_text(value) for key, value in row.items() if key != "size"}
            for row in csv.DictReader(io.StringIO(text))
        ]
    return json.loads(text)


def _number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def normalized(archive: bytes) -> dict[str, Any]:
    """The archive's content with every uuid replaced by its order of appearance: equal for
    the same data under other uuids."""
    found = members(archive)
    text = json.dumps(
        {
            name: _member_content(name, content)
            for name, content in sorted(found.items())
            if name != "manifest.json"
        }
    )
    records = json.loads(found["records.json"])
    order = [node["uuid"] for node in records["nodes"]] + [
        record["uuid"] for kind in ("registries", "repos", "units") for record in records[kind]
    ]
    for number, old in enumerate(order):
        text = text.replace(old, f"uuid-{number}")
    return json.loads(text)


def stores(side: Side) -> dict[str, Any]:
    repos = side.settings.resolved_repo_path
    return {
        "sql": dump_sql(side.sql_url),
        "clickhouse": dump_clickhouse(side.clickhouse),
        "clones": sorted(str(path) for path in repos.rglob("*")) if repos.exists() else [],
    }


def test_alice_reappears_under_carol_with_nothing_of_bob(source: Source, target) -> None:
    side, carol = target
    response = import_archive(side, carol, source.archive)
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["counts"] == {
        "registries": 1, "repos": 2, "units": 2, "nodes": 4, "edges": 1, "pipelines": 4,
        "dashboards": 1,
    }  # fmt: skip
    assert sorted(report["units"]) == ["alice-one", "alice-two"]
    assert set(report["units"].values()).isdisjoint(source.instance.units.values())
    assert report["rows"] == 4 + 30 + 6  # NRecords keeps 4; TimeWindow 25 + 5; Aggregation 6
    again = side.client.get(
        f"{API}/users/export", params={"include_secrets": "true"}, headers=carol
    )
    assert again.status_code == 200, again.text
    assert normalized(again.content) == normalized(source.archive)
    unit = source.instance.units["alice-one"]
    before = source.side.client.get(
        f"{API}/units/env/{unit}", headers=source.instance.headers["alice"]
    ).json()
    after = side.client.get(f"{API}/units/env/{report['units']['alice-one']}", headers=carol)
    for key in ("WIFI_SSID", "PU_SECRET_KEY", "PU_ENCRYPT_KEY"):
        assert after.json()[key] == before[key], key
    assert after.json()["PU_AUTH_TOKEN"] != before["PU_AUTH_TOKEN"]
    sql = json.dumps(dump_sql(side.sql_url))
    for bobs in ("bobby", "bob-one", "bob-two", source.instance.users["bobby"]):
        assert bobs not in sql
    for node in (source.instance.nodes["agg"], source.instance.nodes["last"]):
        assert node not in json.dumps(dump_clickhouse(side.clickhouse))


def test_secrets_only_on_request(source: Source) -> None:
    with_secrets = json.loads(members(source.archive)["records.json"])
    plain = json.loads(members(source.plain_archive)["records.json"])
    env = {unit["name"]: unit["env"] for unit in with_secrets["units"]}["alice-one"]
    assert env["WIFI_SSID"] == "grëenhouse" and "PU_SECRET_KEY" in env
    assert "PU_AUTH_TOKEN" not in env and "PU_DOMAIN" not in env
    assert all(unit["env"] is None and unit["state_storage"] is None for unit in plain["units"])
    assert b"gr\xc3\xabenhouse" not in source.plain_archive
    assert b"PU_SECRET_KEY" not in source.plain_archive


def test_bad_archives_are_refused_with_the_target_unchanged(source: Source, target) -> None:
    side, carol = target
    before = stores(side)
    archive = source.archive
    records_at = archive.index(b'"registries"')
    tampered = archive[:records_at] + b"X" + archive[records_at + 1 :]
    records = json.loads(members(archive)["records.json"])
    output = next(node for node in records["nodes"] if node["type"] == "Output")
    dangling = records | {
        "edges": [{"node_output_uuid": output["uuid"], "node_input_uuid": str(uuid.uuid4())}]
    }
    in_window = next(
        node for node in records["nodes"] if "TimeWindow" in node_pipeline(archive, node)
    )
    bad_row = f"state,create_datetime\nwarm,{datetime.now(UTC):%Y-%m-%d %H:%M:%S}\n".encode()
    cases = {
        "tampered": (tampered, "'records.json' was changed or damaged"),
        "truncated": (archive[: len(archive) // 2], "truncated or damaged"),
        "newer": (
            rebuilt(archive, format_version=2),
            "format version 2 is newer than this release reads (1)",
        ),
        "not a tar": (b"hello", "truncated or damaged"),
        "dangling edge": (
            rebuilt(archive, {"records.json": json.dumps(dangling).encode()}),
            "no Input node of the archive",
        ),
        "bad pipeline": (
            rebuilt(archive, {output["pipeline"]: b"processing_policy: {policy_type: Forever}\n"}),
            f"The pipeline of node {output['uuid']} is invalid",
        ),
        "bad row": (
            rebuilt(archive, {in_window["rows"]: bad_row}),
            f"{in_window['rows']}: Row 1: state 'warm' is not a finite number",
        ),
    }
    for case, (data, message) in cases.items():
        response = import_archive(side, carol, data)
        assert response.status_code == 422, (case, response.text)
        assert message in response.json()["detail"], (case, response.text)
    assert stores(side) == before
    assert import_archive(side, carol, source.archive).status_code == 201
    imported = stores(side)
    assert imported != before  # the comparison sees an import
    taken = import_archive(side, carol, source.archive)
    assert taken.status_code == 422, taken.text
    assert "The repo name 'repo-private' is taken on this instance" in taken.json()["detail"]
    assert stores(side) == imported


def test_each_user_exports_only_their_own(source: Source) -> None:
    client, instance = source.side.client, source.instance
    bob = client.get(f"{API}/users/export", headers=instance.headers["bobby"])
    assert bob.status_code == 200, bob.text
    records = json.loads(members(bob.content)["records.json"])
    assert [unit["name"] for unit in records["units"]] == ["bob-one", "bob-two"]
    assert records["repos"] == [] and records["edges"] == [] and records["dashboards"] == []
    assert all(unit["repo_uuid"] is None for unit in records["units"])
    assert "alice" not in bob.content.decode(errors="replace")
    device = client.get(f"{API}/users/export", headers=instance.headers["alice-one"])
    assert device.status_code == 403, device.text
    assert client.get(f"{API}/users/export").status_code == 403  # anonymous


def _cli_environment(side: Side) -> dict[str, str]:
    settings = side.settings
    return {
        "PU_DATA_DIR": str(settings.data_dir),
        "PU_SQLALCHEMY_DATABASE_URL": side.sql_url,
        "PU_CLICKHOUSE_DATABASE_URL": str(settings.clickhouse_database_url),
        "PU_SECRET_KEY": str(settings.secret_key),
        "PU_ENCRYPT_KEY": str(settings.encrypt_key),
        "PU_DOMAIN": settings.domain,
        "PU_SAVE_REPO_PATH": str(settings.resolved_repo_path),
        "PU_REGISTRY_ALLOWED_URL_SCHEMES": '["https", "file"]',
        "PU_REGISTRY_FILE_ROOTS": json.dumps([str(root) for root in settings.registry_file_roots]),
    }


def test_the_commands_do_what_the_routes_do(source: Source, target, tmp_path: Path) -> None:
    side, carol = target
    runner = CliRunner()
    archive = tmp_path / "alice.tar"
    exported = runner.invoke(
        main,
        ["user", "export", "alice", "--include-secrets", "-o", str(archive)],
        env=_cli_environment(source.side),
    )
    assert exported.exit_code == 0, exported.output
    assert "2 units" in exported.output
    assert normalized(archive.read_bytes()) == normalized(source.archive)
    missing = runner.invoke(
        main, ["user", "import", str(archive), "--as", "nobody"], env=_cli_environment(side)
    )
    assert missing.exit_code == 1 and "no user with the login 'nobody'" in missing.output
    imported = runner.invoke(
        main, ["user", "import", str(archive), "--as", "carol"], env=_cli_environment(side)
    )
    assert imported.exit_code == 0, imported.output
    assert "40 stored rows" in imported.output
    again = side.client.get(
        f"{API}/users/export", params={"include_secrets": "true"}, headers=carol
    )
    assert normalized(again.content) == normalized(source.archive)
    refused = runner.invoke(
        main, ["user", "import", str(archive), "--as", "carol"], env=_cli_environment(side)
    )
    assert refused.exit_code == 1 and "is taken on this instance" in refused.output


def test_a_store_failure_midway_leaves_nothing_behind(source: Source, target, tmp_path) -> None:
    """ClickHouse fails after the NRecords rows went in (its aggregation table is gone): the
    SQL transaction is rolled back, those rows are deleted and the new clone removed."""
    side, _carol = target
    side.clickhouse.command("DROP TABLE aggregation_entry SYNC")
    before = stores_without_aggregations(side)
    archive = tmp_path / "alice.tar"
    archive.write_bytes(source.archive)
    context = side.app.state.context
    with context.session_factory() as session:
        carol = session.scalars(select(User).where(User.login == "carol")).one()
        with pytest.raises(StoreUnavailableError, match="aggregation_entry does not exist"):
            import_user(
                session,
                side.settings,
                context.cipher,
                side.clickhouse,
                carol,
                archive,
                store_retry_seconds=0.5,
            )
    assert stores_without_aggregations(side) == before


def stores_without_aggregations(side: Side) -> dict[str, Any]:
    repos = side.settings.resolved_repo_path
    return {
        "sql": dump_sql(side.sql_url),
        "clickhouse": {
            table: side.clickhouse.query(f"SELECT count() FROM {table}").result_rows
            for table in ("n_last_entry", "window_entry")
        },
        "clones": sorted(str(path) for path in repos.rglob("*")) if repos.exists() else [],
    }


def test_units_on_another_users_repo_need_that_repo(source: Source, target) -> None:
    """bob's units are built on alice's public repo: his archive names it, and imports once
    the target has a repo of that name he may see."""
    side, carol = target
    exported = source.side.client.get(
        f"{API}/users/export", headers=source.instance.headers["bobby"]
    ).content
    (rows,) = [
        node["rows"]
        for node in json.loads(members(exported)["records.json"])["nodes"]
        if node["rows"]
    ]
    # fill's Aggregation rows end at whole seconds; the dataflow's (and an import's) at minutes
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    aligned = "state,aggregation_type,create_datetime,start_window_datetime,end_window_datetime\n"
    aligned += "".join(
        f"{index}.5,Avg,{end - timedelta(minutes=index):%Y-%m-%d %H:%M:%S},"
        f"{end - timedelta(minutes=index + 1):%Y-%m-%d %H:%M:%S},"
        f"{end - timedelta(minutes=index):%Y-%m-%d %H:%M:%S}\n"
        for index in reversed(range(3))
    )
    bob = rebuilt(exported, {rows: aligned.encode()})
    register(side.client, "dave")
    dave = auth(login_token(side.client, "dave"))
    refused = import_archive(side, dave, bob)
    assert refused.status_code == 422, refused.text
    assert "built on the repo repo-public, which is not on this instance" in refused.text
    assert import_archive(side, carol, source.archive).status_code == 201
    imported = import_archive(side, dave, bob)
    assert imported.status_code == 201, imported.text
    assert sorted(imported.json()["units"]) == ["bob-one", "bob-two"]
    assert imported.json()["rows"] == 3  # the Aggregation node's; LastValue keeps its state
