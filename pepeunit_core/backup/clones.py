"""The registry clones (bare git repositories under PU_SAVE_REPO_PATH) as archive members
`repos/<registry uuid>/<path>`, so a restored instance serves env, schema and firmware at once,
even when a registry's remote is gone.

A sync may fetch while the backup reads. Git writes a fetch's objects before it moves the refs,
so each clone's refs are read first and its objects after: every object a copied ref names is
in the copy. Directories being cloned or deleted (hidden, `.cloning`, `.deleting`) are
skipped; their registries are cloned again by the schedules.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pepeunit_core.backup.manifest import BackupArchiveError

CLONES_MEMBER_PREFIX = "repos/"
_REFS_FIRST = ("HEAD", "packed-refs", "refs")


def clone_files(repo_path: Path) -> Iterator[tuple[str, Path]]:
    """(member name, file) of every clone under `repo_path`, refs before objects."""
    if not repo_path.is_dir():
        return
    for clone in sorted(repo_path.iterdir()):
        if clone.name.startswith(".") or not clone.is_dir():
            continue
        files = sorted(
            path for path in clone.rglob("*") if path.is_file() and not path.is_symlink()
        )
        files.sort(key=lambda path: path.relative_to(clone).parts[0] not in _REFS_FIRST)
        for path in files:
            yield f"{CLONES_MEMBER_PREFIX}{path.relative_to(repo_path).as_posix()}", path


def clones_present(repo_path: Path) -> bool:
    return repo_path.is_dir() and any(
        not entry.name.startswith(".") for entry in repo_path.iterdir()
    )


def restore_clone_file(repo_path: Path, name: str, source: BinaryIO) -> None:
    relative = PurePosixPath(name.removeprefix(CLONES_MEMBER_PREFIX))
    if not relative.parts or relative.parts[0].startswith("."):
        raise BackupArchiveError(f"member {name!r} is not a registry clone's file")
    target = repo_path.joinpath(*relative.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as file:
        shutil.copyfileobj(source, file)
