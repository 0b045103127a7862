"""The platform's device routes, on any AbstractRestClient."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ._errors import RestError
from ._rest import AbstractRestClient, RestResponse
from ._settings import Settings

__all__ = ["ArchiveFormat", "TargetVersion", "UnitApi"]

ArchiveFormat = Literal["tgz", "tar", "zip"]


@dataclass(frozen=True)
class TargetVersion:
    """The program version the platform wants the unit to run."""

    commit: str
    tag: str | None


class UnitApi:
    """URLs from env.json at each call (`PU_HTTP_TYPE://PU_DOMAIN PU_APP_PREFIX
    PU_API_ACTUAL_PREFIX`), so a reloaded env.json applies at once."""

    def __init__(self, transport: AbstractRestClient, settings: Settings) -> None:
        self._transport = transport
        self._settings = settings

    @property
    def base_url(self) -> str:
        settings = self._settings
        return (
            f"{settings.PU_HTTP_TYPE}://{settings.PU_DOMAIN}"
            f"{settings.PU_APP_PREFIX}{settings.PU_API_ACTUAL_PREFIX}"
        )

    def get_env(self) -> dict[str, Any]:
        return self._get_json_object("env")

    def get_schema(self) -> dict[str, Any]:
        return self._get_json_object("get_current_schema")

    def get_target_version(self) -> TargetVersion:
        body = self._get_json_object("get_target_version")
        commit, tag = body.get("commit"), body.get("tag")
        if not isinstance(commit, str) or not (tag is None or isinstance(tag, str)):
            raise RestError("GET", self._url("get_target_version"), 200, f"bad body {body}")
        return TargetVersion(commit, tag)

    def download_firmware(self, destination: Path, archive_format: ArchiveFormat) -> None:
        url = self._url(f"firmware/{archive_format}")
        response = self._transport.download(url, self._headers(), destination)
        self._check("GET", url, response)

    def set_state_storage(self, state: str, unit_uuid: str | None = None) -> None:
        """Of the unit `unit_uuid` (default: the unit's own)."""
        url = self._url("set_state_storage", unit_uuid)
        response = self._transport.post_json(url, {"state": state}, self._headers())
        self._check("POST", url, response)

    def get_state_storage(self, unit_uuid: str | None = None) -> str:
        url = self._url("get_state_storage", unit_uuid)
        response = self._transport.get(url, self._headers())
        self._check("GET", url, response)
        try:
            state = json.loads(response.content)
        except ValueError:
            state = None
        if not isinstance(state, str):
            raise RestError("GET", url, response.status_code, "the state is not a JSON string")
        return state

    def _get(self, route: str) -> RestResponse:
        url = self._url(route)
        response = self._transport.get(url, self._headers())
        self._check("GET", url, response)
        return response

    def _get_json_object(self, route: str) -> dict[str, Any]:
        """A JSON object; a JSON string holding one is unwrapped (as other clients do)."""
        response = self._get(route)
        try:
            body = json.loads(response.content)
            if isinstance(body, str):
                body = json.loads(body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            url = self._url(route)
            raise RestError("GET", url, response.status_code, "the body is not a JSON object")
        return body

    def _url(self, route: str, unit_uuid: str | None = None) -> str:
        return f"{self.base_url}/units/{route}/{unit_uuid or self._settings.unit_uuid}"

    def _headers(self) -> dict[str, str]:
        return {"accept": "application/json", "x-auth-token": self._settings.PU_AUTH_TOKEN}

    @staticmethod
    def _check(method: str, url: str, response: RestResponse) -> None:
        if 200 <= response.status_code < 300:
            return
        raise RestError(method, url, response.status_code, _detail(response.content))


def _detail(content: bytes) -> str:
    try:
        body = json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")[:500]
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else str(body)[:500]
