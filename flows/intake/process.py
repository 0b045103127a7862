"""Runs a partition's MQTT intake in its own process, so receiving and logging use another
core than the dataflow (Python threads would share one).

The child stops when told to (logging and acknowledging what it holds) and also when its parent
disappears, so a killed dataflow process leaves no intake behind.
"""

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path

from flows.config_cache import ConfigCache
from flows.garbage_collector import settle_garbage_collector
from flows.intake.mqtt_intake import IntakeSettings, MqttIntake
from flows.intake.progress import IntakeProgress
from flows.intake.wal import WriteAheadLog
from flows.routing.routes import RouteTable, load_route_table
from pepeunit_core.db.engine import make_engine, make_session_factory

logger = logging.getLogger("pepeunit.flow.intake")

_PARENT_CHECK_S = 0.2


@dataclass(frozen=True)
class RoutingArgs:
    """Where the intake reads the edges it routes along."""

    database_url: str
    domain: str
    poll_interval_s: float


@dataclass(frozen=True)
class IntakeProcessArgs:
    settings: IntakeSettings
    wal_path: Path
    partition: str
    clock_offset_ms: int
    log_level: int
    routing: RoutingArgs | None = None


def _route_config_cache(routing: RoutingArgs) -> ConfigCache[RouteTable]:
    engine = make_engine(routing.database_url)
    cache = ConfigCache(
        make_session_factory(engine),
        lambda session: load_route_table(session, routing.domain),
        name="route-config-cache",
        poll_interval_s=routing.poll_interval_s,
    )
    cache.start()
    return cache


def _run_intake(
    args: IntakeProcessArgs, progress: IntakeProgress, stop: Event, parent_pid: int
) -> None:
    # Ctrl-C reaches the whole process group, and systemd's SIGTERM the whole control group;
    # the parent's stop request is what ends us (killed by a signal, we could leave the stop
    # event's lock held and the parent waiting on it forever).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    offset = args.clock_offset_ms

    def clock_ms() -> int:
        return time.time_ns() // 1_000_000 + offset

    routes = _route_config_cache(args.routing) if args.routing is not None else None
    wal = WriteAheadLog(args.wal_path)
    intake = MqttIntake(
        args.settings,
        wal,
        args.partition,
        progress,
        clock_ms,
        routes=(lambda: routes.current) if routes is not None else None,
    )
    settle_garbage_collector()
    intake.start()
    while not stop.wait(_PARENT_CHECK_S):
        if os.getppid() != parent_pid:
            logger.warning("partition %s: the dataflow process is gone; stopping", args.partition)
            break
    intake.stop()
    wal.close()
    if routes is not None:
        routes.stop()


class IntakeProcess:
    """The dataflow side's handle on one partition's intake process."""

    def __init__(self, args: IntakeProcessArgs) -> None:
        self._args = args
        self._context = multiprocessing.get_context("spawn")
        self.progress = IntakeProgress.create(self._context)
        self._stop = self._context.Event()
        self._process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        self._stop.clear()
        self._process = self._context.Process(
            target=_run_intake,
            args=(self._args, self.progress, self._stop, os.getpid()),
            name=f"pepeunit-intake-{self._args.partition}",
            daemon=True,
        )
        self._process.start()

    def ensure_running(self) -> None:
        """Restarts the intake if it died (nothing is lost: unacknowledged messages wait in
        the broker's session for the new client)."""
        if self._process is not None and not self._process.is_alive():
            logger.error(
                "partition %s: intake process exited (code %s); restarting it",
                self._args.partition,
                self._process.exitcode,
            )
            self.start()

    def stop(self, timeout_s: float = 60) -> None:
        """Asks the intake to log and acknowledge what it holds, then waits for it."""
        if self._process is None:
            return
        if self._process.is_alive():  # a dead one may have left the event's lock held
            self._stop.set()
        self._process.join(timeout_s)
        if self._process.is_alive():
            logger.error("partition %s: intake did not stop in time; killing it",
                         self._args.partition)  # fmt: skip
            self._process.kill()
            self._process.join()
        self._process = None


IntakeProcessFactory = Callable[[int], IntakeProcess]
