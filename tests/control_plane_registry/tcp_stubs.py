"""TCP peers that misbehave on purpose, on 127.0.0.1, each in a thread.

`SilentListener` accepts connections and never answers (a port like the finding's
`https://127.0.0.1:6379`); `PausableProxy` forwards to a real server until told to hold new
connections unanswered, or to fall silent on every connection.
"""

import contextlib
import socket
import threading
import time

from tests.services.ports import LOOPBACK


class SilentListener:
    """Accepts every connection, reads nothing, answers nothing, until stopped."""

    def __init__(self) -> None:
        self._socket = socket.create_server((LOOPBACK, 0), backlog=256)
        self._socket.settimeout(0.05)
        self.port: int = self._socket.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "SilentListener":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self._held:
            connection.close()
        self._socket.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            self._held.append(connection)


class PausableProxy:
    """Forwards each connection to `127.0.0.1:target_port`; while `hold` is set, new
    connections are accepted and left unanswered; while `silence` is set, nothing is forwarded
    either way on any connection (a peer that stopped answering, its sockets still open)."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._socket = socket.create_server((LOOPBACK, 0), backlog=64)
        self._socket.settimeout(0.05)
        self.port: int = self._socket.getsockname()[1]
        self.hold = threading.Event()
        self.silence = threading.Event()
        self.held = 0
        self._connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PausableProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.close()
        self._socket.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._socket.accept()
            except TimeoutError:
                continue
            self._connections.append(client)
            if self.hold.is_set():
                self.held += 1
                continue
            upstream = socket.create_connection((LOOPBACK, self._target_port))
            self._connections.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                pump = threading.Thread(
                    target=_pump, args=(source, sink, self.silence), daemon=True
                )
                pump.start()


def _pump(source: socket.socket, sink: socket.socket, silence: threading.Event) -> None:
    with contextlib.suppress(OSError):
        while True:
            while silence.is_set():
                time.sleep(0.01)
            data = source.recv(65536)
            if not data:
                break
            while silence.is_set():
                time.sleep(0.01)
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
