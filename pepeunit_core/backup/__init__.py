"""Backup and restore of a whole instance (docs/operations.md#backup-and-restore)."""

from pepeunit_core.backup.create import create_backup, default_backup_name
from pepeunit_core.backup.manifest import BackupArchiveError, Manifest
from pepeunit_core.backup.restore import RestoreTargetError, restore_backup
from pepeunit_core.backup.sql_tables import SqlRevisionError

__all__ = [
    "BackupArchiveError",
    "Manifest",
    "RestoreTargetError",
    "SqlRevisionError",
    "create_backup",
    "default_backup_name",
    "restore_backup",
]
