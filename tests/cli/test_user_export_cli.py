"""`pepeunit user export|import` pointed at a data dir that holds no instance (none at all, or
an empty database): a one-line error naming the data dir or database and what to do, exit code
1, no traceback, and nothing created."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "pepeunit"


def run_user_command(tmp_path: Path, arguments: tuple[str, ...]) -> subprocess.CompletedProcess:
    """`pepeunit user ARGUMENTS` with PU_DATA_DIR at tmp_path/data and nothing else set."""
    (tmp_path / "archive.tar").write_bytes(b"not looked at before the user is found")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PU_")}
    env["PU_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [str(CLI), "user", *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


@pytest.mark.parametrize(
    "arguments",
    [("export", "alice"), ("import", "archive.tar", "--as", "alice")],
    ids=["export", "import"],
)
def test_a_data_dir_without_an_instance_is_named_not_a_traceback(
    tmp_path: Path, arguments: tuple[str, ...]
):
    result = run_user_command(tmp_path, arguments)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: no instance in {tmp_path}/data (PU_DATA_DIR): it holds no pepeunit.sqlite; "
        "`pepeunit migrate` or `pepeunit up` creates one, or set PU_SQLALCHEMY_DATABASE_URL"
    )
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "arguments",
    [("export", "alice"), ("import", "archive.tar", "--as", "alice")],
    ids=["export", "import"],
)
def test_an_empty_database_is_named_not_a_traceback(tmp_path: Path, arguments: tuple[str, ...]):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pepeunit.sqlite").touch()

    result = run_user_command(tmp_path, arguments)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"cannot read the users of sqlite:///{tmp_path}/data/pepeunit.sqlite" in result.stderr
    assert "no such table: users" in result.stderr
    assert "`pepeunit migrate` creates it" in result.stderr
