"""Alembic migrations create exactly the model, on SQLite and PostgreSQL, any number of times."""

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, text

import pepeunit_core.db.migrations
from pepeunit_core.db.alembic_config import make_alembic_config
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.migration_guards import POSTGRES_MIGRATION_LOCK_ID
from pepeunit_core.db.models import Base
from pepeunit_core.migrate import migrate_sql

VERSIONS = Path(pepeunit_core.db.migrations.__file__).parent / "versions"
MODEL_TABLES = {
    "users",
    "repository_registry",
    "repos",
    "units",
    "units_nodes",
    "units_nodes_edges",
    "permissions",
    "dataflow_config_version",
    "alert_events",
    "telegram_verification_codes",
    "dashboards",
    "dashboard_panels",
    "mtm_panels_unit_nodes",
    "rollouts",
    "rollout_stages",
    "rollout_units",
    "rollout_events",
}


@pytest.fixture
def migrated_url(database_url: str) -> str:
    migrate_sql(database_url)
    return database_url


@pytest.fixture
def migrated_engine(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    try:
        yield engine
    finally:
        engine.dispose()


def schema_differences(engine: Engine, metadata: MetaData) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(make_alembic_config(url)).get_current_head()


def newest_migration_file() -> str:
    """The number of the newest file in versions/: the head must be the last one written,
    so that two migrations branching from one parent fail here."""
    return max(path.name[:4] for path in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


def test_upgrade_creates_exactly_the_model(engine):
    assert set(inspect(engine).get_table_names()) == MODEL_TABLES | {"alembic_version"}
    assert schema_differences(engine, Base.metadata) == []


def test_the_comparison_notices_a_model_the_migrations_do_not_create(engine):
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["units_nodes"].append_column(Column("extra", Integer))
    changed.tables["units_nodes"].c.max_connections.server_default.arg = text("5")

    kinds = {difference[0] for difference in _flatten(schema_differences(engine, changed))}

    assert kinds == {"add_column", "modify_default"}


def _flatten(differences: list) -> list:
    return [
        item for entry in differences for item in (entry if isinstance(entry, list) else [entry])
    ]


def test_upgrade_again_is_a_no_op(migrated_engine, migrated_url, caplog):
    with migrated_engine.begin() as connection:
        connection.execute(text("UPDATE dataflow_config_version SET version = 7"))

    with caplog.at_level(logging.INFO, logger="pepeunit.migrate"):
        migrate_sql(migrated_url)

    assert (
        current_revision(migrated_engine) == head_revision(migrated_url) == newest_migration_file()
    )
    with migrated_engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM dataflow_config_version")).all() == [
            (7,)
        ]
    assert "SQL database is at the newest revision" in caplog.messages


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(
    migrated_engine, migrated_url
):
    command.downgrade(make_alembic_config(migrated_url), "base")
    assert set(inspect(migrated_engine).get_table_names()) == {"alembic_version"}

    migrate_sql(migrated_url)
    assert schema_differences(migrated_engine, Base.metadata) == []


def test_0004_sets_the_pipeline_status_of_existing_nodes(database_url):
    """Issue 12.10: nodes stored with an active pipeline read `Inactive` before."""
    command.upgrade(make_alembic_config(database_url), "0003")
    engine = make_engine(database_url)
    tables = MetaData()
    tables.reflect(engine)
    now = datetime.now(UTC)
    stamps = {"create_datetime": now, "last_update_datetime": now}
    registry, repo, unit = uuid4(), uuid4(), uuid4()
    nodes = {"running": uuid4(), "switched_off": uuid4(), "without_config": uuid4()}
    try:
        with engine.begin() as connection:
            connection.execute(
                tables.tables["repository_registry"].insert(),
                {"uuid": registry.hex, "platform": "Github", "repository_url": "u", **stamps},
            )
            connection.execute(
                tables.tables["repos"].insert(),
                {"uuid": repo.hex, "name": "repo", "repository_registry_uuid": registry.hex,
                 **stamps},
            )  # fmt: skip
            connection.execute(
                tables.tables["units"].insert(),
                {"uuid": unit.hex, "name": "unit", "repo_uuid": repo.hex, **stamps},
            )
            for name, (active, config) in {
                "running": (True, "{}"),
                "switched_off": (False, "{}"),
                "without_config": (True, None),
            }.items():
                connection.execute(
                    tables.tables["units_nodes"].insert(),
                    {"uuid": nodes[name].hex, "type": "Output", "topic_name": "t/pepeunit",
                     "unit_uuid": unit.hex, "is_data_pipe_active": active,
                     "data_pipe_yml": config, "data_pipe_status": "Inactive", **stamps},
                )  # fmt: skip
        migrate_sql(database_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT topic_name, data_pipe_status, data_pipe_error,"
                     " data_pipe_rejected_count, is_data_pipe_active, data_pipe_yml"
                     " FROM units_nodes ORDER BY is_data_pipe_active, data_pipe_yml")
            ).all()  # fmt: skip
    finally:
        engine.dispose()
    statuses = sorted((row[1], row[2], row[3]) for row in rows)
    assert statuses == [
        ("Active", None, 0),
        ("Error", "The data pipe is active but has no config", 0),
        ("Inactive", None, 0),
    ]


def advisory_lock_waiters(connection: psycopg.Connection) -> int:
    return connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()[0]


def test_processes_starting_together_on_postgresql_migrate_one_at_a_time(postgres_database):
    """While one process holds the migration lock, the others wait rather than collide."""
    migrate = "import sys; from pepeunit_core.migrate import migrate_sql; migrate_sql(sys.argv[1])"
    with psycopg.connect(postgres_database.dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [POSTGRES_MIGRATION_LOCK_ID])
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", migrate, postgres_database.url],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        deadline = time.monotonic() + 30
        while (
            advisory_lock_waiters(holder) < len(processes)
            and all(process.poll() is None for process in processes)
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert advisory_lock_waiters(holder) == len(processes)
        holder.execute("SELECT pg_advisory_unlock(%s)", [POSTGRES_MIGRATION_LOCK_ID])
        errors = [process.communicate(timeout=30)[1] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], errors
    engine = make_engine(postgres_database.url)
    try:
        assert current_revision(engine) == newest_migration_file()
        assert schema_differences(engine, Base.metadata) == []
    finally:
        engine.dispose()
