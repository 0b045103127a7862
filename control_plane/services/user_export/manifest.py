"""The manifest of a per-user archive: the backup's member checksums and self-checksum
(pepeunit_core/backup/manifest.py) under a format name of its own."""

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pepeunit_core.backup.manifest import (
    MANIFEST_MEMBER,
    BackupArchiveError,
    Member,
    checked_manifest_document,
    content_sha256,
)

FORMAT_NAME = "pepeunit-user-export"
FORMAT_VERSION = 1
RECORDS_MEMBER = "records.json"
PIPELINES_DIR = "pipelines"
"""Active pipelines, as files `pepeunit pipelines apply` takes (bound by unit and topic)."""
INACTIVE_PIPELINES_DIR = "inactive-pipelines"
"""Configs of pipelines that are switched off: kept apart, so applying `pipelines/` does not
switch them on."""
ROWS_DIR = "rows"


@dataclass
class ExportManifest:
    package_version: str
    created_at: str
    domain: str
    user_login: str
    includes_secrets: bool
    counts: dict[str, int]
    members: list[Member] = field(default_factory=list)
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    def to_bytes(self) -> bytes:
        content = asdict(self)
        return json.dumps(
            {**content, "manifest_sha256": content_sha256(content)}, indent=1, sort_keys=True
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ExportManifest":
        document: dict[str, Any] = checked_manifest_document(data, FORMAT_NAME, FORMAT_VERSION)
        try:
            members = [Member(**member) for member in document.pop("members")]
            return cls(**document, members=members)
        except (TypeError, KeyError) as error:
            raise BackupArchiveError(f"{MANIFEST_MEMBER} is incomplete: {error}") from None
