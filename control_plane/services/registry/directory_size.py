"""Bytes on disk under a directory."""

import os
from pathlib import Path


def directory_size(path: Path) -> int:
    """Total size of the files under `path` (links not followed); 0 if it does not exist.

    Files may appear and vanish meanwhile (git is writing): those are skipped, not errors.
    """
    total = 0
    try:
        entries = list(os.scandir(path))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += directory_size(Path(entry.path))
            else:
                total += entry.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            continue
    return total
