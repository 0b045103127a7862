"""The platform's REST API as the demo uses it: JSON over HTTP with the standard library (the
project's base install has no HTTP client library), logged in as one user."""

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

TIMEOUT_S = 60


class ApiError(RuntimeError):
    """The API answered with an error, or could not be reached."""

    def __init__(self, method: str, path: str, status: int | None, detail: str) -> None:
        shown = detail if status is None or detail.startswith(str(status)) else f"{status} {detail}"
        super().__init__(f"{method} {path}: {shown}")
        self.status = status


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        """`token`: a user's API token (else log_in gets one)."""
        self.base_url = base_url.rstrip("/")
        self._token = token

    def log_in(self, login: str, password: str) -> None:
        """Logs in as `login`, creating the user first if there is none of that name (the first
        user of an instance becomes its Admin)."""
        try:
            self.call("POST", "/users", {"login": login, "password": password})
        except ApiError as error:
            if error.status is None or error.status >= 500:
                raise
            # The user exists already (a data directory used before): logging in tells.
        answer = self.call("POST", "/users/auth", {"credentials": login, "password": password})
        self._token = answer["token"]

    def call(self, method: str, path: str, body: object = None) -> Any:
        """Sends `body` as JSON; returns the decoded answer (None when it has no body)."""
        data = None if body is None else json.dumps(body).encode()
        content = self._send(method, path, data, "application/json")
        return json.loads(content) if content else None

    def download(self, path: str) -> bytes:
        return self._send("GET", path, None, None)

    def upload(
        self, path: str, field: str, file_name: str, content: bytes, media_type: str
    ) -> None:
        """POSTs one file as multipart/form-data."""
        boundary = f"pepeunit-demo-{uuid.uuid4().hex}"
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{file_name}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n"
        ).encode()
        body = head + content + f"\r\n--{boundary}--\r\n".encode()
        self._send("POST", path, body, f"multipart/form-data; boundary={boundary}")

    def _send(self, method: str, path: str, data: bytes | None, content_type: str | None) -> bytes:
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        if content_type is not None and data is not None:
            request.add_header("content-type", content_type)
        if self._token is not None:
            request.add_header("x-auth-token", self._token)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as reply:
                return bytes(reply.read())
        except urllib.error.HTTPError as error:
            raise ApiError(method, path, error.code, _detail(error.read())) from None
        except OSError as error:
            reason = getattr(error, "reason", error)  # URLError wraps the socket's error
            raise ApiError(
                method, path, None, f"cannot reach the API at {self.base_url}: {reason}"
            ) from None


def _detail(content: bytes) -> str:
    try:
        return str(json.loads(content)["detail"])
    except (ValueError, KeyError, TypeError):
        return content.decode(errors="replace")[:500]
