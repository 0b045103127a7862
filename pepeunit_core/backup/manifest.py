"""The manifest of a backup archive: what it holds, from which release, and a checksum of
every member and of the manifest's own content.

The checksums are an integrity check (a changed or cut-short archive is noticed), not a
signature: whoever can change the archive can recompute them.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT_NAME = "pepeunit-backup"
FORMAT_VERSION = 1
MANIFEST_MEMBER = "manifest.json"


class BackupArchiveError(ValueError):
    """The archive cannot be restored: the message names what is wrong with it."""


class StoreUnavailableError(RuntimeError):
    """A store of the instance cannot be opened or is not as this release needs it; the
    message says what to change."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str


@dataclass
class Manifest:
    package_version: str
    created_at: str
    sql_dialect: str
    sql_migration_head: str
    sql_row_counts: dict[str, int]
    clickhouse_migrations: list[str]
    clickhouse_row_counts: dict[str, int]
    domain: str
    registries: list[str]
    members: list[Member] = field(default_factory=list)
    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    def content(self) -> dict[str, Any]:
        return asdict(self)

    def to_bytes(self) -> bytes:
        content = self.content()
        return json.dumps(
            {**content, "manifest_sha256": content_sha256(content)}, indent=1, sort_keys=True
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Manifest":
        document = checked_manifest_document(data, FORMAT_NAME, FORMAT_VERSION)
        try:
            members = [Member(**member) for member in document.pop("members")]
            return cls(**document, members=members)
        except (TypeError, KeyError) as error:
            raise BackupArchiveError(f"{MANIFEST_MEMBER} is incomplete: {error}") from None


def checked_manifest_document(data: bytes, format_name: str, format_version: int) -> dict[str, Any]:
    """The manifest's JSON object without its own checksum, once it is of `format_name` at
    `format_version` or older and its checksum matches; raises BackupArchiveError otherwise."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupArchiveError(f"{MANIFEST_MEMBER} is not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != format_name:
        raise BackupArchiveError(f"{MANIFEST_MEMBER} is not a {format_name} manifest")
    version = document.get("format_version")
    if not isinstance(version, int) or version > format_version:
        raise BackupArchiveError(
            f"the archive's format version {version!r} is newer than this release reads "
            f"({format_version}): read it with the release that made it, "
            f"{document.get('package_version')!r}, or a newer one"
        )
    claimed = document.pop("manifest_sha256", None)
    if claimed != content_sha256(document):
        raise BackupArchiveError(f"{MANIFEST_MEMBER} was changed: its checksum does not match")
    if not isinstance(document.get("members"), list):
        raise BackupArchiveError(f"{MANIFEST_MEMBER} is incomplete: it lists no members")
    return document


def content_sha256(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()
