"""Per-user export and import (docs/user-export.md): an archive of what one user owns, and
the same recreated under a user of another instance."""

from control_plane.services.user_export.export import export_file_name, export_user
from control_plane.services.user_export.importing import ImportReport, UserArchiveError, import_user
from control_plane.services.user_export.manifest import ExportManifest

__all__ = [
    "ExportManifest",
    "ImportReport",
    "UserArchiveError",
    "export_file_name",
    "export_user",
    "import_user",
]
