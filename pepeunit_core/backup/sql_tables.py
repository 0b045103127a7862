"""The SQL database as one JSON-lines member per table: a consistent snapshot that restores
into SQLite or PostgreSQL alike.

SQLite is first copied with its online backup API (a consistent file, taken while the
platform writes); PostgreSQL is read in one REPEATABLE READ transaction. Either way the
tables are then read in dependency order and streamed row by row. A member's first line
names its columns; each further line is one row as a JSON array.
"""

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Column, Connection, MetaData, Table, delete, exists, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.types import Uuid

from pepeunit_core.backup.manifest import BackupArchiveError, StoreUnavailableError
from pepeunit_core.db.alembic_config import make_alembic_config
from pepeunit_core.db.engine import make_engine
from pepeunit_core.db.models import Base, DataflowConfigVersion
from pepeunit_core.db.types import UTCDateTime

INSERT_BATCH_ROWS = 1000
SQL_MEMBER_PREFIX = "sql/"
EXCLUDED_FROM_EMPTINESS = {DataflowConfigVersion.__tablename__}
"""Present in every migrated database, so it says nothing about whether one is in use."""

OpenMember = Callable[[str], Any]


def sql_member_name(table: str) -> str:
    return f"{SQL_MEMBER_PREFIX}{table}.jsonl"


def newest_sql_revision(url: str) -> str:
    head = ScriptDirectory.from_config(make_alembic_config(url)).get_current_head()
    assert head is not None
    return head


def check_known_revision(revision: str) -> None:
    """Raises BackupArchiveError unless this release has the migration `revision`."""
    scripts = ScriptDirectory.from_config(make_alembic_config("sqlite://"))
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupArchiveError(
            f"the archive's SQL schema revision {revision!r} is unknown to this release: "
            "restore it with the release that made it or a newer one"
        )


def check_sql_source(url: str) -> None:
    """Raises StoreUnavailableError when `url` names a SQLite file that is not there (a
    mistyped PU_DATA_DIR), before anything else is opened or made."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (
        not parsed.database or not Path(parsed.database).is_file()
    ):
        raise StoreUnavailableError(f"no SQLite database at {parsed.database!r}")


@contextmanager
def _snapshot_connection(url: str, scratch: Path) -> Iterator[Connection]:
    """A connection that sees one moment of the database for as long as it is open."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        copy = scratch / "snapshot.sqlite"
        check_sql_source(url)
        source = sqlite3.connect(parsed.database)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        engine = make_engine(f"sqlite:///{copy}")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()
            copy.unlink()
        return
    engine = make_engine(url)
    try:
        snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with snapshot as connection, connection.begin():
            yield connection
    finally:
        engine.dispose()


def _encode(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def export_sql(url: str, scratch: Path, open_member: OpenMember) -> tuple[str, dict[str, int]]:
    """Writes every table through `open_member(name)` (a context manager giving a binary
    file); returns the migration revision and the row count per table."""
    counts: dict[str, int] = {}
    with _snapshot_connection(url, scratch) as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        expected = newest_sql_revision(url)
        if revision != expected:
            raise StoreUnavailableError(
                f"the SQL database is at revision {revision!r}, this release's is {expected!r}: "
                "run `pepeunit migrate` first"
            )
        for table in Base.metadata.sorted_tables:
            with open_member(sql_member_name(table.name)) as file:
                counts[table.name] = _write_table(connection, table, file)
    return revision, counts


def _write_table(connection: Connection, table: Table, file: BinaryIO) -> int:
    columns = [column.name for column in table.columns]
    file.write(json.dumps({"table": table.name, "columns": columns}).encode() + b"\n")
    rows = connection.execution_options(yield_per=INSERT_BATCH_ROWS).execute(
        select(table).order_by(*table.primary_key.columns)
    )
    count = 0
    for row in rows:
        file.write(json.dumps([_encode(value) for value in row]).encode() + b"\n")
        count += 1
    return count


def check_target_revision(url: str, archive_revision: str) -> None:
    """Raises StoreUnavailableError when the database at `url` is already migrated past
    `archive_revision`: the archive's rows would miss the data migrations in between."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return  # nothing there yet; connecting would make the file
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    if current is None or current == archive_revision:
        return
    scripts = ScriptDirectory.from_config(make_alembic_config(url))
    order = [script.revision for script in reversed(list(scripts.walk_revisions()))]
    if current not in order or order.index(current) > order.index(archive_revision):
        raise StoreUnavailableError(
            f"the target SQL database is at revision {current!r}, past the archive's "
            f"{archive_revision!r}: restore into an empty database"
        )


def sql_holds_data(url: str) -> str | None:
    """The first table of the database at `url` that holds a row, or None."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            for table in Base.metadata.sorted_tables:
                if (
                    table.name in present
                    and table.name not in EXCLUDED_FROM_EMPTINESS
                    and connection.execute(select(exists().select_from(table))).scalar()
                ):
                    return table.name
    finally:
        engine.dispose()
    return None


def _decoder(table: Table | None, column: str) -> Callable[[Any], Any]:
    model_column = table.columns.get(column) if table is not None else None
    if model_column is None:
        return lambda value: value
    if isinstance(model_column.type, Uuid):
        return lambda value: None if value is None else UUID(_text(column, value))
    if isinstance(model_column.type, UTCDateTime):
        return lambda value: None if value is None else datetime.fromisoformat(_text(column, value))
    return lambda value: value


def _text(column: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"column {column!r}: {value!r} is not text")
    return value


class SqlImport:
    """Restores table members into a database already migrated to the archive's revision:
    `begin` empties every table, `add_member` inserts one member's rows; all in one
    transaction, committed by `commit`."""

    def __init__(self, url: str) -> None:
        self._engine = make_engine(url)
        self._connection = self._engine.connect()
        self._transaction = self._connection.begin()
        self._present = MetaData()
        self._present.reflect(self._connection)

    def begin(self) -> None:
        for table in reversed(self._present.sorted_tables):
            if table.name != "alembic_version":
                self._connection.execute(delete(table))

    def add_member(self, name: str, file: Iterator[bytes]) -> int:
        header = json.loads(next(iter(file)))
        table_name, columns = header["table"], header["columns"]
        target = self._present.tables.get(table_name)
        if target is None:
            raise BackupArchiveError(f"member {name!r}: no table {table_name!r} at its revision")
        model = Base.metadata.tables.get(table_name)
        missing = [column for column in columns if column not in target.columns]
        if missing:
            raise BackupArchiveError(f"member {name!r}: table {table_name!r} has no {missing}")
        table = Table(
            table_name,
            MetaData(),
            *(
                Column(column, model.columns[column].type)
                if model is not None and column in model.columns
                else Column(column, target.columns[column].type)
                for column in columns
            ),
        )
        decoders = [_decoder(model, column) for column in columns]
        batch: list[dict[str, Any]] = []
        count = 0
        for line in file:
            values = json.loads(line)
            batch.append(
                {
                    column: decode(value)
                    for column, decode, value in zip(columns, decoders, values, strict=True)
                }
            )
            if len(batch) >= INSERT_BATCH_ROWS:
                count += self._insert(table, batch)
        return count + self._insert(table, batch)

    def _insert(self, table: Table, batch: list[dict[str, Any]]) -> int:
        if batch:
            self._connection.execute(table.insert(), batch)
        count = len(batch)
        batch.clear()
        return count

    def commit(self) -> None:
        self._transaction.commit()
        self.close()

    def close(self) -> None:
        self._connection.close()
        self._engine.dispose()
