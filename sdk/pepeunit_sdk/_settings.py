"""env.json as attributes: `settings.PU_DOMAIN`, `settings.MY_VARIABLE`."""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._enums import LogLevel
from ._errors import FileContentError
from ._json_files import read_json_object, write_json_object
from ._token import unit_uuid_from_token

__all__ = ["ALIASES", "RESERVED_DEFAULTS", "Settings", "checked_env"]

# The platform's variables with the value a unit has when env.json leaves one out.
RESERVED_DEFAULTS: dict[str, str | int] = {
    "PU_DOMAIN": "",
    "PU_HTTP_TYPE": "https",
    "PU_APP_PREFIX": "",
    "PU_API_ACTUAL_PREFIX": "",
    "PU_MQTT_HOST": "",
    "PU_MQTT_PORT": 1883,
    "PU_MQTT_PING_INTERVAL": 20,
    "PU_MQTT_KEEPALIVE": 60,
    "PU_AUTH_TOKEN": "",
    "PU_SECRET_KEY": "",
    "PU_ENCRYPT_KEY": "",
    "PU_STATE_SEND_INTERVAL": 300,
    "PU_MIN_LOG_LEVEL": "Debug",
    "PU_MAX_LOG_LENGTH": 64,
    "PU_COMMIT_VERSION": "",
}

# The client library's specification (and 1.x programs) name two platform variables otherwise.
# An alias reads its platform variable; in env.json it stands in for one that is left out.
ALIASES: dict[str, str] = {
    "PEPEUNIT_TOKEN": "PU_AUTH_TOKEN",
    "STATE_SEND_INTERVAL": "PU_STATE_SEND_INTERVAL",
}


class Settings:
    """The unit's env.json. Every variable is an attribute; the platform's `PU_*` ones are
    always there (with defaults) and type-checked, the repository's own ones are as written.

    `update_from_file()` re-reads env.json, and whoever registered with `add_listener` (the
    client: REST address, MQTT connection, log filter, state period) follows.
    """

    PU_DOMAIN: str
    PU_HTTP_TYPE: str
    PU_APP_PREFIX: str
    PU_API_ACTUAL_PREFIX: str
    PU_MQTT_HOST: str
    PU_MQTT_PORT: int
    PU_MQTT_PING_INTERVAL: int
    PU_MQTT_KEEPALIVE: int
    PU_AUTH_TOKEN: str
    PU_SECRET_KEY: str
    PU_ENCRYPT_KEY: str
    PU_STATE_SEND_INTERVAL: int
    PU_MIN_LOG_LEVEL: str
    PU_MAX_LOG_LENGTH: int
    PU_COMMIT_VERSION: str
    PEPEUNIT_TOKEN: str
    """Alias of PU_AUTH_TOKEN."""
    STATE_SEND_INTERVAL: int
    """Alias of PU_STATE_SEND_INTERVAL."""

    def __init__(self, env_file_path: str | Path) -> None:
        self._path = Path(env_file_path)
        self._values: dict[str, Any] = {}
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._apply(checked_env(read_json_object(self._path), self._path))

    @property
    def env_file_path(self) -> Path:
        return self._path

    @property
    def unit_uuid(self) -> str:
        """The `uuid` claim of PU_AUTH_TOKEN."""
        return unit_uuid_from_token(self.PU_AUTH_TOKEN)

    @property
    def min_log_level(self) -> LogLevel:
        return LogLevel.from_label(self.PU_MIN_LOG_LEVEL)

    def update_from_file(self, path: str | Path | None = None) -> None:
        """Re-read env.json; with `path`, that file (checked first) becomes env.json.

        An invalid file raises FileContentError and changes nothing.
        """
        source = self._path if path is None else Path(path)
        env = checked_env(read_json_object(source), source)
        with self._lock:
            if source != self._path:
                write_json_object(self._path, env)
            self._apply(env)
        for listener in list(self._listeners):
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every reload."""
        self._listeners.append(listener)

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(ALIASES.get(name, name), default)

    def as_dict(self) -> dict[str, Any]:
        """Every variable, the defaults of missing `PU_*` ones included."""
        return dict(self._values)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not instance attributes: the repository's variables.
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"env.json has no variable {name!r}")

    def _apply(self, env: dict[str, Any]) -> None:
        values = {**RESERVED_DEFAULTS, **env}
        for name in RESERVED_DEFAULTS:
            setattr(self, name, values[name])
        for alias, name in ALIASES.items():
            setattr(self, alias, values[name])
        self._values = values


def checked_env(env: dict[str, Any], path: Path) -> dict[str, Any]:
    """`env` with aliases standing in for their left-out platform variables; raises
    FileContentError on a platform variable of the wrong type."""
    env = {**{ALIASES[alias]: env[alias] for alias in ALIASES if alias in env}, **env}
    for name, default in RESERVED_DEFAULTS.items():
        if name not in env:
            continue
        value = env[name]
        expected = type(default)
        if type(value) is not expected:
            raise FileContentError(
                path, f"{name} must be a JSON {_json_type(expected)}, not {value!r}"
            )
    if "PU_MIN_LOG_LEVEL" in env:
        try:
            LogLevel.from_label(env["PU_MIN_LOG_LEVEL"])
        except ValueError as error:
            raise FileContentError(path, f"PU_MIN_LOG_LEVEL: {error}") from None
    return env


def _json_type(python_type: type) -> str:
    return "number (integer)" if python_type is int else "string"
