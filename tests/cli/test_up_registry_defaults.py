"""What `pepeunit up` lets registries reach unless PU_ settings say otherwise (issue 11.4):
file:// repositories under the system's temporary directory only (where the README's
walkthrough makes its repository), never private addresses."""

import tempfile
from pathlib import Path

from pepeunit_cli.platform import UpOptions, up_settings
from pepeunit_core.settings import Settings

OPTIONS = UpOptions(host="127.0.0.1", port=5000, embedded_broker=True)


def test_up_allows_file_registries_under_the_temporary_directory_only(tmp_path: Path):
    settings = up_settings(Settings(data_dir=tmp_path / "data"), OPTIONS)
    assert "file" in settings.registry_allowed_url_schemes
    assert settings.registry_file_roots == (Path(tempfile.gettempdir()),)
    assert settings.registry_allow_private_addresses is False


def test_the_operators_roots_are_kept(tmp_path: Path):
    chosen = Settings(data_dir=tmp_path / "data", registry_file_roots=(tmp_path / "repos",))
    assert up_settings(chosen, OPTIONS).registry_file_roots == (tmp_path / "repos",)
    nothing = Settings(data_dir=tmp_path / "data", registry_file_roots=())
    assert up_settings(nothing, OPTIONS).registry_file_roots == ()
