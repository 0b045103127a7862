"""What the library needs from an HTTP client; implement it to use another HTTP library."""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AbstractRestClient", "RestResponse"]


@dataclass(frozen=True)
class RestResponse:
    status_code: int
    content: bytes


class AbstractRestClient(ABC):
    """Plain HTTP requests; the library builds the URLs and headers and reads the answers.

    Implementations must not follow redirects (the platform's routes never redirect) and
    return every status as it is; they raise only when no answer came (OSError or the
    library's own error).
    """

    @abstractmethod
    def get(self, url: str, headers: Mapping[str, str]) -> RestResponse: ...

    @abstractmethod
    def post_json(self, url: str, body: Any, headers: Mapping[str, str]) -> RestResponse:
        """POST `body` serialised as JSON, with `content-type: application/json`."""

    def download(self, url: str, headers: Mapping[str, str], destination: Path) -> RestResponse:
        """GET `url`; a 2xx body goes to `destination` (the response then has no content),
        any other answer comes back whole and writes nothing.

        Override to stream large bodies; the default reads the whole body with `get`.
        """
        response = self.get(url, headers)
        if not 200 <= response.status_code < 300:
            return response
        destination.write_bytes(response.content)
        return RestResponse(response.status_code, b"")

    def close(self) -> None:
        """Release connections; the default has none."""
        return None
