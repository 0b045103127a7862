"""Bring the SQL database and ClickHouse up to the current schema; safe to run repeatedly."""

import logging
import threading

from alembic import command
from sqlalchemy.engine import make_url

from pepeunit_core.clickhouse.client import make_clickhouse_client
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.db.alembic_config import make_alembic_config

logger = logging.getLogger("pepeunit.migrate")

# Alembic keeps the running migration environment in module globals.
_alembic_lock = threading.Lock()


def migrate_sql(url: str, revision: str = "head") -> None:
    """Upgrade the SQL database at `url` to `revision` (the newest by default)."""
    logger.info("migrating SQL database %s", make_url(url).render_as_string(hide_password=True))
    with _alembic_lock:
        command.upgrade(make_alembic_config(url), revision)
    if revision == "head":
        logger.info("SQL database is at the newest revision")
    else:
        logger.info("SQL database is at revision %s", revision)


def migrate_clickhouse(url: str) -> list[str]:
    """Apply pending ClickHouse migrations at `url`; return the versions applied."""
    client = make_clickhouse_client(url)
    try:
        applied = apply_clickhouse_migrations(client)
    finally:
        client.close()
    if applied:
        logger.info("applied ClickHouse migrations: %s", ", ".join(applied))
    else:
        logger.info("ClickHouse schema is up to date")
    return applied
