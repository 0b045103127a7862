"""PepeunitClient: what a unit's program holds to talk to the platform."""

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Self, overload
from uuid import UUID

from ._archive import ProgramInstall, install_program_archive
from ._built_in_clients import built_in_mqtt_client, built_in_rest_client, chosen_client
from ._commands import serve_command
from ._enums import BaseInputTopic, BaseOutputTopic, RestartMode
from ._errors import ClientNotEnabledError, MqttConnectionError, UnknownTopicError
from ._json_files import write_json_object
from ._logger import LogEntry, Logger
from ._mqtt import AbstractMqttClient, MqttConnectionSettings, MqttMessage
from ._repeated_errors import RepeatedErrors
from ._rest import AbstractRestClient
from ._schema import Schema
from ._settings import Settings
from ._system_state import SystemState, get_system_state
from ._unit_api import ArchiveFormat, TargetVersion, UnitApi

__all__ = ["InputHandler", "OutputFunction", "PepeunitClient"]

InputHandler = Callable[["PepeunitClient", MqttMessage], None]
OutputFunction = Callable[["PepeunitClient"], None]

# After a failed connection on first need, the next call that needs the broker waits this long
# before trying again (and raises the same error meanwhile, which the main cycle logs once).
CONNECT_RETRY_S = 5.0


class PepeunitClient:
    """A unit's settings (env.json), topics (schema.json), log (log.json), and, when enabled,
    its MQTT and REST clients.

    `mqtt=True` / `rest=True` (the specification's names; `enable_mqtt` / `enable_rest` are
    the same flags) switch the clients on. Built-in clients (paho-mqtt, httpx) are used unless
    `mqtt_client` / `rest_client` give other implementations of AbstractMqttClient /
    AbstractRestClient. Nothing touches the network before a call needs it: the first call
    that needs the broker connects, unless `connect()` did. Anything that needs a client that
    is not enabled raises ClientNotEnabledError at once.

    After an update installed a new program version, `restart_mode` decides what follows
    (default: the process re-executes itself, so the new code runs).
    """

    def __init__(
        self,
        env_file_path: str | Path,
        schema_file_path: str | Path,
        log_file_path: str | Path,
        enable_mqtt: bool = False,
        enable_rest: bool = False,
        mqtt_client: AbstractMqttClient | None = None,
        rest_client: AbstractRestClient | None = None,
        *,
        mqtt: bool | None = None,
        rest: bool | None = None,
        program_dir: str | Path | None = None,
        restart_mode: RestartMode = RestartMode.EXEC,
        cycle_interval: float = 0.1,
        console_log: bool = True,
    ) -> None:
        self.settings = Settings(env_file_path)
        self.schema = Schema(schema_file_path)
        self.logger = Logger(
            log_file_path, self.settings, publish=self._publish_log_entry, console=console_log
        )
        mqtt_on, rest_on = _flag("mqtt", mqtt, enable_mqtt), _flag("rest", rest, enable_rest)
        self._mqtt = chosen_client(mqtt_on, mqtt_client, "mqtt", built_in_mqtt_client)
        self._rest = chosen_client(rest_on, rest_client, "rest", built_in_rest_client)
        self._api = None if self._rest is None else UnitApi(self._rest, self.settings)
        self.program_dir = Path(program_dir or self.settings.env_file_path.parent)
        self.restart_mode = RestartMode(restart_mode)
        self.cycle_interval = cycle_interval

        self._lock = threading.RLock()
        self._input_handler: InputHandler | None = None
        self._extra_topics: list[str] = []
        self._subscribe_schema_inputs = False
        self._subscribed: set[str] = set()
        self._connection: MqttConnectionSettings | None = None
        self._connecting = threading.RLock()
        self._connect_on_first_need = True
        self._retry_connect_at = 0.0
        self._connect_failure = ""
        self._stop = threading.Event()
        self._restarting = threading.Event()
        self._in_callback = threading.local()
        self.settings.add_listener(self._settings_reloaded)
        self.schema.add_listener(self._schema_reloaded)

    # --- identity and clients

    @property
    def unit_uuid(self) -> str:
        """The `uuid` claim of PU_AUTH_TOKEN."""
        return self.settings.unit_uuid

    @property
    def mqtt_client(self) -> AbstractMqttClient:
        return self._require_mqtt()

    @property
    def rest_client(self) -> AbstractRestClient:
        if self._rest is None:
            raise ClientNotEnabledError("REST", "rest")
        return self._rest

    # --- MQTT

    def connect(self) -> None:
        """Connect to the broker of env.json; subscribes to the platform's commands and to
        whatever was asked for with subscribe_topics / subscribe_all_schema_topics, again after
        every reconnection.

        Optional: the first call that needs the broker connects by itself.
        """
        mqtt = self._require_mqtt()
        connection = self._connection_settings()
        with self._connecting:
            with self._lock:
                self._connection = connection
                self._subscribed = set()
            mqtt.connect(connection, self._on_connect, self._on_message)
            self._connect_on_first_need = False

    def disconnect(self) -> None:
        """Close the connection (what was published goes out first); no call connects again
        by itself after this, `connect()` does."""
        mqtt = self._require_mqtt()
        self._connect_on_first_need = False
        mqtt.disconnect()

    def subscribe_topics(self, topics: str | Iterable[str]) -> None:
        """Subscribe to these topics, or to this one topic (now, connecting if this is the
        first need, and after every reconnection)."""
        mqtt = self._require_mqtt()
        wanted = [topics] if isinstance(topics, str) else list(topics)
        _check_topics(wanted)
        with self._lock:
            for topic in wanted:
                if topic not in self._extra_topics:
                    self._extra_topics.append(topic)
        self._connect_if_first_need()
        self._sync_subscriptions(mqtt)

    def subscribe_all_schema_topics(self) -> None:
        """Subscribe to every topic of schema.json's input_base_topic and input_topic (now,
        connecting if this is the first need); after a schema update, to those of the new
        schema. From here on the input handler gets the messages."""
        mqtt = self._require_mqtt()
        with self._lock:
            self._subscribe_schema_inputs = True
        self._connect_if_first_need()
        self._sync_subscriptions(mqtt)

    def set_input_message_handler(self, handler: InputHandler | None) -> None:
        """`handler(client, message)` gets every message received, after the library served
        the platform's commands. It runs on the MQTT client's thread; its exceptions are
        logged."""
        self._require_mqtt()
        self._input_handler = handler

    def publish_to_topics(self, name: str | Iterable[str], value: str) -> None:
        """Publish `value` on every topic of `name` in output_topic (or output_base_topic),
        or, given a list of topics (`client.schema.output_topic["temperature/pepeunit"]`), on
        every topic of the list."""
        mqtt = self._require_mqtt()
        topics = self._output_topics(name) if isinstance(name, str) else list(name)
        _check_topics(topics)
        self._connect_if_first_need()
        for topic in topics:
            mqtt.publish(topic, value)

    def publish_state(self) -> None:
        """Publish get_system_state() on state/pepeunit."""
        self._publish_base(BaseOutputTopic.STATE, json.dumps(self.get_system_state()))

    def publish_full_log(self) -> None:
        """Publish the whole log.json, as one JSON array, on log/pepeunit."""
        self._publish_base(BaseOutputTopic.LOG, json.dumps(self.logger.get_full_log()))

    def get_system_state(self) -> SystemState:
        return get_system_state(self.settings.PU_COMMIT_VERSION)

    # --- the main cycle

    def run_main_cycle(self, output_fn: OutputFunction | None = None) -> None:
        """Until stop_main_cycle(): every `cycle_interval` s call `output_fn(client)`, and with
        MQTT publish the state on the first cycle and every PU_STATE_SEND_INTERVAL s after.

        An exception inside the cycle is logged (once while it repeats unchanged, so a broker
        outage does not flood log.json) and the cycle goes on.
        """
        self._stop.clear()
        state_errors = RepeatedErrors(self.logger, "Error sending the state")
        output_errors = RepeatedErrors(self.logger, "Error in the output function")
        state_due_at = 0.0
        while not self._stop.is_set():
            if self._restarting.is_set():
                # The process is about to become the new program: nothing more goes out.
                self._stop.wait(self.cycle_interval)
                continue
            now = time.monotonic()
            if self._mqtt is not None and now >= state_due_at:
                with state_errors:
                    self._connect_if_first_need()
                    if self._mqtt.is_connected:
                        self.publish_state()
                        state_due_at = now + self.settings.PU_STATE_SEND_INTERVAL
            if output_fn is not None:
                with output_errors:
                    output_fn(self)
            self._stop.wait(self.cycle_interval)

    def stop_main_cycle(self) -> None:
        """Ends run_main_cycle after its current cycle (callable from any thread)."""
        self._stop.set()

    # --- REST

    def download_env(self) -> None:
        """Fetch env.json from the platform, write it and reload the settings."""
        env = self._require_api().get_env()
        write_json_object(self.settings.env_file_path, env)
        self.settings.update_from_file()

    def download_schema(self) -> None:
        """Fetch schema.json from the platform, write it, reload it and resubscribe."""
        schema = self._require_api().get_schema()
        write_json_object(self.schema.schema_file_path, schema)
        self.schema.update_from_file()

    def download_update(
        self, archive_path: str | Path | None = None, archive_format: ArchiveFormat = "tgz"
    ) -> Path:
        """Fetch the program archive of the target version (default: a temporary file in the
        program directory); returns its path."""
        api = self._require_api()
        if archive_path is None:
            self.program_dir.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(
                prefix=".pepeunit-archive-", suffix=f".{archive_format}", dir=self.program_dir
            )
            os.close(descriptor)
            archive_path = name
        path = Path(archive_path)
        api.download_firmware(path, archive_format)
        return path

    def get_target_version(self) -> TargetVersion:
        return self._require_api().get_target_version()

    @overload
    def set_state_storage(self, state: str) -> None: ...

    @overload
    def set_state_storage(self, uuid: str | UUID, state: str) -> None: ...

    def set_state_storage(
        self, *arguments: str | UUID, uuid: str | UUID | None = None, state: str | None = None
    ) -> None:
        """Keep `state` on the platform (encrypted there); "" clears it.

        `set_state_storage(state)` or, as the specification writes it,
        `set_state_storage(uuid, state)` (positional or named): the unit's own uuid unless
        another is given.
        """
        match arguments:
            case ():
                pass
            case (only,) if state is None:
                state = only  # type: ignore[assignment]  # checked below
            case (only,) if uuid is None:
                uuid = only
            case (first, second) if uuid is None and state is None:
                uuid, state = first, second  # type: ignore[assignment]  # checked below
            case _:
                raise TypeError("set_state_storage takes (state) or (uuid, state)")
        if not isinstance(state, str):
            raise TypeError(f"set_state_storage needs the state as a string, not {state!r}")
        self._require_api().set_state_storage(state, _unit_uuid(uuid))

    def get_state_storage(self, uuid: str | UUID | None = None) -> str:
        """The string the platform keeps for the unit ("" when none); of the unit `uuid` when
        given (the specification's `get_state_storage(uuid)`)."""
        return self._require_api().get_state_storage(_unit_uuid(uuid))

    # --- program updates

    def update_device_program(self, archive_path: str | Path) -> ProgramInstall:
        """Install a program archive (tgz as zlib or gzip, tar, zip) over the program
        directory, then reload env.json and schema.json. Does not restart."""
        result = install_program_archive(
            Path(archive_path),
            self.program_dir,
            self.settings.env_file_path,
            self.schema.schema_file_path,
        )
        if result.env_replaced:
            self.settings.update_from_file()
        if result.schema_replaced:
            self.schema.update_from_file()
        return result

    def perform_update(self, version: str | None = None) -> bool:
        """Move to the platform's target version: download its archive, install it and
        restart as `restart_mode` says. False, with nothing downloaded, when the program runs
        that version already.

        `version` is the one an Update command announced: when it is the running one the
        platform is not even asked. Otherwise the target version decides, so a late or
        repeated command does not install the same version twice.
        """
        api = self._require_api()
        running = self.settings.PU_COMMIT_VERSION
        if version != running:
            version = api.get_target_version().commit
        if version == running:
            self.logger.info(f"No update needed: the program is at {running}")
            return False
        archive = self.download_update()
        try:
            self.update_device_program(archive)
        finally:
            archive.unlink(missing_ok=True)
        self.logger.info(f"Program updated to {self.settings.PU_COMMIT_VERSION}")
        if self.restart_mode is RestartMode.EXEC:
            self._restart()
        return True

    # --- lifetime

    def close(self) -> None:
        """Stop the main cycle, disconnect MQTT and release REST connections."""
        self.stop_main_cycle()
        if self._mqtt is not None:
            self._mqtt.disconnect()
        if self._rest is not None:
            self._rest.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- internals

    def _require_mqtt(self) -> AbstractMqttClient:
        if self._mqtt is None:
            raise ClientNotEnabledError("MQTT", "mqtt")
        return self._mqtt

    def _require_api(self) -> UnitApi:
        if self._api is None:
            raise ClientNotEnabledError("REST", "rest")
        return self._api

    def _connect_if_first_need(self) -> None:
        """The specification's main flow has no connect step: the first call that needs the
        broker connects. After a failure the next attempt waits CONNECT_RETRY_S."""
        if not self._connect_on_first_need:
            return
        with self._connecting:
            if not self._connect_on_first_need:
                return
            now = time.monotonic()
            if now < self._retry_connect_at:
                raise MqttConnectionError(self._connect_failure)
            try:
                self.connect()
            except MqttConnectionError as error:
                self._retry_connect_at = now + CONNECT_RETRY_S
                self._connect_failure = str(error)
                raise

    def _output_topics(self, name: str) -> list[str]:
        outputs = self.schema.output_topic
        topics = outputs[name] if name in outputs else self.schema.output_base_topic.get(name)
        if topics is None:
            known = sorted([*self.schema.output_topic, *self.schema.output_base_topic])
            raise UnknownTopicError(f"schema.json has no output {name!r} (it has {known})")
        return topics

    def _connection_settings(self) -> MqttConnectionSettings:
        settings = self.settings
        return MqttConnectionSettings(
            host=settings.PU_MQTT_HOST,
            port=settings.PU_MQTT_PORT,
            username=settings.PU_AUTH_TOKEN,
            password="",
            client_id=settings.unit_uuid,
            keepalive=settings.PU_MQTT_KEEPALIVE,
        )

    def _wanted_topics(self) -> set[str]:
        wanted = {topic for topics in self.schema.input_base_topic.values() for topic in topics}
        if self._subscribe_schema_inputs:
            wanted.update(topic for topics in self.schema.input_topic.values() for topic in topics)
        wanted.update(self._extra_topics)
        return wanted

    def _on_connect(self) -> None:
        with self._lock:
            self._subscribed = set()
        self._sync_subscriptions(self._require_mqtt())

    def _sync_subscriptions(self, mqtt: AbstractMqttClient) -> None:
        """Subscribe to what is wanted and not subscribed, unsubscribe from the rest."""
        if not mqtt.is_connected:
            return
        try:
            with self._lock:
                wanted = self._wanted_topics()
                mqtt.unsubscribe(sorted(self._subscribed - wanted))
                mqtt.subscribe(sorted(wanted - self._subscribed))
                self._subscribed = wanted
        except Exception as error:
            # Called from MQTT callbacks too, where raising would only kill their thread;
            # the next reconnection subscribes again.
            self.logger.error(f"Error subscribing: {error!r}")

    def _on_message(self, topic: str, payload: bytes) -> None:
        self._in_callback.active = True
        try:
            self._receive(topic, payload)
        finally:
            self._in_callback.active = False

    def _receive(self, topic: str, payload: bytes) -> None:
        message = MqttMessage(topic, payload.decode("utf-8", errors="replace"))
        command = self._command_of(topic)
        if command is not None:
            try:
                serve_command(self, command, message.payload)
            except ClientNotEnabledError as error:
                self.logger.error(
                    f"The {command.value} command was ignored: it needs {error.kind}, "
                    f"build the PepeunitClient with {error.flag}=True"
                )
            except Exception as error:
                self.logger.error(f"Error serving the {command.value} command: {error!r}")
        handler = self._input_handler
        if handler is not None:
            try:
                handler(self, message)
            except Exception as error:
                self.logger.error(f"Error in the input handler: {error!r}")

    def _command_of(self, topic: str) -> BaseInputTopic | None:
        for name, topics in self.schema.input_base_topic.items():
            if topic in topics:
                try:
                    return BaseInputTopic(name)
                except ValueError:
                    return None
        return None

    def _publish_base(self, name: BaseOutputTopic, payload: str) -> None:
        mqtt = self._require_mqtt()
        topics = self.schema.output_base_topic.get(name.value)
        if not topics:
            raise UnknownTopicError(f"schema.json's output_base_topic has no {name.value!r}")
        self._connect_if_first_need()
        mqtt.publish(topics[0], payload)

    def _publish_log_entry(self, entry: LogEntry) -> None:
        """Logging never fails because of the broker: the entry is in log.json already."""
        mqtt = self._mqtt
        topics = self.schema.output_base_topic.get(BaseOutputTopic.LOG.value)
        if mqtt is None or not topics or not mqtt.is_connected:
            return
        try:
            mqtt.publish(topics[0], json.dumps(entry))
        except Exception:
            return

    def _settings_reloaded(self) -> None:
        """A changed broker address, port or token in env.json means a new connection."""
        mqtt = self._mqtt
        if mqtt is None or self._connection is None or not mqtt.is_connected:
            return
        if self._connection_settings() != self._connection:
            # Not on this thread: it may be the MQTT client's own, which cannot reconnect itself.
            threading.Thread(target=self._reconnect, name="pepeunit-reconnect", daemon=True).start()

    def _reconnect(self) -> None:
        try:
            self.connect()
        except Exception as error:
            self.logger.error(f"Error reconnecting with the new env.json: {error!r}")

    def _schema_reloaded(self) -> None:
        if self._mqtt is not None:
            self._sync_subscriptions(self._mqtt)

    def _restart(self) -> None:
        """Become the new program: the same interpreter and command line (`python -m unit`
        included), after what was published (the "Program updated" entry) went out.

        From an MQTT callback (the Update command) the MQTT client's thread cannot flush its
        own connection, so another thread restarts; the main cycle pauses meanwhile (were it
        stopped, user code after run_main_cycle would run on a closing client).
        """
        self._restarting.set()
        if getattr(self._in_callback, "active", False):
            threading.Thread(target=self._exec_again, name="pepeunit-restart").start()
        else:
            self._exec_again()

    def _exec_again(self) -> None:
        if self._mqtt is not None:
            self.disconnect()
        if self._rest is not None:
            self._rest.close()
        try:
            os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
        except OSError as error:
            # Still the old code, on the new files: better than a unit paused for good.
            self.logger.critical(f"Could not restart as the new program: {error!r}")
            self._restarting.clear()
            if self._mqtt is not None:
                self._reconnect()


def _flag(name: str, value: bool | None, enable_value: bool) -> bool:
    """`mqtt=` / `rest=` (the specification's names) or `enable_mqtt=` / `enable_rest=`."""
    if value is None:
        return enable_value
    if enable_value and not value:
        raise ValueError(f"{name}=False contradicts enable_{name}=True")
    return value


def _check_topics(topics: list[str]) -> None:
    for topic in topics:
        if not isinstance(topic, str) or not topic:
            raise TypeError(f"a topic must be a non-empty string, not {topic!r}")


def _unit_uuid(value: str | UUID | None) -> str | None:
    """None (the unit's own) or a checked uuid: it becomes part of a URL path."""
    if value is None:
        return None
    try:
        return str(value if isinstance(value, UUID) else UUID(value))
    except (TypeError, ValueError):
        raise ValueError(f"not a unit uuid: {value!r}") from None
