"""The REST calls against our real API: env.json, schema.json, target version, archives and the
state storage, through the built-in httpx client and through a urllib one of our own."""

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pepeunit_sdk import AbstractRestClient, RestError, RestResponse

from tests.sdk.conftest import MakeClient, UnitFiles
from tests.sdk.live_platform import Platform


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class UrllibRestClient(AbstractRestClient):
    """Another HTTP library behind the library's REST calls: the standard library's."""

    def __init__(self) -> None:
        self.requested: list[str] = []
        self._opener = urllib.request.build_opener(_NoRedirects)

    def get(self, url: str, headers: Mapping[str, str]) -> RestResponse:
        return self._send(urllib.request.Request(url, headers=dict(headers)))

    def post_json(self, url: str, body: Any, headers: Mapping[str, str]) -> RestResponse:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={**headers, "content-type": "application/json"},
            method="POST",
        )
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> RestResponse:
        self.requested.append(f"{request.get_method()} {request.full_url}")
        try:
            with self._opener.open(request, timeout=30) as response:
                return RestResponse(response.status, response.read())
        except urllib.error.HTTPError as error:
            return RestResponse(error.code, error.read())


def test_env_and_schema_downloads_replace_the_files_and_settings_follow(
    platform: Platform, unit: UnitFiles, make_client: MakeClient
):
    client = make_client(enable_rest=True)
    assert client.settings.GREETING == "hello"
    assert client.unit_uuid == unit.uuid
    platform.edit_env(unit.uuid, GREETING="bonjour", PU_MIN_LOG_LEVEL="Warning")
    client.download_env()
    assert client.settings.GREETING == "bonjour"
    assert json.loads(unit.env_path.read_text())["GREETING"] == "bonjour"
    client.logger.info("dropped: below the new minimum level")
    client.logger.warning("kept")
    assert [entry["text"] for entry in client.logger.get_full_log()] == ["kept"]

    platform.set_unit_commit(unit.uuid, platform.versions.v2)
    client.download_schema()
    assert "mode/pepeunit" in client.schema.input_topic
    assert json.loads(unit.schema_path.read_text()) == platform.schema(unit.uuid)


def test_target_version_and_state_storage(
    platform: Platform, unit: UnitFiles, make_client: MakeClient
):
    client = make_client(enable_rest=True)
    target = client.get_target_version()
    assert (target.commit, target.tag) == (platform.versions.v1, None)
    assert client.get_state_storage() == ""
    state = json.dumps({"counter": 3, "name": "ünit"})
    client.set_state_storage(state)
    assert client.get_state_storage() == state
    client.set_state_storage("")
    assert client.get_state_storage() == ""


@pytest.mark.parametrize("archive_format", ["tgz", "tar", "zip"])
def test_download_update_fetches_the_archive_of_the_target(
    unit: UnitFiles, make_client: MakeClient, tmp_path: Path, archive_format: str
):
    client = make_client(enable_rest=True)
    path = client.download_update(tmp_path / f"firmware.{archive_format}", archive_format)
    install_dir = tmp_path / "installed"
    other = make_client(program_dir=install_dir)
    other.update_device_program(path)
    assert (install_dir / "main.py").read_text().count('VERSION = "v1"') == 1
    assert (install_dir / "lib" / "helpers.py").read_text() == "ANSWER = 1\n"


def test_a_refused_call_raises_a_rest_error_with_the_platform_detail(
    platform: Platform, unit: UnitFiles, make_client: MakeClient
):
    client = make_client(enable_rest=True)
    client.get_state_storage()
    response = platform.http.delete(f"/units/{unit.uuid}", headers=platform.alice)
    assert response.status_code == 204, response.text
    with pytest.raises(RestError) as raised:
        client.get_state_storage()
    assert raised.value.status_code == 401
    assert "Agent not found" in raised.value.detail
    assert raised.value.url.endswith(f"/units/get_state_storage/{unit.uuid}")


def test_a_user_supplied_rest_client_replaces_httpx(
    platform: Platform, unit: UnitFiles, make_client: MakeClient, tmp_path: Path
):
    transport = UrllibRestClient()
    client = make_client(enable_rest=True, rest_client=transport)
    assert client.rest_client is transport
    platform.edit_env(unit.uuid, GREETING="hallo")
    client.download_env()
    assert client.settings.GREETING == "hallo"
    client.set_state_storage("kept by urllib")
    assert client.get_state_storage() == "kept by urllib"
    archive = client.download_update(tmp_path / "firmware.tgz")
    assert archive.stat().st_size > 0
    base = f"{platform.base_url}/pepeunit/api/v1/units"
    assert transport.requested == [
        f"GET {base}/env/{unit.uuid}",
        f"POST {base}/set_state_storage/{unit.uuid}",
        f"GET {base}/get_state_storage/{unit.uuid}",
        f"GET {base}/firmware/tgz/{unit.uuid}",
    ]
