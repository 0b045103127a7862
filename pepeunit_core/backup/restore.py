"""`restore_backup`: an archive made by `create_backup` into an empty instance.

Everything is checked before anything is changed: every member's checksum, the manifest's own,
the format version, that this release knows the archive's schema revisions, and that the keys
the target is configured with (if any) are the archive's. Then the SQL database is migrated to
the archive's revision, filled in one transaction, and migrated to the newest revision; the
ClickHouse tables are filled chunk by chunk.
"""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from sqlalchemy.exc import SQLAlchemyError

from pepeunit_core.backup.archive import read_members, verify_archive
from pepeunit_core.backup.clickhouse_tables import (
    CLICKHOUSE_MEMBER_PREFIX,
    check_known_clickhouse_migrations,
    clickhouse_holds_data,
    empty_clickhouse,
    import_chunk,
    open_clickhouse,
    table_of_member,
)
from pepeunit_core.backup.clones import CLONES_MEMBER_PREFIX, clones_present, restore_clone_file
from pepeunit_core.backup.create import SECRETS_MEMBER
from pepeunit_core.backup.manifest import BackupArchiveError, Manifest
from pepeunit_core.backup.sql_tables import (
    SQL_MEMBER_PREFIX,
    SqlImport,
    check_known_revision,
    check_target_revision,
    sql_holds_data,
)
from pepeunit_core.clickhouse.schema import apply_clickhouse_migrations
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings, store_secrets

Progress = Callable[[str], None]
MEMBER_PREFIXES = (SQL_MEMBER_PREFIX, CLICKHOUSE_MEMBER_PREFIX, CLONES_MEMBER_PREFIX)
KEY_SETTINGS = {"secret_key": "PU_SECRET_KEY", "encrypt_key": "PU_ENCRYPT_KEY"}


class RestoreTargetError(RuntimeError):
    """The target instance cannot take the archive as it is configured; nothing was changed."""


def restore_backup(
    settings: Settings,
    archive: Path,
    *,
    force: bool = False,
    progress: Progress = lambda _line: None,
) -> Manifest:
    progress(f"verifying {archive}")
    manifest, kept = verify_archive(archive, keep=lambda name: name == SECRETS_MEMBER)
    check_known_revision(manifest.sql_migration_head)
    check_known_clickhouse_migrations(manifest.clickhouse_migrations)
    _check_member_kinds(manifest)
    keys = _archive_keys(kept)
    _check_configured_keys(settings, keys)
    progress(
        f"archive verified: made by {manifest.package_version} at {manifest.created_at}, "
        f"{len(manifest.members)} members"
    )
    if settings.domain != manifest.domain:
        progress(
            f"warning: PU_DOMAIN is {settings.domain!r}, the archive's instance used "
            f"{manifest.domain!r}: topics and the Backend token derive from it"
        )
    sql_url = settings.resolved_sqlalchemy_url
    check_target_revision(sql_url, manifest.sql_migration_head)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    client = open_clickhouse(settings.resolved_clickhouse_url)
    try:
        if not force:
            _refuse_non_empty(settings, keys, sql_url, client)
        elif settings.resolved_repo_path.is_dir():
            shutil.rmtree(settings.resolved_repo_path)
        if not all(getattr(settings, name) for name in KEY_SETTINGS):
            store_secrets(settings.data_dir, keys)
        progress(f"SQL database: migrating to the archive's revision {manifest.sql_migration_head}")
        migrate_sql(sql_url, manifest.sql_migration_head)
        apply_clickhouse_migrations(client)
        empty_clickhouse(client)
        sql_import = SqlImport(sql_url)
        try:
            sql_import.begin()
            for name, reader in read_members(archive, manifest):
                try:
                    _restore_member(settings, sql_import, client, name, reader, progress)
                except (ValueError, KeyError, TypeError, SQLAlchemyError, ClickHouseError) as error:
                    # Checksums match, so the archive was made so: not by `pepeunit backup`.
                    raise BackupArchiveError(
                        f"member {name!r} cannot be restored: {error} (the SQL rows were rolled "
                        "back, ClickHouse and the clones may hold part of the archive: restore "
                        "a good archive with --force)"
                    ) from None
            sql_import.commit()
        except BaseException:
            sql_import.close()
            raise
    finally:
        client.close()
    progress("SQL database: applying newer migrations")
    migrate_sql(sql_url)
    progress("restored")
    return manifest


def _restore_member(
    settings: Settings,
    sql_import: SqlImport,
    client: Client,
    name: str,
    reader: BinaryIO,
    progress: Progress,
) -> None:
    if name.startswith(SQL_MEMBER_PREFIX):
        rows = sql_import.add_member(name, iter(reader))
        progress(f"SQL database: {name} ({rows} rows)")
    elif name.startswith(CLICKHOUSE_MEMBER_PREFIX):
        import_chunk(client, table_of_member(name), reader.read())
        progress(f"ClickHouse: {name}")
    elif name.startswith(CLONES_MEMBER_PREFIX):
        restore_clone_file(settings.resolved_repo_path, name, reader)


def _check_member_kinds(manifest: Manifest) -> None:
    for member in manifest.members:
        if member.name != SECRETS_MEMBER and not member.name.startswith(MEMBER_PREFIXES):
            raise BackupArchiveError(f"member {member.name!r} is of no kind this release restores")


def _archive_keys(kept: dict[str, bytes]) -> dict[str, str]:
    try:
        keys = json.loads(kept[SECRETS_MEMBER])
    except (KeyError, ValueError):
        raise BackupArchiveError(f"member {SECRETS_MEMBER!r} is missing or not JSON") from None
    if not isinstance(keys, dict) or not all(
        isinstance(keys.get(name), str) for name in KEY_SETTINGS
    ):
        raise BackupArchiveError(f"member {SECRETS_MEMBER!r} does not hold both keys")
    return keys


def _check_configured_keys(settings: Settings, keys: dict[str, str]) -> None:
    for name, variable in KEY_SETTINGS.items():
        configured = getattr(settings, name)
        if configured and configured != keys[name]:
            raise RestoreTargetError(
                f"{variable} is not the archive's key: the restored instance would not accept its "
                f"devices' tokens or could not read its encrypted fields; unset {variable} (the "
                "archive's keys go to PU_DATA_DIR/secrets.json) or set it to the archive's"
            )


def _refuse_non_empty(
    settings: Settings, keys: dict[str, str], sql_url: str, client: Client
) -> None:
    secrets_file = settings.data_dir / "secrets.json"
    if secrets_file.exists():
        held = json.loads(secrets_file.read_text())
        if any(held.get(name) != keys[name] for name in KEY_SETTINGS):
            raise RestoreTargetError(
                f"{secrets_file} holds other keys: the target is another instance "
                "(restore into an empty one, or pass --force to replace it)"
            )
    if clones_present(settings.resolved_repo_path):
        raise RestoreTargetError(
            f"{settings.resolved_repo_path} holds registry clones: restore into an empty "
            "instance, or pass --force to replace them"
        )
    table = sql_holds_data(sql_url)
    if table is not None:
        raise RestoreTargetError(
            f"the SQL database is not empty (table {table!r} holds rows): restore into an "
            "empty one, or pass --force to replace its content"
        )
    clickhouse_table = clickhouse_holds_data(client)
    if clickhouse_table is not None:
        raise RestoreTargetError(
            f"ClickHouse is not empty (table {clickhouse_table!r} holds rows): restore into an "
            "empty one, or pass --force to replace its content"
        )
