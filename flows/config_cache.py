"""The config cache: what the dataflow reads from the SQL database and keeps current, the
active pipeline of every node and (in the intake) the Output→Input route table.

The SQL database is the runtime source of truth (docs/compatibility.md#no-redis). A background
thread watches the dataflow config version (polled; whoever changes a config or an edge bumps it in
the same transaction) and reloads everything when it moves, swapping the whole view at once.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pepeunit_core.db.config_version import (
    DATAFLOW_CONFIG_CHANNEL,
    read_dataflow_config_version,
)
from pepeunit_core.db.models import UnitNode
from pepeunit_core.pipeline_store import StoredConfigError, config_from_stored
from pipelines.engine import Pipeline

logger = logging.getLogger("pepeunit.flow.config_cache")


@dataclass(frozen=True, slots=True)
class PipelineSet:
    """One consistent view of all active pipelines."""

    version: int
    by_node: dict[str, Pipeline] = field(default_factory=dict)
    timed_nodes: tuple[str, ...] = ()
    """Nodes that act on the passing of time (aggregation windows, offline alert rules): the
    dataflow sends them the watermark ticks."""
    invalid: dict[str, str] = field(default_factory=dict)
    """Nodes whose stored config no longer validates, with the first problem."""


def load_pipeline_set(session: Session) -> PipelineSet:
    version = read_dataflow_config_version(session)
    rows = session.execute(
        select(UnitNode.uuid, UnitNode.data_pipe_yml).where(
            UnitNode.is_data_pipe_active.is_(True), UnitNode.data_pipe_yml.is_not(None)
        )
    ).all()
    by_node: dict[str, Pipeline] = {}
    invalid: dict[str, str] = {}
    for node_uuid, stored in rows:
        node = str(node_uuid)
        try:
            by_node[node] = Pipeline(node, config_from_stored(stored))
        except StoredConfigError as error:
            invalid[node] = str(error)
    timed_nodes = tuple(sorted(node for node, pipeline in by_node.items() if pipeline.watches_time))
    return PipelineSet(version, by_node, timed_nodes, invalid)


def load_logged_pipeline_set(session: Session) -> PipelineSet:
    loaded = load_pipeline_set(session)
    for node, problem in loaded.invalid.items():
        logger.error("node %s: stored pipeline ignored: %s", node, problem)
    logger.info("loaded %d pipelines (config version %d)", len(loaded.by_node), loaded.version)
    return loaded


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


LoadedT = TypeVar("LoadedT", bound=Versioned)


class ConfigCache(Generic[LoadedT]):
    """The current view made by `load`, reloaded by a watcher thread when the dataflow config
    version moves."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        load: Callable[[Session], LoadedT],
        *,
        name: str,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._session_factory = session_factory
        self._load_from = load
        self._name = name
        self._poll_interval_s = poll_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current = self._load()

    def _load(self) -> LoadedT:
        with self._session_factory() as session:
            return self._load_from(session)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        wait_for_change = self._notification_waiter()
        while not self._stop.is_set():
            wait_for_change()
            try:
                with self._session_factory() as session:
                    version = read_dataflow_config_version(session)
                if version != self.current.version:
                    self.current = self._load()
            except Exception:
                logger.exception("%s: cannot reload; keeping the current view", self._name)

    def _notification_waiter(self) -> Callable[[], None]:
        """Waits up to one poll interval; on PostgreSQL returns early on a NOTIFY."""

        def poll() -> None:
            self._stop.wait(self._poll_interval_s)

        engine = self._session_factory.kw["bind"]
        if engine is None or engine.dialect.name != "postgresql":
            return poll
        raw = engine.raw_connection()
        connection = raw.driver_connection
        connection.autocommit = True
        connection.execute(f"LISTEN {DATAFLOW_CONFIG_CHANNEL}")

        def wait() -> None:
            try:
                for _ in connection.notifies(timeout=self._poll_interval_s, stop_after=1):
                    break
            except Exception:
                logger.exception("lost the notification connection; polling instead")
                poll()

        return wait


def pipeline_config_cache(
    session_factory: sessionmaker[Session], poll_interval_s: float = 1.0
) -> ConfigCache[PipelineSet]:
    return ConfigCache(
        session_factory,
        load_logged_pipeline_set,
        name="pipeline-config-cache",
        poll_interval_s=poll_interval_s,
    )
