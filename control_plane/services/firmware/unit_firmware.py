"""A unit's firmware archive (docs/compatibility.md#firmware-archives): the repository at the target
commit (nothing for a compilable repo) with the unit's env.json and schema.json at the root, as zip,
tar or tgz. For the unit's creator or the unit itself."""

import tempfile
from pathlib import Path
from uuid import UUID

from sqlalchemy.orm import Session

from control_plane.security import Agent
from control_plane.services import registry
from control_plane.services.errors import UnitError
from control_plane.services.firmware import (
    ArchiveFormat,
    ArchiveOptionError,
    FirmwareContent,
    PepeIgnoreError,
    UnsafeTreeError,
    build_archive,
    validate_tgz_options,
)
from control_plane.services.units.env import env_of, schema_of
from control_plane.services.units.target import device_target
from pepeunit_core.crypto import Cipher
from pepeunit_core.settings import Settings


def unit_firmware(
    session: Session,
    settings: Settings,
    cipher: Cipher,
    agent: Agent,
    uuid: UUID,
    archive_format: ArchiveFormat,
    *,
    wbits: int,
    level: int,
) -> bytes:
    if archive_format == ArchiveFormat.TGZ:
        try:
            validate_tgz_options(wbits=wbits, level=level)
        except ArchiveOptionError as error:
            raise UnitError(str(error)) from error
    target = device_target(session, settings, agent, uuid)
    env = env_of(session, settings, cipher, target)
    schema = schema_of(session, settings, target)
    clone = registry.registry_clone_path(settings, target.repo.repository_registry_uuid)
    with tempfile.TemporaryDirectory(prefix="pepeunit-unit-tree-") as workdir:
        tree: Path | None = None
        if not target.repo.is_compilable_repo:
            tree = Path(workdir) / "tree"
            with registry.git_failures_as(UnitError):
                registry.checkout_tree(clone, target.commit, tree)
        try:
            return build_archive(
                FirmwareContent(env_json=env, schema_json=schema, repo_tree=tree),
                archive_format,
                wbits=wbits,
                level=level,
            )
        except (UnsafeTreeError, PepeIgnoreError) as error:
            raise UnitError(str(error)) from error
