"""A private git server: `git http-backend` behind HTTP basic auth on 127.0.0.1, in a thread."""

import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from tests.services.ports import LOOPBACK


class GitHttpServer:
    """Serves the bare repositories under `project_root` to `username`/`password` only."""

    def __init__(self, project_root: Path, username: str, password: str) -> None:
        self.project_root = project_root
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.expected_authorization = f"Basic {token}"
        self.authorizations: list[str | None] = []
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _GitRequestHandler)
        self._server.daemon_threads = True
        self._server.git = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self, repository_name: str) -> str:
        return f"http://{LOOPBACK}:{self._server.server_port}/{repository_name}.git"


class _GitRequestHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        git_server: GitHttpServer = self.server.git  # type: ignore[attr-defined]
        authorization = self.headers.get("Authorization")
        git_server.authorizations.append(authorization)
        if authorization != git_server.expected_authorization:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="pepeunit tests"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self._request_body()
        path, _, query = self.path.partition("?")
        environment = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(git_server.project_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_USER": "tester",
            "REMOTE_ADDR": LOOPBACK,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }
        result = subprocess.run(
            ["git", "http-backend"], input=body, env=environment, capture_output=True, check=False
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _request_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)
