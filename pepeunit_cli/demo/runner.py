"""The demo beside the platform (a `Companion` of `run_platform`): once the API serves, it
builds the system, downloads each unit's firmware, runs the units and prints the guide; when
the platform stops, it stops the units first."""

import logging
import threading
from collections.abc import Callable

from pepeunit_cli.demo.api_client import ApiClient
from pepeunit_cli.demo.firmware import download_firmware, unpack_firmware
from pepeunit_cli.demo.guide import guide_text
from pepeunit_cli.demo.sources import DemoSources
from pepeunit_cli.demo.system import build_system
from pepeunit_cli.demo.unit_processes import UnitProcesses
from pepeunit_cli.demo.unit_runtime import UnitRuntime
from pepeunit_cli.demo.work_dir import WorkDir
from pepeunit_core.settings import Settings

logger = logging.getLogger("pepeunit.demo")

DEMO_LOGIN = "demo"
DEMO_PASSWORD = "demo-pass-word"


class DemoRunner:
    def __init__(
        self, work: WorkDir, sources: DemoSources, runtime: UnitRuntime, api_port: int
    ) -> None:
        self.failure: str | None = None
        """Why the demo could not start, when it could not."""
        self._work = work
        self._sources = sources
        self._api_port = api_port
        self._units = UnitProcesses(runtime)
        self._stopping = threading.Event()

    def start(self, settings: Settings, stop_platform: Callable[[], None]) -> None:
        try:
            self._run(settings)
        except Exception as error:
            if self._stopping.is_set():
                logger.info("the demo stopped while it was starting (%s)", error)
                return
            self.failure = str(error)
            logger.error("the demo could not start: %s", error)
            stop_platform()

    def stop(self) -> None:
        self._stopping.set()
        logger.info("stopping the units")
        self._units.stop_all()

    def _run(self, settings: Settings) -> None:
        prefix = f"{settings.app_prefix}{settings.api_v1_prefix}"
        api = ApiClient(f"http://127.0.0.1:{self._api_port}{prefix}")
        api.log_in(DEMO_LOGIN, DEMO_PASSWORD)
        logger.info("logged in as %s", DEMO_LOGIN)
        system = build_system(api, self._work, self._sources.examples, self._sources.pipelines)
        for unit in system.units.values():
            archive = download_firmware(api, unit.uuid, self._work.archives / f"{unit.name}.tgz")
            program_dir = self._work.units / unit.name
            unpack_firmware(archive, program_dir)
            logger.info("%s: firmware %s unpacked into %s", unit.name, archive.name, program_dir)
            self._units.start(unit.name, program_dir, self._work.logs / f"{unit.name}.log")
        scheme = "https" if settings.secure else "http"
        public = f"{scheme}://{settings.domain}{settings.app_prefix}"
        print(
            guide_text(
                f"{public}{settings.api_v1_prefix}",
                f"{public}/docs",
                DEMO_LOGIN,
                DEMO_PASSWORD,
                system,
                self._work,
                settings.data_dir,
            ),
            flush=True,
        )
