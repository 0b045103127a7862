"""The vendored third-party files are exactly those the manifest names (package, version,
origin, license, checksum), and every file of the console is in the installed package."""

import hashlib
import json
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from control_plane.console.templating import STATIC_DIRECTORY

ROOT = Path(__file__).resolve().parents[2]
VENDOR = STATIC_DIRECTORY / "vendor"
MANIFEST = VENDOR / "ASSETS.json"
CONSOLE = STATIC_DIRECTORY.parent


def manifest_entries() -> list[dict]:
    return json.loads(MANIFEST.read_text())["files"]


def test_every_vendored_file_matches_its_checksum():
    entries = manifest_entries()
    for entry in entries:
        data = (VENDOR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert entry["origin"].startswith("https://registry.npmjs.org/"), entry
        assert entry["version"] in entry["origin"] and entry["package"] in entry["origin"]
        assert entry["license"] in {"MIT", "0BSD"}, entry
    on_disk = {
        path.relative_to(VENDOR).as_posix()
        for path in VENDOR.rglob("*")
        if path.is_file() and path != MANIFEST
    }
    assert on_disk == {entry["file"] for entry in entries}


def test_only_minified_builds_with_their_licenses():
    for entry in manifest_entries():
        name = entry["file"]
        assert ".min." in name or name.startswith("licenses/"), name
    packages = {entry["package"] for entry in manifest_entries()}
    licensed = {e["package"] for e in manifest_entries() if e["file"].startswith("licenses/")}
    assert licensed == packages
    assert {"htmx.org", "htmx-ext-sse", "cytoscape", "uplot"} <= packages


def test_the_package_data_covers_every_console_file():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["control_plane.console"]
    for path in CONSOLE.rglob("*"):
        if not path.is_file() or path.suffix == ".py" or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(CONSOLE).as_posix()
        # setuptools globs: `*` does not cross a slash.
        assert any(
            fnmatch(relative, pattern) and relative.count("/") == pattern.count("/")
            for pattern in patterns
        ), f"{relative} is not installed: add it to [tool.setuptools.package-data]"
