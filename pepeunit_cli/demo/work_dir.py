"""The demo's work directory: made afresh for every run, so each run starts a new system."""

import shutil
from dataclasses import dataclass
from pathlib import Path

MARKER = ".pepeunit-demo"


class WorkDirError(RuntimeError):
    """The work directory cannot be used; the message says why."""


@dataclass(frozen=True)
class WorkDir:
    root: Path

    @property
    def data(self) -> Path:
        """The platform's data (PU_DATA_DIR) unless PU_DATA_DIR says otherwise."""
        return self.root / "data"

    @property
    def git(self) -> Path:
        """The example units' git repositories, registered by file:// URL."""
        return self.root / "git"

    @property
    def archives(self) -> Path:
        return self.root / "archives"

    @property
    def units(self) -> Path:
        """One directory per unit: its unpacked archive, where its program runs."""
        return self.root / "units"

    @property
    def logs(self) -> Path:
        """What each unit's process prints."""
        return self.root / "logs"


def fresh_work_dir(root: Path) -> WorkDir:
    """Empties a work directory left by an earlier demo (it holds the marker file), creates a
    missing one, and refuses any other directory that is not empty."""
    root = root.resolve()
    if root.exists():
        if not root.is_dir():
            raise WorkDirError(f"{root} is not a directory")
        if (root / MARKER).is_file():
            shutil.rmtree(root)
        elif any(root.iterdir()):
            raise WorkDirError(
                f"{root} is not empty and not a demo's work directory: pass another --work-dir"
            )
    work = WorkDir(root)
    for directory in (work.root, work.git, work.archives, work.units, work.logs):
        directory.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("A pepeunit demo's work directory: the next demo empties it.\n")
    (root / ".gitignore").write_text("*\n")  # never committed, wherever it lies
    return work
