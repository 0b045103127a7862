"""Backup and restore of a whole instance (docs/operations.md#backup-and-restore)."""

from pepeunit_core.backup.create import create_backup, default_backup_name
from pepeunit_core.backup.manifest import BackupArchiveError, Manifest, StoreUnavailableError
from pepeunit_core.backup.restore import RestoreTargetError, restore_backup

__all__ = [
    "BackupArchiveError",
    "Manifest",
    "RestoreTargetError",
    "StoreUnavailableError",
    "create_backup",
    "default_backup_name",
    "restore_backup",
]
