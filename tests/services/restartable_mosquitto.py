"""A private Mosquitto that a test can stop and start again on the same port (a broker outage
as a client sees it)."""

import subprocess
from pathlib import Path

from .mosquitto import STARTUP_TIMEOUT_S, MosquittoServer, mosquitto_config
from .ports import LOOPBACK, accepts_connections, free_loopback_port
from .processes import find_binary, stop_process, wait_until_ready, with_parent_death_signal


class RestartableMosquitto:
    def __init__(self, work_dir: Path) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        self.server = MosquittoServer(
            host=LOOPBACK,
            port=free_loopback_port(),
            config_path=work_dir / "mosquitto.conf",
            log_path=work_dir / "mosquitto.log",
        )
        self.server.config_path.write_text(mosquitto_config(self.server, (), allow_anonymous=True))
        self._binary = find_binary(
            "mosquitto", [Path("/usr/sbin/mosquitto")], debian_package="mosquitto"
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        assert self._process is None, "already running"
        command = [str(self._binary), "-c", str(self.server.config_path)]
        with self.server.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                with_parent_death_signal(command, "TERM"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_ready(
            self._process,
            lambda: accepts_connections(self.host, self.port),
            what=f"mosquitto on {self.host}:{self.port}",
            log_path=self.server.log_path,
            timeout=STARTUP_TIMEOUT_S,
        )

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()
