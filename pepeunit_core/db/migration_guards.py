"""What surrounds a migration run on each backend (used by migrations/env.py)."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Connection, text

POSTGRES_MIGRATION_LOCK_ID = int.from_bytes(b"pepeunit", "big")


def migration_guard(connection: Connection) -> AbstractContextManager[None]:
    if connection.dialect.name == "postgresql":
        return postgres_migration_lock(connection)
    if connection.dialect.name == "sqlite":
        return sqlite_foreign_keys_off(connection)
    return nullcontext()


@contextmanager
def postgres_migration_lock(connection: Connection) -> Iterator[None]:
    """One migrating process at a time: API and flow processes may start together."""
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": POSTGRES_MIGRATION_LOCK_ID})
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(
            text("SELECT pg_advisory_unlock(:id)"), {"id": POSTGRES_MIGRATION_LOCK_ID}
        )
        connection.commit()


@contextmanager
def sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite batch operations copy and drop tables; with foreign keys on, dropping a parent
    table would cascade-delete child rows. The pragma only changes outside a transaction."""
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        connection.commit()
    if violations:
        raise RuntimeError(f"migration left rows violating foreign keys: {violations}")
