"""A git repository made from an example unit's directory: its files committed on `main` and
tagged v1.0.0 (units follow a repository's tags), registered by a file:// URL."""

import os
import shutil
import subprocess
from pathlib import Path

VERSION_TAG = "v1.0.0"
BRANCH = "main"
# Fixed identity, no user or system git configuration: the same repository on any machine.
_GIT_ENVIRONMENT = {
    "GIT_AUTHOR_NAME": "Pepeunit demo",
    "GIT_AUTHOR_EMAIL": "demo@pepeunit.invalid",
    "GIT_COMMITTER_NAME": "Pepeunit demo",
    "GIT_COMMITTER_EMAIL": "demo@pepeunit.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


class ExampleRepoError(RuntimeError):
    """git is missing or refused."""


def make_example_repo(example: Path, git_root: Path) -> Path:
    """`git_root/<example name>.git` (registry URLs end in .git), a working repository holding
    the example's files as they are in the source tree; its `.gitignore` keeps out what a
    local run of the program left (env.json, schema.json, log.json)."""
    repository = git_root / f"{example.name}.git"
    shutil.copytree(example, repository, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repository, "init", "--quiet", f"--initial-branch={BRANCH}")
    _git(repository, "add", "--all")
    _git(repository, "commit", "--quiet", "-m", f"{example.name} {VERSION_TAG}")
    _git(repository, "tag", VERSION_TAG)
    return repository


def _git(repository: Path, *arguments: str) -> str:
    try:
        result = subprocess.run(
            ["git", *arguments],
            cwd=repository,
            env={**os.environ, **_GIT_ENVIRONMENT},
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise ExampleRepoError("git is not installed (apt-get install git)") from None
    if result.returncode != 0:
        raise ExampleRepoError(f"git {' '.join(arguments)} in {repository}: {result.stderr}")
    return result.stdout.strip()
