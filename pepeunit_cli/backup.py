"""`pepeunit backup` and `pepeunit restore`: one archive of an instance, and back."""

import sys
from datetime import UTC, datetime
from pathlib import Path

import click


def _progress(line: str) -> None:
    click.echo(line, err=True)


@click.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The archive to write [default: pepeunit-backup-<UTC time>.tar here].",
)
def backup(output: Path | None) -> None:
    """Write one archive of the instance: the SQL database, ClickHouse's tables, the keys.

    Reads PU_ settings as every process does. Runs beside the live platform on PostgreSQL or
    SQLite with a ClickHouse server; chdb's directory opens in one process only, so on chdb
    stop `pepeunit up` first. The archive holds the instance's keys: keep it as safe as them.
    """
    from pepeunit_core.backup import StoreUnavailableError, create_backup, default_backup_name
    from pepeunit_core.settings import Settings

    target = output or Path(default_backup_name(datetime.now(UTC)))
    try:
        manifest = create_backup(Settings(), target, _progress)
    except StoreUnavailableError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    sql_rows = sum(manifest.sql_row_counts.values())
    stored_rows = sum(manifest.clickhouse_row_counts.values())
    click.echo(f"{target}: {sql_rows} SQL rows, {stored_rows} stored rows")


@click.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Restore into this data directory [default: PU_DATA_DIR].",
)
@click.option("--force", is_flag=True, help="Replace the content of a target that is not empty.")
def restore(archive: Path, data_dir: Path | None, force: bool) -> None:
    """Restore ARCHIVE (made by `pepeunit backup`) into an empty instance, then migrate it.

    The target is PU_DATA_DIR (or --data-dir) with PU_SQLALCHEMY_DATABASE_URL and
    PU_CLICKHOUSE_DATABASE_URL, SQLite and chdb by default, whatever the archive came from.
    Every checksum is checked before anything changes; stop the platform first.
    """
    from pepeunit_core.backup import (
        BackupArchiveError,
        RestoreTargetError,
        StoreUnavailableError,
        restore_backup,
    )
    from pepeunit_core.settings import Settings

    settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    try:
        restore_backup(settings, archive, force=force, progress=_progress)
    except BackupArchiveError as error:
        click.echo(f"error: {archive} cannot be restored: {error}", err=True)
        sys.exit(1)
    except (RestoreTargetError, StoreUnavailableError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
