"""`pepeunit migrate`: bring the SQL database and ClickHouse to the newest schema."""

import logging

import click


@click.command()
def migrate() -> None:
    """Apply the SQL (Alembic) and ClickHouse migrations; safe to run repeatedly.

    Uses PU_SQLALCHEMY_DATABASE_URL and PU_CLICKHOUSE_DATABASE_URL, or the embedded defaults
    under PU_DATA_DIR (a SQLite file and a chdb directory).
    """
    from pepeunit_core.migrate import migrate_clickhouse, migrate_sql
    from pepeunit_core.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate_sql(settings.resolved_sqlalchemy_url)
    applied = migrate_clickhouse(settings.resolved_clickhouse_url)
    click.echo(
        f"SQL database and ClickHouse are up to date ({len(applied)} ClickHouse step(s) applied)"
    )
