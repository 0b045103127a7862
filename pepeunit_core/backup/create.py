"""`create_backup`: one archive of everything an instance cannot make again.

In it: the SQL database (a consistent snapshot), the ClickHouse tables, the registry clones,
the instance's keys and the settings its devices depend on (the domain). Not in it: generated
Grafana provisioning (`pepeunit grafana generate` writes it again), and the dataflow's `flow/`
directory (intake logs and recovery stores belong to the running processes; see
docs/operations.md#backup-and-restore).
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from clickhouse_connect.driver.client import Client
from sqlalchemy import select
from sqlalchemy.engine import make_url

from pepeunit_core.backup.archive import ArchiveWriter
from pepeunit_core.backup.clickhouse_tables import CHUNK_ROWS, export_clickhouse, open_clickhouse
from pepeunit_core.backup.clones import clone_files
from pepeunit_core.backup.manifest import Manifest
from pepeunit_core.backup.sql_tables import check_sql_source, export_sql
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.models import RepositoryRegistry
from pepeunit_core.settings import Settings

SECRETS_MEMBER = "instance/secrets.json"

Progress = Callable[[str], None]


def package_version() -> str:
    try:
        return version("pepeunit")
    except PackageNotFoundError:
        return "unknown"


def default_backup_name(now: datetime) -> str:
    return f"pepeunit-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar"


def create_backup(
    settings: Settings,
    output: Path,
    progress: Progress = lambda _line: None,
    *,
    clickhouse: Client | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Manifest:
    """Writes the archive to `output` (mode 0600: it holds the keys) and returns its manifest.
    Reads only: the platform may go on running. `clickhouse`: a client to use (a process that
    holds chdb's directory passes one of its own); by default one is opened and closed."""
    check_sql_source(settings.resolved_sqlalchemy_url)
    client = clickhouse or open_clickhouse(settings.resolved_clickhouse_url)
    try:
        return _write_backup(settings, output, progress, client, chunk_rows)
    finally:
        if clickhouse is None:
            client.close()


def _write_backup(
    settings: Settings, output: Path, progress: Progress, client: Client, chunk_rows: int
) -> Manifest:
    writer = ArchiveWriter(output)
    try:
        sql_url = settings.resolved_sqlalchemy_url
        progress("SQL database: taking a snapshot")
        revision, sql_counts = export_sql(sql_url, writer.scratch, writer.member)
        progress(f"SQL database: {sum(sql_counts.values())} rows in {len(sql_counts)} tables")

        def clickhouse_member(name: str):  # noqa: ANN202 - the writer's context manager
            progress(f"ClickHouse: {name}")
            return writer.member(name)

        migrations, clickhouse_counts = export_clickhouse(client, clickhouse_member, chunk_rows)
        progress(f"ClickHouse: {sum(clickhouse_counts.values())} rows")
        clones = 0
        for name, path in clone_files(settings.resolved_repo_path):
            writer.add_file(name, path)
            clones += 1
        progress(f"registry clones: {clones} files")
        with writer.member(SECRETS_MEMBER) as file:
            keys = {
                "secret_key": settings.resolved_secret_key,
                "encrypt_key": settings.resolved_encrypt_key,
            }
            file.write(json.dumps(keys).encode())
        manifest = Manifest(
            package_version=package_version(),
            created_at=datetime.now(UTC).isoformat(),
            sql_dialect=make_url(sql_url).get_backend_name(),
            sql_migration_head=revision,
            sql_row_counts=sql_counts,
            clickhouse_migrations=migrations,
            clickhouse_row_counts=clickhouse_counts,
            domain=settings.domain,
            registries=_registry_urls(sql_url),
        )
        writer.finish(manifest)
    except BaseException:
        writer.close()
        raise
    progress(f"wrote {output} ({output.stat().st_size} bytes)")
    return manifest


def _registry_urls(sql_url: str) -> list[str]:
    engine = make_engine(sql_url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    select(RepositoryRegistry.repository_url).order_by(
                        RepositoryRegistry.repository_url
                    )
                ).scalars()
            )
    finally:
        engine.dispose()
