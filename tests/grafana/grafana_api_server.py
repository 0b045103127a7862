"""A tiny HTTP server on a loopback port standing in for Grafana's dashboard API: it records
every request and answers with a status and JSON body set by the test."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGrafana:
    url: str
    requests: list[RecordedRequest] = field(default_factory=list)
    status: int = 200


class _Handler(BaseHTTPRequestHandler):
    grafana: FakeGrafana

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        self.grafana.requests.append(
            RecordedRequest(
                "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
        )
        if self.grafana.status == 200:
            uid = body["dashboard"]["uid"]
            answer = {"id": 1, "uid": uid, "url": f"/d/{uid}/x", "status": "success", "version": 3}
        else:
            answer = {"message": "The dashboard has been changed by someone else"}
        data = json.dumps(answer).encode()
        self.send_response(self.grafana.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def fake_grafana() -> Iterator[FakeGrafana]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    grafana = FakeGrafana(f"http://127.0.0.1:{server.server_address[1]}")
    _Handler.grafana = grafana
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield grafana
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
