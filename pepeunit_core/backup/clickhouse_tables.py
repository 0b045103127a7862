"""The ClickHouse tables as chunks in ClickHouse's Native format, zstd-compressed: one member
per chunk of at most `chunk_rows` rows, so neither the backup nor the restore holds a table in
memory, and what chdb writes a ClickHouse server reads, and the other way round.

Each table is read with FINAL (what readers see: replayed rows already replaced) in the order
of its sorting key, which is the row's identity; each chunk starts after the last key of the
previous one, so every chunk is found through the primary index.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from backports import zstd
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pepeunit_core.backup.manifest import BackupArchiveError, StoreUnavailableError
from pepeunit_core.clickhouse.client import make_clickhouse_client
from pepeunit_core.clickhouse.schema import (
    CLICKHOUSE_MIGRATIONS,
    applied_clickhouse_migrations,
)
from pepeunit_core.stored_data.clickhouse_columns import COLUMNS_BY_TABLE

CHUNK_ROWS = 100_000
ZSTD_LEVEL = 3
"""About 140 MB/s on one core of the project machine; Native columns shrink 1.6x to 3x."""
CLICKHOUSE_MEMBER_PREFIX = "clickhouse/"
BACKED_UP_TABLES = tuple(COLUMNS_BY_TABLE)

OpenMember = Callable[[str], Any]


def open_clickhouse(url: str) -> Client:
    """A client for `url`, or StoreUnavailableError saying why there is none."""
    try:
        return make_clickhouse_client(url)
    except ClickHouseError as error:
        hint = (
            " (chdb opens a directory from one process only: stop the process that holds it, "
            "e.g. `pepeunit up`, or let its scheduled backups run)"
            if url.startswith("chdb:")
            else ""
        )
        shown = _without_password(url)
        raise StoreUnavailableError(f"cannot open ClickHouse at {shown}{hint}: {error}") from None


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def clickhouse_member_name(table: str, chunk: int) -> str:
    return f"{CLICKHOUSE_MEMBER_PREFIX}{table}/{chunk:06d}.native.zst"


def table_of_member(name: str) -> str:
    table = name.removeprefix(CLICKHOUSE_MEMBER_PREFIX).split("/", 1)[0]
    if table not in BACKED_UP_TABLES:
        raise BackupArchiveError(f"member {name!r} names no ClickHouse table of this release")
    return table


def _sorting_key(client: Client, table: str) -> list[tuple[str, str]]:
    """The sorting key's columns of `table` with their types."""
    key = client.query(
        "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() "
        "AND name = {table:String}",
        parameters={"table": table},
    ).result_rows[0][0]
    names = [name.strip() for name in key.split(",")]
    types = dict(
        client.query(
            "SELECT name, type FROM system.columns WHERE database = currentDatabase() "
            "AND table = {table:String}",
            parameters={"table": table},
        ).result_rows
    )
    return [(name, types[name]) for name in names]


def export_clickhouse(
    client: Client, open_member: OpenMember, chunk_rows: int = CHUNK_ROWS
) -> tuple[list[str], dict[str, int]]:
    """Writes every table through `open_member(name)`; returns the applied migrations and
    the row count per table."""
    migrations = sorted(applied_clickhouse_migrations(client))
    counts = {
        table: _export_table(client, table, open_member, chunk_rows) for table in BACKED_UP_TABLES
    }
    return migrations, counts


def _export_table(client: Client, table: str, open_member: OpenMember, chunk_rows: int) -> int:
    key = _sorting_key(client, table)
    key_tuple = f"({', '.join(name for name, _ in key)})"
    as_text = ", ".join(f"toString({name})" for name, _ in key)

    def after(prefix: str, values: tuple[str, ...] | None) -> tuple[str, dict[str, str]]:
        if values is None:
            return "", {}
        cast = ", ".join(
            f"CAST({{{prefix}{index}:String}} AS {type_})" for index, (_, type_) in enumerate(key)
        )
        parameters = {f"{prefix}{index}": value for index, value in enumerate(values)}
        return f"({cast})", parameters

    last: tuple[str, ...] | None = None
    count = chunk = 0
    while True:
        lower, parameters = after("last", last)
        where_lower = f"WHERE {key_tuple} > {lower}" if lower else ""
        bound_rows = client.query(
            f"SELECT {as_text} FROM {table} FINAL {where_lower} ORDER BY {key_tuple} "
            f"LIMIT 1 OFFSET {chunk_rows - 1}",
            parameters=parameters,
        ).result_rows
        bound = tuple(bound_rows[0]) if bound_rows else None
        upper, upper_parameters = after("bound", bound)
        conditions = [f"{key_tuple} > {lower}"] if lower else []
        if upper:
            conditions.append(f"{key_tuple} <= {upper}")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        data = client.raw_query(
            f"SELECT * FROM {table} FINAL {where} ORDER BY {key_tuple}",
            parameters=parameters | upper_parameters,
            fmt="Native",
        )
        rows = chunk_rows if bound is not None else _rows_in(client, table, where, parameters)
        if rows or chunk == 0:
            with open_member(clickhouse_member_name(table, chunk)) as file:
                file.write(zstd.compress(data, ZSTD_LEVEL))
            chunk += 1
            count += rows
        if bound is None:
            return count
        last = bound


def _rows_in(client: Client, table: str, where: str, parameters: dict[str, str]) -> int:
    return int(client.command(f"SELECT count() FROM {table} FINAL {where}", parameters=parameters))


def check_known_clickhouse_migrations(migrations: list[str]) -> None:
    known = {migration.version for migration in CLICKHOUSE_MIGRATIONS}
    unknown = sorted(set(migrations) - known)
    if unknown:
        raise BackupArchiveError(
            f"the archive's ClickHouse schema {unknown[0]!r} is unknown to this release: "
            "restore it with the release that made it or a newer one"
        )


def clickhouse_holds_data(client: Client) -> str | None:
    """The first backed-up table of ClickHouse that holds a row, or None."""
    present = {
        name
        for (name,) in client.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase()"
        ).result_rows
    }
    for table in BACKED_UP_TABLES:
        if table in present and int(client.command(f"SELECT count() FROM {table}")):
            return table
    return None


def empty_clickhouse(client: Client) -> None:
    for table in BACKED_UP_TABLES:
        client.command(f"TRUNCATE TABLE IF EXISTS {table}")


def import_chunk(client: Client, table: str, compressed: bytes) -> None:
    try:
        data = zstd.decompress(compressed)
    except zstd.ZstdError as error:
        raise BackupArchiveError(f"a chunk of {table!r} is not zstd data: {error}") from None
    if data:
        client.raw_insert(table, insert_block=data, fmt="Native")
