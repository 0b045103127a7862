"""Alembic environment: runs the migrations online against the configured database URL."""

from alembic import context
from sqlalchemy import Connection

from pepeunit_core.db.alembic_config import DATABASE_URL_ATTRIBUTE
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.migration_guards import migration_guard
from pepeunit_core.db.models import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


def main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported")
    engine = make_engine(context.config.attributes[DATABASE_URL_ATTRIBUTE])
    try:
        with engine.connect() as connection, migration_guard(connection):
            run_migrations(connection)
    finally:
        engine.dispose()


main()
