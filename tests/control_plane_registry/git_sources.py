"""Real git repositories for the tests: a working repository to commit in, published to a bare
repository that the registry clones (over file:// or the HTTP server)."""

import copy
import os
import shutil
import subprocess
from pathlib import Path

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

SCHEMA_EXAMPLE = b'{"input_base_topic": ["update/pepeunit"], "output_base_topic": [],\n'
SCHEMA_EXAMPLE += b' "input_topic": ["set/pepeunit"], "output_topic": ["temp/pepeunit"]}\n'


def git(*arguments: str, cwd: Path, date: int | None = None) -> str:
    environment = {**os.environ, **_IDENTITY}
    if date is not None:
        environment["GIT_AUTHOR_DATE"] = environment["GIT_COMMITTER_DATE"] = f"{date} +0300"
    result = subprocess.run(
        ["git", *arguments], cwd=cwd, env=environment, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


class SourceRepository:
    """`work` is where the test commits; `publish()` mirrors it into the bare `bare`."""

    def __init__(self, root: Path, name: str, *, create: bool = True) -> None:
        self.name = name
        self.bare = root / f"{name}.git"
        self.work = root / f"{name}-work"
        self._date = 1_700_000_000
        if create:
            git("init", "--quiet", "--bare", str(self.bare), cwd=root)
            git("init", "--quiet", "--initial-branch=main", str(self.work), cwd=root)

    def copy_to(self, root: Path) -> "SourceRepository":
        """The same repositories, copied under `root` (faster than building them again)."""
        copied = SourceRepository(root, self.name, create=False)
        shutil.copytree(self.bare, copied.bare, symlinks=True)
        shutil.copytree(self.work, copied.work, symlinks=True)
        copied._date = self._date
        return copied

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(
        self,
        message: str,
        files: dict[str, bytes],
        *,
        executable: tuple[str, ...] = (),
        symlinks: dict[str, str] | None = None,
    ) -> str:
        for relative_path, content in files.items():
            path = self.work / relative_path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(0o755 if relative_path in executable else 0o644)
        for relative_path, target in (symlinks or {}).items():
            (self.work / relative_path).symlink_to(target)
        git("add", "--all", cwd=self.work)
        self._date += 60
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work, date=self._date)
        return git("rev-parse", "HEAD", cwd=self.work)

    def switch(self, branch: str, start: str | None = None) -> None:
        """Commit on `branch` from now on; with `start`, (re)create it there."""
        if start is None:
            git("checkout", "--quiet", branch, cwd=self.work)
        else:
            git("checkout", "--quiet", "-B", branch, start, cwd=self.work)

    def tag(self, name: str, commit: str, *, annotated: bool = False) -> None:
        options = ["-a", "-m", f"release {name}"] if annotated else []
        git("tag", *options, name, commit, cwd=self.work)

    def delete_branch(self, name: str) -> None:
        git("branch", "--quiet", "-D", name, cwd=self.work)

    def delete_tag(self, name: str) -> None:
        git("tag", "-d", name, cwd=self.work)

    def publish(self) -> None:
        git("push", "--quiet", "--mirror", str(self.bare), cwd=self.work)


class UnitRepository:
    """The standard source: three branches, tags lightweight and annotated, unit files.

    main:      initial (v0.1.0) ─ features (1.0.0, annotated) ─ fix
    dev:       features ─ dev work (dev-1)
    feature/x: initial ─ experiment
    """

    def __init__(self, root: Path, name: str = "unit") -> None:
        self.source = source = SourceRepository(root, name)
        self.initial = source.commit(
            "Initial commit",
            {
                "schema_example.json": SCHEMA_EXAMPLE,
                "env_example.json": b'{"WIFI_SSID": ""}\n',
                "main.py": b"print('hello')\n",
            },
        )
        source.tag("v0.1.0", self.initial)
        self.features = source.commit(
            "Add features\n\nLonger description.",
            {"lib/util.py": b"VALUE = 1\n", "bin/run.sh": b"#!/bin/sh\necho run\n"},
            executable=("bin/run.sh",),
            symlinks={"entry.py": "main.py"},
        )
        source.tag("1.0.0", self.features, annotated=True)
        self.fix = source.commit("Fix typo", {"main.py": b"print('hello!')\n"})
        source.switch("dev", start=self.features)
        self.dev_work = source.commit("Dev work", {"dev.txt": b"dev\n"})
        source.tag("dev-1", self.dev_work)
        source.switch("feature/x", start=self.initial)
        self.experiment = source.commit("Experiment", {"x.txt": b"x\n"})
        source.switch("main")
        source.publish()

    @property
    def url(self) -> str:
        return self.source.url

    def copy_to(self, root: Path) -> "UnitRepository":
        copied = copy.copy(self)
        copied.source = self.source.copy_to(root)
        return copied


def files_under(path: Path) -> dict[Path, bytes]:
    """Every regular file under `path` with its content."""
    return {
        file: file.read_bytes()
        for file in path.rglob("*")
        if file.is_file() and not file.is_symlink()
    }
