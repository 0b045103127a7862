"""Helpers for dataflow tests: seed nodes with pipelines, run the flow, publish, predict."""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session

from flows.runner import ClusterPlacement, run_flow
from pepeunit_core.db import models
from pepeunit_core.db.config_version import bump_dataflow_config_version
from pepeunit_core.db.engine import make_engine, make_session_factory
from pepeunit_core.migrate import migrate_sql
from pepeunit_core.settings import Settings
from pipelines.binding import Binding
from pipelines.clock import from_epoch_ms
from pipelines.config import PipelineConfig
from pipelines.files import PipelineFile
from pipelines.simulation.messages import RecordedMessage
from pipelines.validation import validate_config

DOMAIN = "flow.test"


def pipeline_config(policy: dict[str, Any], **filters: Any) -> PipelineConfig:
    document = {
        "active_period": {"type": "Permanent"},
        "filters": {"type_input_value": "Number", "max_rate": 0, "max_size": 64, **filters},
        "processing_policy": policy,
    }
    config, issues = validate_config(document)
    assert config is not None, issues
    return config


def seed_owner(session: Session, login: str = "flowtest") -> tuple[models.User, models.Repo]:
    """A user with a registry and a repo, for units to belong to."""
    user = models.User(
        role=models.UserRole.ADMIN, login=login, hashed_password="-", cipher_dynamic_salt="-"
    )
    session.add(user)
    session.flush()
    registry = models.RepositoryRegistry(
        platform=models.RepositoryPlatform.GITHUB,
        repository_url=f"https://example.com/{login}.git",
        creator_uuid=user.uuid,
    )
    session.add(registry)
    session.flush()
    repo = models.Repo(
        name=f"{login}-repo", repository_registry_uuid=registry.uuid, creator_uuid=user.uuid
    )
    session.add(repo)
    session.flush()
    return user, repo


def seed_nodes(url: str, configs: dict[str, PipelineConfig]) -> dict[str, str]:
    """Creates one unit with an output node per entry; returns name -> node uuid."""
    migrate_sql(url)
    sessions = make_session_factory(make_engine(url))
    nodes: dict[str, str] = {}
    with sessions() as session:
        user, repo = seed_owner(session)
        unit = models.Unit(name="flowunit", repo_uuid=repo.uuid, creator_uuid=user.uuid)
        session.add(unit)
        session.flush()
        for name, config in configs.items():
            node = models.UnitNode(
                type=models.UnitNodeType.OUTPUT,
                topic_name=f"{name}/pepeunit",
                unit_uuid=unit.uuid,
                creator_uuid=user.uuid,
                is_data_pipe_active=True,
                data_pipe_yml=json.dumps(config.model_dump(mode="json")),
            )
            session.add(node)
            session.flush()
            nodes[name] = str(node.uuid)
        bump_dataflow_config_version(session)
        session.commit()
    return nodes


def flow_settings(
    data_dir: Path, sql_url: str, clickhouse_url: str, mqtt_port: int, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "domain": DOMAIN,
        "data_dir": data_dir,
        "sqlalchemy_database_url": sql_url,
        "clickhouse_database_url": clickhouse_url,
        "mqtt_host": "127.0.0.1",
        "mqtt_port": mqtt_port,
        "flow_metrics_port": 0,
        "flow_config_poll_interval": 0.5,
        "flow_flush_interval": 0.2,
    }
    return Settings(**(values | extra))


@contextmanager
def running_flow(settings: Settings, wait_connected_s: float = 20) -> Iterator[threading.Thread]:
    """Runs the dataflow in a thread of this process (so it can share the test's chdb)."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run_flow(settings, ClusterPlacement(), stop_requested=stop)
        except BaseException as error:  # reported to the test below
            errors.append(error)

    thread = threading.Thread(target=target, name="flow-under-test", daemon=True)
    thread.start()
    try:
        wait_subscribed(settings, lambda: bool(errors) or not thread.is_alive(), wait_connected_s)
        yield thread
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), "the flow did not stop within 60 s"
        if errors:
            raise errors[0]


CLI = Path(sys.executable).parent / "pepeunit"


def start_flow_process(
    settings: Settings, log_path: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    """`pepeunit flow ARGS` as a child process configured through PU_ variables (those of
    `settings` the tests vary, and `extra_env`)."""
    environment = {
        **os.environ,
        "PU_DOMAIN": settings.domain,
        "PU_DATA_DIR": str(settings.data_dir),
        "PU_SQLALCHEMY_DATABASE_URL": settings.resolved_sqlalchemy_url,
        "PU_CLICKHOUSE_DATABASE_URL": settings.resolved_clickhouse_url,
        "PU_MQTT_PORT": str(settings.mqtt_port),
        "PU_FLOW_METRICS_PORT": str(settings.flow_metrics_port),
        "PU_FLOW_FLUSH_INTERVAL": str(settings.flow_flush_interval),
        "PU_FLOW_CLOCK_OFFSET_MS": str(settings.flow_clock_offset_ms),
        **(extra_env or {}),
    }
    log = log_path.open("a")
    return subprocess.Popen(
        [str(CLI), "flow", *args], env=environment, stdout=log, stderr=subprocess.STDOUT
    )


PROBE_TOPIC = f"{DOMAIN}/probe/pepeunit"
MINUTE_MS = 60_000


def offset_placing_now_at(second_of_minute: float) -> int:
    """A receive clock offset (ms) under which it is now `second_of_minute` s into a minute."""
    real = time.time_ns() // 1_000_000
    return (int(second_of_minute * 1000) - real % MINUTE_MS) % MINUTE_MS


def wait_subscribed(
    settings: Settings, failed: Callable[[], bool], timeout_s: float, partition: int = 0
) -> None:
    """Publishes probes (counted by the flow as bad topics) until one reaches its intake log."""
    wal = settings.data_dir.resolve() / "flow" / f"intake-p{partition}.sqlite"
    probe = Publisher(settings.mqtt_port, client_id=f"probe-{time.monotonic_ns()}")
    try:

        def probe_logged() -> bool:
            if failed():
                return True
            probe.publish_raw(PROBE_TOPIC, b"probe", qos=0)
            if not wal.exists():
                return False
            with sqlite3.connect(wal) as connection:
                try:
                    return connection.execute("SELECT count() FROM messages").fetchone()[0] > 0
                except sqlite3.OperationalError:
                    return False

        wait_until(probe_logged, timeout_s, interval_s=0.2)
    finally:
        probe.close()


def wait_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


@dataclass
class Publisher:
    port: int
    client_id: str = "test-publisher"

    def __post_init__(self) -> None:
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=self.client_id
        )
        self._client.max_inflight_messages_set(1000)
        self._client.connect("127.0.0.1", self.port)
        self._client.loop_start()

    def publish(self, node: str, payload: str | bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        return self._client.publish(f"{DOMAIN}/{node}/pepeunit", payload, qos=qos)

    def publish_raw(self, topic: str, payload: bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        return self._client.publish(topic, payload, qos=qos)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def logged_messages(data_dir: Path, partition: int = 0) -> list[RecordedMessage]:
    """What the flow received, with its receive times, read from its intake log."""
    path = data_dir.resolve() / "flow" / f"intake-p{partition}.sqlite"
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT offset, received_ms, topic, payload FROM messages ORDER BY offset"
        ).fetchall()
    messages = []
    for offset, received_ms, topic, payload in rows:
        parts = topic.split("/")
        if topic == PROBE_TOPIC:
            continue
        messages.append(
            RecordedMessage(offset, from_epoch_ms(received_ms), bytes(payload).decode(), parts[1])
        )
    return messages


def pipeline_files(configs: dict[str, PipelineConfig], nodes: dict[str, str]) -> list[PipelineFile]:
    return [
        PipelineFile(Path(f"{name}.yaml"), Binding(node=nodes[name]), config)
        for name, config in configs.items()
    ]
