"""The import-linter contracts of pyproject.toml hold, and a wrong import breaks them."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = (
    "pipelines",
    "pepeunit_core",
    "flows",
    "pepeunit_grafana",
    "control_plane",
    "pepeunit_cli",
)


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_layers_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_of_the_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    assert lint_imports(tmp_path).returncode == 0  # the copy holds, as the tree does
    return tmp_path


def test_an_import_pointing_up_breaks_the_layers(tmp_path: Path):
    copy_of_the_tree(tmp_path)
    (tmp_path / "pipelines" / "wrong.py").write_text(
        "from pepeunit_core.settings import Settings\n"
    )
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout
    assert "pipelines.wrong -> pepeunit_core.settings" in result.stdout


def test_the_planes_import_neither_each_other_nor_flows_the_dashboards(tmp_path: Path):
    copy_of_the_tree(tmp_path)
    (tmp_path / "control_plane" / "wrong.py").write_text("from flows.runner import run_flow\n")
    (tmp_path / "flows" / "wrong.py").write_text("from pepeunit_grafana import build_dashboards\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "control_plane is not allowed to import flows" in result.stdout
    assert "flows is not allowed to import pepeunit_grafana" in result.stdout


def test_http_in_the_service_layer_breaks_the_contract(tmp_path: Path):
    copy_of_the_tree(tmp_path)
    (tmp_path / "control_plane" / "services" / "wrong.py").write_text(
        "from control_plane.api.pagination import PageDep\n"
    )
    (tmp_path / "control_plane" / "bot" / "wrong.py").write_text("from starlette import status\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "control_plane.services is not allowed to import control_plane.api" in result.stdout
    assert "control_plane.bot.wrong -> starlette" in result.stdout
