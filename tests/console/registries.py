"""Settings for console tests that clone registries: file:// allowed, clones under the test's
own directory; and the standard source repository (tests/control_plane_registry/git_sources.py)."""

from pathlib import Path

from pepeunit_core.settings import Settings
from tests.control_plane.conftest import make_settings


def registry_settings(database_url: str, clones: Path) -> Settings:
    return make_settings(
        database_url,
        secure=False,
        save_repo_path=clones,
        registry_allowed_url_schemes=("https", "file"),
    )
