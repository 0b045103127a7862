"""The built-in REST client, on httpx (`pip install 'pepeunit-sdk[rest]'`)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from ._rest import AbstractRestClient, RestResponse

__all__ = ["HttpxRestClient"]

_CHUNK = 1 << 16


class HttpxRestClient(AbstractRestClient):
    def __init__(self, *, timeout: float = 30.0) -> None:
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def get(self, url: str, headers: Mapping[str, str]) -> RestResponse:
        response = self._client.get(url, headers=dict(headers))
        return RestResponse(response.status_code, response.content)

    def post_json(self, url: str, body: Any, headers: Mapping[str, str]) -> RestResponse:
        response = self._client.post(url, json=body, headers=dict(headers))
        return RestResponse(response.status_code, response.content)

    def download(self, url: str, headers: Mapping[str, str], destination: Path) -> RestResponse:
        with self._client.stream("GET", url, headers=dict(headers)) as response:
            if not response.is_success:
                return RestResponse(response.status_code, response.read())
            with destination.open("wb") as file:
                for chunk in response.iter_bytes(_CHUNK):
                    file.write(chunk)
        return RestResponse(response.status_code, b"")

    def close(self) -> None:
        self._client.close()
