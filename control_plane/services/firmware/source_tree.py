"""The files of an exported repository tree that an interpretable firmware archive ships:
everything `.pepeignore` does not exclude.

Devices cannot all unpack symlinks (MicroPython writes any non-directory member as a file, the
Go client refuses them), so a symlink ships as the file or directory it points to, and only
when that target lies inside the tree. Anything else that could smuggle content from outside
the tree or break an unpacker is refused with `UnsafeTreeError`.
"""

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from control_plane.services.firmware.pepeignore import PEPEIGNORE_FILE, PepeIgnore


class UnsafeTreeError(ValueError):
    """The tree holds something an archive must not carry; the message names the path."""


@dataclass(frozen=True)
class TreeFile:
    archive_path: str
    """Relative to the tree root, `/`-separated."""
    source: Path
    """The regular file with the content, inside the tree (symlinks resolved)."""


def firmware_files(tree: Path, *, replaced_root_files: Collection[str] = ()) -> list[TreeFile]:
    """The files to ship, sorted by archive path. Root entries named in `replaced_root_files`
    are left out: the platform writes its own (env.json, schema.json)."""
    root = tree.resolve(strict=True)
    if not root.is_dir():
        raise UnsafeTreeError(f"the repository tree {tree} is not a directory")
    ignore = _read_pepeignore(root)
    files: list[TreeFile] = []
    _collect(root, root, "", ignore, set(replaced_root_files), (root,), files)
    return files


def _read_pepeignore(root: Path) -> PepeIgnore:
    path = root / PEPEIGNORE_FILE
    if not path.is_file():
        return PepeIgnore()
    source = _inside_tree(root, path, PEPEIGNORE_FILE)
    try:
        return PepeIgnore.parse(source.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UnsafeTreeError(f"{PEPEIGNORE_FILE} is not UTF-8 text") from None


def _collect(
    root: Path,
    directory: Path,
    prefix: str,
    ignore: PepeIgnore,
    replaced_root_files: set[str],
    open_directories: tuple[Path, ...],
    files: list[TreeFile],
) -> None:
    with os.scandir(directory) as scanned:
        entries = sorted(scanned, key=lambda entry: entry.name)
    for entry in entries:
        archive_path = prefix + _checked_name(prefix, entry.name)
        if not prefix and entry.name in replaced_root_files:
            continue
        is_dir = entry.is_dir()
        if ignore.is_ignored(archive_path, is_dir=is_dir):
            continue
        source = _inside_tree(root, Path(entry.path), archive_path)
        if is_dir:
            if source in open_directories:
                raise UnsafeTreeError(f"{archive_path} is a symlink loop")
            _collect(
                root,
                source,
                archive_path + "/",
                ignore,
                replaced_root_files,
                (*open_directories, source),
                files,
            )
        elif source.is_file():
            files.append(TreeFile(archive_path, source))
        else:
            raise UnsafeTreeError(f"{archive_path} is neither a regular file nor a directory")


def _checked_name(prefix: str, name: str) -> str:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeTreeError(f"{prefix}{name!r}: file names must be UTF-8") from None
    return name


def _inside_tree(root: Path, path: Path, archive_path: str) -> Path:
    """The real path of `path`, which must exist inside the tree."""
    if not path.is_symlink():
        return path
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise UnsafeTreeError(f"{archive_path} is a symlink to nothing") from None
    if not target.is_relative_to(root):
        raise UnsafeTreeError(f"{archive_path} is a symlink pointing outside the repository")
    return target
