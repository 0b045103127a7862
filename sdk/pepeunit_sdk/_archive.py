"""Installing a program archive over the program directory, safely.

Accepted: tar, plain or compressed as a zlib stream (any window, the platform's tgz) or gzip,
and zip. The archive is first unpacked into a staging directory inside the program directory
and checked whole; only then are its entries moved into place, so a refused archive changes
nothing. Refused: names that are absolute or contain `..`, entries below one of the archive's
own symlinks, symlinks that resolve outside, device files and FIFOs, and any write that would
land outside the program directory through a symlink already there.

The archive's root `env.json` and `schema.json` (checked like the unit's own) go to the unit's
env and schema files, which may live elsewhere. The installed env.json is kept when the archive
has none, or when the archive's is for the same program version (PU_COMMIT_VERSION) and older
than the installed file: local edits survive reinstalling a version. An archive for another
version always brings its env.json, whatever the clocks of device and platform say.
"""

import os
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from ._errors import UnsafeArchiveError, UnsupportedArchiveError
from ._json_files import read_json_object
from ._schema import checked_schema
from ._settings import checked_env

__all__ = ["ProgramInstall", "install_program_archive"]

ENV_FILE_NAME = "env.json"
SCHEMA_FILE_NAME = "schema.json"
_CHUNK = 1 << 16
_STAGING_PREFIX = ".pepeunit-update-"
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a first member, or an empty archive
_ZLIB_AUTO_WBITS = 15  # a zlib stream's header tells its window; 15 accepts all of them
_GZIP_WBITS = 31


@dataclass(frozen=True)
class _ArchiveTime:
    """A member's modification time, and how coarse the archive stores it (zip: 2 s)."""

    mtime: float
    resolution: float


@dataclass
class ProgramInstall:
    """What an installation did."""

    installed: list[Path] = field(default_factory=list)
    """Every path written, in the program directory or the env/schema files."""
    env_replaced: bool = False
    schema_replaced: bool = False


def install_program_archive(
    archive_path: Path, program_dir: Path, env_file_path: Path, schema_file_path: Path
) -> ProgramInstall:
    program_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=program_dir))
    try:
        stage = workdir / "tree"
        stage.mkdir()
        env_time = _unpack(archive_path, workdir, stage)
        _check_symlinks(stage)
        keep_env = _keeps_installed_env(stage, env_file_path, env_time)
        return _install(stage, program_dir, env_file_path, schema_file_path, keep_env)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _unpack(archive_path: Path, workdir: Path, stage: Path) -> _ArchiveTime | None:
    """Unpacks into `stage`; returns the modification time of the archive's env.json."""
    with archive_path.open("rb") as file:
        head = file.read(4)
    # By the first bytes: zipfile.is_zipfile would also accept a tar that ends with a zip file.
    if head in _ZIP_MAGICS:
        return _unpack_zip(archive_path, stage)
    if head[:2] == _GZIP_MAGIC:
        return _unpack_tar(_decompressed(archive_path, workdir, _GZIP_WBITS), stage)
    if _is_zlib_header(head[:2]):
        return _unpack_tar(_decompressed(archive_path, workdir, _ZLIB_AUTO_WBITS), stage)
    if tarfile.is_tarfile(archive_path):
        return _unpack_tar(archive_path, stage)
    raise UnsupportedArchiveError(
        f"{archive_path} is not a program archive (tar, zlib or gzip tar, zip)"
    )


def _is_zlib_header(head: bytes) -> bool:
    """RFC 1950: deflate method, a window of at most 32 KiB, and the header checksum."""
    if len(head) < 2:
        return False
    method_and_window, flags = head
    return (
        method_and_window & 0x0F == 8
        and method_and_window >> 4 <= 7
        and (method_and_window << 8 | flags) % 31 == 0
    )


def _decompressed(archive_path: Path, workdir: Path, wbits: int) -> Path:
    target = workdir / "archive.tar"
    decompressor = zlib.decompressobj(wbits)
    try:
        with archive_path.open("rb") as source, target.open("wb") as sink:
            while chunk := source.read(_CHUNK):
                sink.write(decompressor.decompress(chunk))
            sink.write(decompressor.flush())
    except zlib.error as error:
        raise UnsupportedArchiveError(f"{archive_path}: bad compressed stream: {error}") from None
    if not decompressor.eof:
        raise UnsupportedArchiveError(f"{archive_path}: the compressed stream is truncated")
    return target


def _unpack_tar(tar_path: Path, stage: Path) -> _ArchiveTime | None:
    try:
        with tarfile.open(tar_path, mode="r:") as archive:
            return _unpack_tar_members(archive, stage)
    except tarfile.TarError as error:
        raise UnsupportedArchiveError(f"not a readable tar archive: {error}") from None


def _unpack_tar_members(archive: tarfile.TarFile, stage: Path) -> _ArchiveTime | None:
    env_time = None
    symlinks: set[PurePosixPath] = set()
    for member in archive:
        name = _member_name(member.name)
        if name is None:
            continue
        _refuse_below_symlink(name, symlinks)
        if member.isdir():
            _make_dir(stage, name)
        elif member.issym():
            _make_symlink(stage, name, member.linkname)
            symlinks.add(name)
        elif member.isfile() or member.islnk():
            if member.islnk() and _member_name(member.linkname) is None:
                raise UnsafeArchiveError(f"hard link {member.name!r} to {member.linkname!r}")
            content = archive.extractfile(member)
            if content is None:
                raise UnsafeArchiveError(f"unreadable archive member {member.name!r}")
            with content:
                _write_file(stage, name, content, member.mode, member.mtime)
            if name == PurePosixPath(ENV_FILE_NAME):
                env_time = _ArchiveTime(float(member.mtime), 1.0)
        else:
            raise UnsafeArchiveError(f"{member.name!r} is neither a file, dir nor symlink")
    return env_time


def _unpack_zip(archive_path: Path, stage: Path) -> _ArchiveTime | None:
    env_time = None
    symlinks: set[PurePosixPath] = set()
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            name = _member_name(info.filename)
            if name is None:
                continue
            _refuse_below_symlink(name, symlinks)
            mode = info.external_attr >> 16
            mtime = time.mktime((*info.date_time, 0, 0, -1))
            if info.is_dir():
                _make_dir(stage, name)
            elif stat.S_ISLNK(mode):
                _make_symlink(stage, name, archive.read(info).decode())
                symlinks.add(name)
            elif stat.S_IFMT(mode) in (0, stat.S_IFREG):
                with archive.open(info) as content:
                    _write_file(stage, name, content, mode, mtime)
                if name == PurePosixPath(ENV_FILE_NAME):
                    env_time = _ArchiveTime(mtime, 2.0)
            else:
                raise UnsafeArchiveError(f"{info.filename!r} is neither a file, dir nor symlink")
    return env_time


def _member_name(raw: str) -> PurePosixPath | None:
    """The member's path relative to the archive root; None for the root itself."""
    if "\x00" in raw or raw.startswith("/"):
        raise UnsafeArchiveError(f"absolute archive member name {raw!r}")
    path = PurePosixPath(raw)
    if ".." in path.parts:
        raise UnsafeArchiveError(f"archive member name {raw!r} goes up with '..'")
    parts = [part for part in path.parts if part != "."]
    return PurePosixPath(*parts) if parts else None


def _refuse_below_symlink(name: PurePosixPath, symlinks: set[PurePosixPath]) -> None:
    if any(parent in symlinks for parent in name.parents):
        raise UnsafeArchiveError(f"archive member {str(name)!r} lies below a symlink")


def _make_dir(stage: Path, name: PurePosixPath) -> None:
    path = stage.joinpath(name)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise UnsafeArchiveError(f"archive member {str(name)!r} appears twice")
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)


def _make_symlink(stage: Path, name: PurePosixPath, target: str) -> None:
    if target.startswith("/") or "\x00" in target:
        raise UnsafeArchiveError(f"symlink {str(name)!r} points to the absolute {target!r}")
    path = stage.joinpath(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        raise UnsafeArchiveError(f"archive member {str(name)!r} appears twice")
    path.symlink_to(target)
    _check_inside(stage, path, f"symlink {str(name)!r} -> {target!r}")


def _write_file(
    stage: Path, name: PurePosixPath, content: IO[bytes], mode: int, mtime: float
) -> None:
    path = stage.joinpath(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_dir():
        raise UnsafeArchiveError(f"archive member {str(name)!r} appears twice")
    with path.open("wb") as file:
        shutil.copyfileobj(content, file, _CHUNK)
    path.chmod(0o755 if mode & 0o111 else 0o644)
    os.utime(path, (mtime, mtime))


def _check_symlinks(stage: Path) -> None:
    """Each symlink checked again once all exist: a later one may redirect an earlier one."""
    for path in _walk(stage):
        if path.is_symlink():
            _check_inside(stage, path, f"symlink {path.relative_to(stage).as_posix()!r}")


def _check_inside(root: Path, path: Path, what: str) -> None:
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        raise UnsafeArchiveError(f"{what} resolves outside the program directory")


def _walk(root: Path) -> Iterator[Path]:
    """Every entry below `root`, parents before children, not following symlinks."""
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory)
        for name in sorted(dirnames) + sorted(filenames):
            yield base / name


def _install(
    stage: Path,
    program_dir: Path,
    env_file_path: Path,
    schema_file_path: Path,
    keep_env: bool,
) -> ProgramInstall:
    moves = _planned_moves(stage, program_dir, env_file_path, schema_file_path)
    if keep_env:
        moves = [(source, target) for source, target in moves if target != env_file_path]
    result = ProgramInstall()
    for source, destination in moves:
        if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
            destination.unlink()
        if source.is_dir() and not source.is_symlink():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        if destination.is_dir():
            shutil.rmtree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)
        result.installed.append(destination)
    result.env_replaced = env_file_path in result.installed
    result.schema_replaced = schema_file_path in result.installed
    return result


def _planned_moves(
    stage: Path, program_dir: Path, env_file_path: Path, schema_file_path: Path
) -> list[tuple[Path, Path]]:
    """(staged entry, destination) pairs, parents first, all checked before anything moves.

    A destination in the program directory must not resolve outside it (through a symlink
    already there); the env and schema files live wherever the unit keeps them.
    """
    own_files = {stage / ENV_FILE_NAME: env_file_path, stage / SCHEMA_FILE_NAME: schema_file_path}
    moves = []
    for source in _walk(stage):
        destination = own_files.get(source)
        if destination is None:
            destination = program_dir / source.relative_to(stage)
            _check_inside(program_dir, destination.parent, str(destination))
        moves.append((source, destination))
    return moves


def _keeps_installed_env(stage: Path, env_file_path: Path, env_time: _ArchiveTime | None) -> bool:
    """Checks the archive's env.json and schema.json, then applies the env.json rule."""
    staged_env, staged_schema = stage / ENV_FILE_NAME, stage / SCHEMA_FILE_NAME
    if staged_schema.is_file():
        checked_schema(read_json_object(staged_schema), staged_schema)
    if env_time is None or not staged_env.is_file():
        return True
    archive_env = checked_env(read_json_object(staged_env), staged_env)
    try:
        installed_env = read_json_object(env_file_path)
        installed_mtime = env_file_path.stat().st_mtime
    except (OSError, ValueError):
        return False
    same_version = archive_env.get("PU_COMMIT_VERSION") == installed_env.get("PU_COMMIT_VERSION")
    archive_is_older = installed_mtime >= env_time.mtime + env_time.resolution
    return same_version and archive_is_older
