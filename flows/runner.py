"""`pepeunit flow`: runs the dataflow process (one of a cluster, or alone)."""

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from wsgiref.simple_server import WSGIServer

from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.run import cli_main
from prometheus_client import CollectorRegistry, start_http_server

from flows.config_cache import pipeline_config_cache
from flows.dataflow.build import DataflowParts, build_dataflow
from flows.dataflow.sinks import Writers, storage_partition_name
from flows.dataflow.source import SourcePartition, SourceSettings
from flows.garbage_collector import settle_garbage_collector
from flows.intake.mqtt_intake import IntakeSettings
from flows.intake.process import IntakeProcess, IntakeProcessArgs, RoutingArgs
from flows.intake.wal import WriteAheadLog
from flows.janitor import StorageJanitor
from flows.metrics import FlowMetrics
from flows.mqtt_endpoint import MqttEndpoint
from flows.storage.alert_event_writer import AlertEventWriter
from flows.storage.clickhouse_writer import ClickHouseWriter
from flows.storage.last_value_writer import LastValueWriter
from flows.storage.live_events import LiveEventPublisher
from flows.storage.metrics import StorageMetrics
from flows.storage.rejections_writer import RejectionsWriter
from flows.storage.unit_state_writer import UnitStateWriter
from pepeunit_core.clickhouse.client import make_clickhouse_client
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_clickhouse, migrate_sql
from pepeunit_core.settings import Settings
from pepeunit_core.topics import BaseTopicDestination

logger = logging.getLogger("pepeunit.flow")

_RECOVERY_PARTITIONS_PER_PROCESS = 1


@dataclass(frozen=True, slots=True)
class ClusterPlacement:
    """Where this process stands in a cluster of flow processes."""

    process_id: int = 0
    addresses: tuple[str, ...] = ()
    """`host:port` of every process (empty: a single process)."""

    @property
    def process_count(self) -> int:
        return max(len(self.addresses), 1)


def subscription_filters(settings: Settings, placement: ClusterPlacement) -> tuple[str, ...]:
    """Node topics (stored and routed), plain node topics (routed only) and the units' state
    and log reports; shared by the cluster's processes when there are several."""
    domain = settings.domain
    topics = (
        f"{domain}/+/pepeunit",
        f"{domain}/+",
        f"{domain}/{BaseTopicDestination.OUTPUT}/+/+/pepeunit",
    )
    group = settings.resolved_flow_shared_group if placement.process_count > 1 else ""
    if group:
        return tuple(f"$share/{group}/{topic}" for topic in topics)
    return topics


def local_storage_partitions(settings: Settings, placement: ClusterPlacement) -> tuple[str, ...]:
    """chdb allows one process per data directory: then process 0 writes everything."""
    if settings.resolved_clickhouse_url.startswith("chdb:"):
        return (storage_partition_name(0),) if placement.process_id == 0 else ()
    return (storage_partition_name(placement.process_id),)


def _flow_dir(settings: Settings) -> Path:
    return (settings.data_dir / "flow").resolve()


def clock_with_offset(offset_ms: int) -> Callable[[], int]:
    def clock_ms() -> int:
        return time.time_ns() // 1_000_000 + offset_ms

    return clock_ms


def intake_settings(
    settings: Settings, placement: ClusterPlacement, partition: int
) -> IntakeSettings:
    """The MQTT side of a partition's intake: the Backend login, the partition's persistent
    session (a client id derived from the instance secret) and its subscriptions."""
    return IntakeSettings(
        endpoint=mqtt_endpoint(settings),
        client_id=f"{settings.resolved_flow_client_id}-p{partition}",
        subscriptions=subscription_filters(settings, placement),
        heartbeat_topic=f"{settings.domain}/pepeunit_flow/p{partition}/heartbeat",
        route_max_unconfirmed=settings.flow_route_max_unconfirmed,
    )


@dataclass(frozen=True, slots=True)
class SourcePartitionOpener:
    settings: Settings
    placement: ClusterPlacement

    def __call__(self, partition: int) -> SourcePartition:
        settings = self.settings
        wal_path = _flow_dir(settings) / f"intake-p{partition}.sqlite"
        wal = WriteAheadLog(wal_path)
        args = IntakeProcessArgs(
            intake_settings(settings, self.placement, partition),
            wal_path,
            f"p{partition}",
            settings.flow_clock_offset_ms,
            logging.getLogger().getEffectiveLevel(),
            RoutingArgs(
                settings.resolved_sqlalchemy_url,
                settings.domain,
                settings.flow_config_poll_interval,
            ),
        )
        return SourcePartition(wal, IntakeProcess(args))


@dataclass(frozen=True, slots=True)
class WriterOpener:
    settings: Settings
    metrics: StorageMetrics

    def __call__(self) -> Writers:
        session_factory = make_session_factory(make_engine(self.settings.resolved_sqlalchemy_url))
        clickhouse = make_clickhouse_client(self.settings.resolved_clickhouse_url)
        return Writers(
            ClickHouseWriter(clickhouse, self.metrics),
            LastValueWriter(session_factory, self.metrics),
            UnitStateWriter(session_factory, self.settings.state_send_interval, self.metrics),
            AlertEventWriter(session_factory, self.metrics),
            RejectionsWriter(session_factory, self.metrics),
        )


def mqtt_endpoint(settings: Settings) -> MqttEndpoint:
    """The platform's broker login (the Backend token)."""
    return MqttEndpoint(
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        keepalive=settings.mqtt_keepalive,
        username=settings.mqtt_username,
        password=settings.mqtt_password,
    )


@dataclass(frozen=True, slots=True)
class AnnouncerOpener:
    settings: Settings

    def __call__(self) -> LiveEventPublisher:
        settings = self.settings
        publisher = LiveEventPublisher(
            mqtt_endpoint(settings), settings.resolved_flow_client_id, settings.domain
        )
        publisher.start()
        return publisher


def _recovery_config(settings: Settings, placement: ClusterPlacement) -> RecoveryConfig:
    directory = _flow_dir(settings) / f"recovery-{placement.process_id}"
    if not directory.exists():
        directory.mkdir(parents=True)
        init_db_dir(directory, _RECOVERY_PARTITIONS_PER_PROCESS)
        logger.info("created the recovery store in %s", directory)
    return RecoveryConfig(directory)


def _install_stop_signals(stop_requested: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def request_stop(signal_number: int, _frame: FrameType | None) -> None:
        logger.info(
            "received %s: finishing the current batches", signal.Signals(signal_number).name
        )
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def start_metrics_server(
    settings: Settings, registry: CollectorRegistry
) -> tuple[WSGIServer, threading.Thread] | None:
    """Serves the metrics on PU_FLOW_METRICS_HOST:PU_FLOW_METRICS_PORT (loopback by default:
    they tell what the platform carries); None when the port is 0."""
    if not settings.flow_metrics_port:
        return None
    served = start_http_server(
        settings.flow_metrics_port, addr=settings.flow_metrics_host, registry=registry
    )
    logger.info("metrics on %s:%d", settings.flow_metrics_host, settings.flow_metrics_port)
    return served


def run_flow(
    settings: Settings,
    placement: ClusterPlacement | None = None,
    *,
    stop_requested: threading.Event | None = None,
    migrate: bool = True,
    epoch_interval: timedelta = timedelta(seconds=2),
    on_started: Callable[[], None] | None = None,
) -> None:
    """Runs until `stop_requested` is set (SIGTERM / Ctrl-C in the main thread). `on_started`
    is called once the metrics server listens and the dataflow is built, as it starts."""
    placement = placement or ClusterPlacement()
    stop_requested = stop_requested or threading.Event()
    _install_stop_signals(stop_requested)
    # The MQTT identity may derive from the generated secrets: read (or made) here, where a
    # failure is a plain error and not a panic of a bytewax worker thread.
    _ = settings.resolved_flow_client_id, settings.resolved_flow_shared_group
    if migrate and placement.process_id == 0:
        migrate_sql(settings.resolved_sqlalchemy_url)
        migrate_clickhouse(settings.resolved_clickhouse_url)

    registry = CollectorRegistry()
    flow_metrics = FlowMetrics(registry)
    storage_metrics = StorageMetrics(registry)
    start_metrics_server(settings, registry)

    session_factory = make_session_factory(make_engine(settings.resolved_sqlalchemy_url))
    pipelines = pipeline_config_cache(session_factory, settings.flow_config_poll_interval)
    pipelines.start()
    janitor = None
    if placement.process_id == 0 and settings.nrecords_cleanup_interval > 0:
        janitor = StorageJanitor(
            lambda: make_clickhouse_client(settings.resolved_clickhouse_url),
            settings.nrecords_cleanup_interval,
        )
        janitor.start()
    parts = DataflowParts(
        domain=settings.domain,
        source=SourceSettings(
            partitions=(placement.process_id,),
            clock_ms=clock_with_offset(settings.flow_clock_offset_ms),
        ),
        partition_count=placement.process_count,
        open_source_partition=SourcePartitionOpener(settings, placement),
        open_writers=WriterOpener(settings, storage_metrics),
        open_announcer=AnnouncerOpener(settings),
        current_pipelines=lambda: pipelines.current,
        stop_requested=stop_requested,
        metrics=flow_metrics,
        max_payload_size=settings.mqtt_max_payload_bytes,
        storage_partitions=local_storage_partitions(settings, placement),
        batch_rows=settings.flow_batch_rows,
        batch_wait=timedelta(seconds=settings.flow_flush_interval),
        state_send_interval=timedelta(seconds=settings.state_send_interval),
        unit_log_lifetime=timedelta(seconds=settings.unit_log_expiration),
    )
    logger.info(
        "flow process %d of %d: domain %s, broker %s:%d",
        placement.process_id,
        placement.process_count,
        settings.domain,
        settings.mqtt_host,
        settings.mqtt_port,
    )
    try:
        flow = build_dataflow(parts)
        if on_started is not None:
            on_started()
        settle_garbage_collector()
        cli_main(
            flow,
            workers_per_process=1,
            process_id=placement.process_id if placement.addresses else None,
            addresses=list(placement.addresses) or None,
            epoch_interval=epoch_interval,
            recovery_config=_recovery_config(settings, placement),
        )
    finally:
        pipelines.stop()
        if janitor is not None:
            janitor.stop()
        logger.info("flow process %d stopped", placement.process_id)
