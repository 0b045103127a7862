"""Firmware archives (docs/compatibility.md#firmware-archives): the repository tree at the target
commit, cleaned by `.pepeignore`, with the unit's env.json and schema.json (4-space indent) at the
root. A compilable repo's archive holds only those two files (its binaries are release assets).

Layouts are those of the reference's `shutil.make_archive(root_dir=...)`: zip members sit at the
root (`env.json`, `lib/`, `lib/x.py`), tar members start with `./` (`.`, `./env.json`, ...), which
MicroPython relies on (it drops the first two characters of every name). `tgz` is that tar
compressed by `zlib.compressobj(level, DEFLATED, wbits)`: the default wbits 9 gives a zlib
stream with a 512-byte window, which is what the clients decompress, not gzip.

Each build stages its files in its own temporary directory, removed whatever happens.
"""

import io
import json
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from control_plane.services.firmware.source_tree import firmware_files

ENV_JSON_FILE = "env.json"
SCHEMA_JSON_FILE = "schema.json"
DEFAULT_TGZ_WBITS = 9
DEFAULT_TGZ_LEVEL = 9
# Raw deflate, zlib, gzip; zlib itself also takes -8 and 8, the reference refuses them.
TGZ_WBITS_RANGES = (range(-15, -8), range(9, 16), range(25, 32))
TGZ_LEVELS = range(-1, 10)

_STAGING_PREFIX = "pepeunit-firmware-"
_EXECUTABLE_BITS = 0o111


class ArchiveFormat(StrEnum):
    ZIP = "zip"
    TAR = "tar"
    TGZ = "tgz"


class ArchiveOptionError(ValueError):
    """A tgz wbits or level outside the accepted ranges."""


@dataclass(frozen=True)
class FirmwareContent:
    env_json: Mapping[str, Any]
    schema_json: Mapping[str, Any]
    repo_tree: Path | None
    """The exported repository at the target commit; None for a compilable repo."""


def build_archive(
    content: FirmwareContent,
    archive_format: ArchiveFormat,
    *,
    wbits: int = DEFAULT_TGZ_WBITS,
    level: int = DEFAULT_TGZ_LEVEL,
) -> bytes:
    """The archive in `archive_format`; `wbits` and `level` apply to tgz only."""
    match ArchiveFormat(archive_format):
        case ArchiveFormat.TGZ:
            return build_tgz(content, wbits=wbits, level=level)
        case ArchiveFormat.TAR:
            return build_tar(content)
        case ArchiveFormat.ZIP:
            return build_zip(content)


def build_zip(content: FirmwareContent) -> bytes:
    buffer = io.BytesIO()
    with (
        _staged(content) as stage,
        zipfile.ZipFile(
            buffer, "w", compression=zipfile.ZIP_DEFLATED, strict_timestamps=False
        ) as archive,
    ):
        for path in sorted(stage.rglob("*")):
            archive.write(path, path.relative_to(stage).as_posix())
    return buffer.getvalue()


def build_tar(content: FirmwareContent) -> bytes:
    with _staged(content) as stage:
        return _tar_bytes(stage)


def build_tgz(
    content: FirmwareContent, *, wbits: int = DEFAULT_TGZ_WBITS, level: int = DEFAULT_TGZ_LEVEL
) -> bytes:
    validate_tgz_options(wbits=wbits, level=level)
    with _staged(content) as stage:
        tar_bytes = _tar_bytes(stage)
    compressor = zlib.compressobj(level, zlib.DEFLATED, wbits)
    return compressor.compress(tar_bytes) + compressor.flush()


def validate_tgz_options(*, wbits: int, level: int) -> None:
    if isinstance(wbits, bool) or not any(wbits in allowed for allowed in TGZ_WBITS_RANGES):
        raise ArchiveOptionError(
            f"wbits must be in -15..-9 (raw deflate), 9..15 (zlib) or 25..31 (gzip); not {wbits}"
        )
    if isinstance(level, bool) or level not in TGZ_LEVELS:
        raise ArchiveOptionError(f"level must be in -1..9; not {level}")


def firmware_json_text(document: Mapping[str, Any]) -> str:
    """env.json and schema.json as the archives carry them."""
    return json.dumps(document, indent=4)


@contextmanager
def _staged(content: FirmwareContent) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=_STAGING_PREFIX) as workdir:
        stage = Path(workdir) / "firmware"
        stage.mkdir()
        if content.repo_tree is not None:
            for file in firmware_files(
                content.repo_tree, replaced_root_files=(ENV_JSON_FILE, SCHEMA_JSON_FILE)
            ):
                target = stage / file.archive_path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file.source, target)
        (stage / ENV_JSON_FILE).write_text(firmware_json_text(content.env_json), "utf-8")
        (stage / SCHEMA_JSON_FILE).write_text(firmware_json_text(content.schema_json), "utf-8")
        yield stage


def _tar_bytes(stage: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.add(stage, arcname=".", filter=_portable_member)
    return buffer.getvalue()


def _portable_member(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """No server user names or ids, and plain modes (the staging directory is 0700, which an
    unpacker would otherwise apply to the unit's own directory). Whole-second times: a float
    time costs every member a PAX header, which MicroPython can only skip."""
    member.mtime = int(member.mtime)
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    if member.isdir() or member.mode & _EXECUTABLE_BITS:
        member.mode = 0o755
    else:
        member.mode = 0o644
    return member
