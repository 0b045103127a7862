"""`pepeunit user export|import` pointed at a data dir that holds no instance: a one-line error
naming the database and what to do, exit code 1, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "pepeunit"


@pytest.mark.parametrize(
    "arguments",
    [("export", "alice"), ("import", "archive.tar", "--as", "alice")],
    ids=["export", "import"],
)
def test_a_data_dir_without_an_instance_is_named_not_a_traceback(
    tmp_path: Path, arguments: tuple[str, ...]
):
    (tmp_path / "archive.tar").write_bytes(b"not looked at before the user is found")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PU_")}
    env["PU_DATA_DIR"] = str(tmp_path / "data")

    result = subprocess.run(
        [str(CLI), "user", *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"cannot read the users of sqlite:///{tmp_path}/data/pepeunit.sqlite" in result.stderr
    assert "no such table: users" in result.stderr
    assert "`pepeunit migrate` creates it" in result.stderr
