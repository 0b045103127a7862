"""Backup and restore, end to end (issue 17): an instance filled through the API is backed up,
restored into an empty data dir by `pepeunit restore` (SQLite+chdb, and PostgreSQL+chdb), and
served by `pepeunit api` there: every read and every stored row is the same, and the units'
tokens still work. A backup while the dataflow stores: test_backup_while_flowing.py."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from control_plane.app import create_app
from pepeunit_core.backup import create_backup
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings
from tests.control_plane.conftest import CHEAP_ARGON2, checked_client, make_settings
from tests.control_plane.test_api_clickhouse import running_api
from tests.control_plane_registry.git_sources import UnitRepository
from tests.services.clickhouse import ClickHouseDatabase
from tests.services.postgres import PostgresServer, fresh_database

from .dump_stores import dump_clickhouse, dump_sql
from .instance import Instance, fill, read_all

CLI = Path(sys.executable).parent / "pepeunit"
ROOT = Path(__file__).resolve().parents[2]
CHUNK_ROWS = 7
"""Small, so every ClickHouse table of the test spans several chunks."""


def run_cli(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PU_")}
    env |= {f"PU_{name.upper()}": value for name, value in environment.items()}
    return subprocess.run(
        [str(CLI), *arguments], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def dump_in_process(data_dir: Path, sql_url: str | None = None) -> dict:
    command = [sys.executable, "-m", "tests.backup.dump_stores", str(data_dir)]
    result = subprocess.run(
        [*command, *([sql_url] if sql_url else [])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> UnitRepository:
    return UnitRepository(tmp_path_factory.mktemp("backup-source"))


@pytest.fixture
def source_sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite under the source's data dir, or (parametrized "postgresql") a fresh database."""
    if getattr(request, "param", "sqlite") == "sqlite":
        (tmp_path / "source").mkdir()
        yield f"sqlite:///{tmp_path / 'source' / 'pepeunit.sqlite'}"
        return
    with fresh_database(request.getfixturevalue("postgres_server")) as database:
        yield database.url


@pytest.fixture
def source(
    tmp_path: Path,
    source_sql_url: str,
    clickhouse_database: ClickHouseDatabase,
    repository: UnitRepository,
) -> Iterator[tuple[Settings, Instance, dict, dict]]:
    """The filled instance: its settings, what it holds, its reads and its stored rows."""
    data_dir = tmp_path / "source"
    data_dir.mkdir(exist_ok=True)
    sql_url = source_sql_url
    migrate_sql(sql_url)
    apply_clickhouse_migrations(clickhouse_database.client)
    settings = make_settings(
        sql_url,
        data_dir=data_dir,
        clickhouse_database_url=clickhouse_database.dsn,
        save_repo_path=tmp_path / "repos",
        registry_allowed_url_schemes=("https", "file"),
    )
    app = create_app(settings, password_hasher=CHEAP_ARGON2)
    with checked_client(app) as client:
        instance = fill(
            client, repository, app.state.context.session_factory, clickhouse_database.client
        )

        def read(path: str, query: dict, headers: dict) -> tuple[int, object]:
            response = client.get(path, params=query, headers=headers)
            return response.status_code, response.text

        reads = read_all(instance, read)
    stores = {"sql": dump_sql(sql_url), "clickhouse": dump_clickhouse(clickhouse_database.client)}
    yield settings, instance, reads, stores


def assert_meaningful(reads: dict[str, tuple[int, str]]) -> None:
    """The reads show what was made: stored rows of each policy, and what the units' own
    tokens may read (so equal reads after the restore mean the tokens still work)."""
    data = [body for key, (_, body) in reads.items() if "get_data_pipe_data/" in key]
    assert len(data) == 3 and all(json.loads(body)["count"] > 0 for body in data), data
    device = {key: status for key, (status, _) in reads.items() if key.startswith("alice-one ")}
    assert len(device) == 3 and set(device.values()) == {200}, device


def restored_reads(instance: Instance, data_dir: Path, **settings: str) -> dict:
    with (
        running_api(data_dir, domain="pepeunit.test", schedules_enabled="false", **settings) as api,
        httpx.Client(base_url=api.url) as client,
    ):

        def read(path: str, query: dict, headers: dict) -> tuple[int, object]:
            response = client.get(path, params=query, headers=headers)
            return response.status_code, response.text

        return read_all(instance, read)


def test_sqlite_and_chdb_restore_into_an_empty_data_dir_identically(source, tmp_path: Path):
    settings, instance, reads, stores = source
    archive = tmp_path / "backup.tar"
    manifest = create_backup(settings, archive, chunk_rows=CHUNK_ROWS)
    assert manifest.clickhouse_row_counts["n_last_entry"] == len(
        stores["clickhouse"]["n_last_entry"]
    )
    target = tmp_path / "target"
    restored = run_cli("restore", str(archive), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stderr
    assert (target / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert dump_in_process(target) == stores
    after = restored_reads(instance, target)
    assert_meaningful(reads)
    assert after == reads


def test_sqlite_restores_into_postgresql(source, tmp_path: Path, postgres_server: PostgresServer):
    settings, instance, reads, stores = source
    archive = tmp_path / "backup.tar"
    create_backup(settings, archive, chunk_rows=CHUNK_ROWS)
    target = tmp_path / "target"
    with fresh_database(postgres_server) as database:
        restored = run_cli(
            "restore", str(archive), "--data-dir", str(target), sqlalchemy_database_url=database.url
        )
        assert restored.returncode == 0, restored.stderr
        assert dump_in_process(target, database.url) == stores
        assert restored_reads(instance, target, sqlalchemy_database_url=database.url) == reads


@pytest.mark.parametrize("source_sql_url", ["postgresql"], indirect=True)
def test_postgresql_restores_into_sqlite(source, tmp_path: Path):
    settings, instance, reads, stores = source
    archive = tmp_path / "backup.tar"
    manifest = create_backup(settings, archive, chunk_rows=CHUNK_ROWS)
    assert manifest.sql_dialect == "postgresql"
    target = tmp_path / "target"
    restored = run_cli("restore", str(archive), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    assert dump_in_process(target) == stores
    assert restored_reads(instance, target) == reads
