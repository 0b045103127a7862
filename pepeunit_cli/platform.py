"""`pepeunit up`: the whole platform in one process — API, dataflow and (by default) the
embedded MQTT broker — on the embedded defaults (SQLite and chdb under PU_DATA_DIR) or on
PostgreSQL / ClickHouse / an external broker when PU_ settings name them.

One process because chdb allows one process per data directory: the API's data reads and the
dataflow's writes share it. The dataflow's MQTT intake still runs in a child process of its
own (see flows/intake/process.py).
"""

import errno
import logging
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pepeunit_cli.companion import Companion, run_when_serving, start_when_serving
from pepeunit_core.settings import Settings

if TYPE_CHECKING:
    from control_plane.bot.in_thread import BotThread
    from control_plane.notifier.service import Notifier
    from control_plane.services.broker.publisher import MqttPublisher

logger = logging.getLogger("pepeunit.up")

FLOW_STOP_TIMEOUT_S = 60


class PlatformStartError(RuntimeError):
    """The platform cannot start; the message says what to change."""


@dataclass(frozen=True)
class UpOptions:
    host: str
    port: int
    embedded_broker: bool


def up_settings(settings: Settings, options: UpOptions) -> Settings:
    """The settings the platform runs with: unless PU_ variables say otherwise, units reach the
    API over plain http at localhost:PORT (PU_DOMAIN is also the root of every topic), git
    repositories under the system's temporary directory may be registered (file:// URLs, for
    trying things out; never PU_DATA_DIR or the platform's code), the platform's own MQTT
    clients log in with the Backend token, and the dataflow's metrics listen on the API's
    address."""
    from control_plane.security import make_backend_token

    given = settings.model_fields_set
    updates: dict[str, object] = {}
    if "domain" not in given:
        updates["domain"] = f"localhost:{options.port}"
    if "secure" not in given:
        updates["secure"] = False
    if "flow_metrics_host" not in given:
        updates["flow_metrics_host"] = options.host
    if "registry_allowed_url_schemes" not in given:
        updates["registry_allowed_url_schemes"] = ("https", "file")
    if "registry_file_roots" not in given:
        updates["registry_file_roots"] = (Path(tempfile.gettempdir()),)
    resolved = settings.model_copy(update=updates)
    if "mqtt_username" not in given:
        token = make_backend_token(resolved.domain, resolved.resolved_secret_key)
        resolved = resolved.model_copy(update={"mqtt_username": token})
    return resolved


def _check_port_free(host: str, port: int, what: str, hint: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PlatformStartError(
                f"{what} cannot listen on {host}:{port} ({error.strerror}): {hint}"
            ) from None


def _prepare(settings: Settings) -> None:
    from pepeunit_core.migrate import migrate_clickhouse, migrate_sql

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logger.info("data directory %s", settings.data_dir.resolve())
    migrate_sql(settings.resolved_sqlalchemy_url)
    migrate_clickhouse(settings.resolved_clickhouse_url)
    if settings.mosquitto_acl_file is not None:
        _sync_mosquitto_acl(settings)


def _sync_mosquitto_acl(settings: Settings) -> None:
    """Changes made while the platform was down reach the broker before anyone connects."""
    from control_plane.services.broker.mosquitto_acl import MosquittoAclError, sync_mosquitto_acl
    from pepeunit_core.db.engine import make_engine

    engine = make_engine(settings.resolved_sqlalchemy_url)
    try:
        sync_mosquitto_acl(settings, engine)
    except MosquittoAclError as error:
        raise PlatformStartError(f"the Mosquitto ACL file cannot be written: {error}") from None
    finally:
        engine.dispose()


def _print_welcome(settings: Settings, options: UpOptions, broker: str) -> None:
    site = f"http://{settings.domain}{settings.app_prefix}"
    api = f"{site}{settings.api_v1_prefix}"
    metrics = (
        f"http://{settings.flow_metrics_host}:{settings.flow_metrics_port}/metrics (the dataflow's)"
        if settings.flow_metrics_port
        else "off (PU_FLOW_METRICS_PORT=0)"
    )
    lines = [
        "",
        "Pepeunit is up.",
        f"  Console: {site}/   (the first visit creates the Admin)",
        f"  API:     {api}   (docs: {site}/docs)",
        f"  MQTT:    {broker}",
        f"  Metrics: {metrics}",
        f"  Data:    {Path(settings.data_dir).resolve()}",
        "Or create the first user (it becomes the Admin) with the API, then log in:",
        f"  curl -s -X POST {api}/users -H 'content-type: application/json' "
        '-d \'{"login": "admin", "password": "change-me-now"}\'',
        f"  curl -s -X POST {api}/users/auth -H 'content-type: application/json' "
        '-d \'{"credentials": "admin", "password": "change-me-now"}\'',
        "Stop with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)


@dataclass
class TelegramParts:
    """The alert notifier and, in polling mode, the bot: started with a token, stopped first."""

    notifier: "Notifier"
    bot: "BotThread | None"
    bot_publisher: "MqttPublisher | None"

    def stop(self) -> None:
        if self.bot is not None:
            self.bot.stop()
        if self.bot_publisher is not None:
            self.bot_publisher.stop()
        self.notifier.stop()


def _start_telegram(settings: Settings) -> TelegramParts | None:
    """With PU_TELEGRAM_TOKEN: alerts go to Telegram and the bot answers (polling; in webhook
    mode the API answers). Without it alerts wait in the outbox."""
    if not settings.telegram_token:
        logger.info("alerts are kept in the outbox: set PU_TELEGRAM_TOKEN to send them")
        return None
    from control_plane.bot.in_thread import BotThread
    from control_plane.bot.services import BotServices
    from control_plane.notifier.service import Notifier
    from control_plane.services.broker.publisher import MqttPublisher
    from pepeunit_core.crypto import Cipher
    from pepeunit_core.db.engine import make_engine, make_session_factory

    sessions = make_session_factory(make_engine(settings.resolved_sqlalchemy_url))
    notifier = Notifier(settings, sessions)
    notifier.start()
    bot = publisher = None
    if settings.telegram_bot_mode == "polling":
        publisher = MqttPublisher(settings, client_id_prefix="pepeunit-bot")
        publisher.start()
        cipher = Cipher(settings.resolved_encrypt_key)
        bot = BotThread(BotServices(settings, sessions, cipher, publisher))
        bot.start()
    return TelegramParts(notifier, bot, publisher)


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (systemd, Docker, CI) stops the platform as cleanly as Ctrl-C. uvicorn handles
    both while it serves, then restores the handler it found and raises the signal again: with
    Python's default SIGTERM handling that would kill the process before the dataflow stored
    what it holds."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


FLOW_START_TIMEOUT_S = 120


@dataclass
class _FlowThread:
    """The dataflow in a thread of the platform: started before the API, and a platform whose
    dataflow stopped on its own stops too (it would answer while nothing is stored)."""

    settings: Settings
    stop_requested: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    on_death: Callable[[], None] = lambda: None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._main, name="dataflow", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        from flows.runner import ClusterPlacement, run_flow

        try:
            run_flow(
                self.settings,
                ClusterPlacement(),
                stop_requested=self.stop_requested,
                migrate=False,
                on_started=self.started.set,
            )
        except BaseException as error:  # reported by the platform
            self.errors.append(error)
            logger.exception("the dataflow stopped with an error")
        if not self.stop_requested.is_set():
            logger.error("the dataflow stopped on its own: stopping the platform")
            self.on_death()

    def wait_started(self) -> None:
        assert self.thread is not None
        deadline = time.monotonic() + FLOW_START_TIMEOUT_S
        while not self.started.wait(0.1):
            if not self.thread.is_alive():
                raise PlatformStartError(f"the dataflow cannot start: {self._error_text()}")
            if time.monotonic() > deadline:
                raise PlatformStartError(
                    f"the dataflow did not start within {FLOW_START_TIMEOUT_S} s"
                )

    def stop(self) -> None:
        if self.thread is None:
            return
        logger.info("stopping the dataflow (storing what it holds)")
        self.stop_requested.set()
        self.thread.join(FLOW_STOP_TIMEOUT_S)
        if self.thread.is_alive():
            logger.error("the dataflow did not stop within %d s", FLOW_STOP_TIMEOUT_S)

    def _error_text(self) -> str:
        if not self.errors:
            return "it stopped without an error"
        error = self.errors[0]
        text = f"{type(error).__name__}: {error}"
        port = self.settings.flow_metrics_port
        if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
            text += (
                f" (the metrics port {port} is taken: set PU_FLOW_METRICS_PORT to a free port,"
                " or 0 to turn the metrics server off)"
            )
        return text

    def failure(self) -> PlatformStartError | None:
        if self.errors:
            return PlatformStartError(f"the dataflow failed: {self._error_text()}")
        if not self.stop_requested.is_set():
            return PlatformStartError("the dataflow stopped on its own")
        return None


def run_platform(
    settings: Settings, options: UpOptions, companion: Companion | None = None
) -> None:
    """Starts the broker, the dataflow and the API, each only once the one before has started,
    and runs until Ctrl-C, SIGTERM or the dataflow's death; then stops the API, the dataflow and
    the broker, in that order, so the dataflow stores what it holds while the broker is still
    there. A companion (see pepeunit_cli/companion.py) says its own welcome and stops first."""
    import uvicorn

    from control_plane.app import create_app
    from pepeunit_core.db.engine import make_engine, make_session_factory

    settings = up_settings(settings, options)
    _check_port_free(options.host, options.port, "The API", "pass --port or stop the other server")
    if options.embedded_broker:
        _check_port_free(
            settings.mqtt_host,
            settings.mqtt_port,
            "The embedded MQTT broker",
            "set PU_MQTT_PORT to a free port, or PU_MQTT_HOST to use a running broker",
        )
    if settings.flow_metrics_port:
        _check_port_free(
            settings.flow_metrics_host,
            settings.flow_metrics_port,
            "The dataflow's metrics server",
            "set PU_FLOW_METRICS_PORT to a free port, or 0 to turn it off",
        )
    _prepare(settings)

    broker = None
    if options.embedded_broker:
        from control_plane.embedded_broker import start_embedded_broker

        engine = make_engine(settings.resolved_sqlalchemy_url)
        broker = start_embedded_broker(
            settings, make_session_factory(engine), host=settings.mqtt_host, port=settings.mqtt_port
        )
        broker_text = f"embedded broker on {settings.mqtt_host}:{settings.mqtt_port} (amqtt)"
    else:
        broker_text = f"external broker at {settings.mqtt_host}:{settings.mqtt_port}"
    logger.info("MQTT: %s", broker_text)

    flow = _FlowThread(settings)
    telegram = None
    try:
        flow.start()
        flow.wait_started()
        telegram = _start_telegram(settings)
        config = uvicorn.Config(
            create_app(settings), host=options.host, port=options.port, log_level="info"
        )
        server = uvicorn.Server(config)

        def stop_serving() -> None:
            server.should_exit = True

        flow.on_death = stop_serving
        if companion is None:
            # "Pepeunit is up." only once the API answers (the broker and the dataflow run by then)
            run_when_serving(
                server, lambda: _print_welcome(settings, options, broker_text), "welcome"
            )
        else:
            start_when_serving(companion, server, settings)
        try:
            with _sigterm_as_ctrl_c():
                server.run()
        finally:
            if companion is not None:
                companion.stop()
    finally:
        if telegram is not None:
            telegram.stop()
        flow.stop()
        if broker is not None:
            logger.info("stopping the embedded broker")
            broker.stop()
        logger.info("Pepeunit stopped")
    failure = flow.failure()
    if failure is not None:
        raise failure
