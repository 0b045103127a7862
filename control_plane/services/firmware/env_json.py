"""A unit's env.json (docs/compatibility.md#env-file): the reserved `PU_*` variables merged with the
repo's `env_example.json`.

Layers, lowest priority first: env_example.json < generated `PU_*` values < the unit's stored
env < the user's edit. The result keeps only env_example's own keys and the generated ones (users
cannot add keys), then `PU_COMMIT_VERSION`. `PU_SECRET_KEY` and `PU_ENCRYPT_KEY`
(docs/compatibility.md#stable-unit-secrets) come from the unit's stable secrets
(`new_unit_secrets()`, made once per unit), not fresh random bytes on every read.
"""

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from control_plane.services.firmware.json_types import json_type_name

ENV_EXAMPLE_FILE = "env_example.json"
LOG_LEVELS = ("Debug", "Info", "Warning", "Error", "Critical")
_UNIT_KEY_BYTES = 32

EnvJson = dict[str, Any]


class ReservedEnvName(StrEnum):
    PU_DOMAIN = "PU_DOMAIN"
    PU_HTTP_TYPE = "PU_HTTP_TYPE"
    PU_APP_PREFIX = "PU_APP_PREFIX"
    PU_API_ACTUAL_PREFIX = "PU_API_ACTUAL_PREFIX"
    PU_MQTT_HOST = "PU_MQTT_HOST"
    PU_MQTT_PORT = "PU_MQTT_PORT"
    PU_MQTT_PING_INTERVAL = "PU_MQTT_PING_INTERVAL"
    PU_MQTT_KEEPALIVE = "PU_MQTT_KEEPALIVE"
    PU_AUTH_TOKEN = "PU_AUTH_TOKEN"
    PU_SECRET_KEY = "PU_SECRET_KEY"
    PU_ENCRYPT_KEY = "PU_ENCRYPT_KEY"
    PU_STATE_SEND_INTERVAL = "PU_STATE_SEND_INTERVAL"
    PU_MIN_LOG_LEVEL = "PU_MIN_LOG_LEVEL"
    PU_MAX_LOG_LENGTH = "PU_MAX_LOG_LENGTH"
    PU_COMMIT_VERSION = "PU_COMMIT_VERSION"


# Clients use these without coercion (the Python client connects to PU_MQTT_PORT as given), so
# they must be JSON numbers; every other reserved value is a string.
INTEGER_ENV_NAMES = frozenset(
    {
        ReservedEnvName.PU_MQTT_PORT,
        ReservedEnvName.PU_MQTT_PING_INTERVAL,
        ReservedEnvName.PU_MQTT_KEEPALIVE,
        ReservedEnvName.PU_STATE_SEND_INTERVAL,
        ReservedEnvName.PU_MAX_LOG_LENGTH,
    }
)


class EnvJsonError(ValueError):
    """An env file or edit is not usable; the message names the problem."""


@dataclass(frozen=True)
class UnitSecrets:
    """`PU_SECRET_KEY` and `PU_ENCRYPT_KEY` of one unit: 32 random bytes each, base64."""

    secret_key: str
    encrypt_key: str


def new_unit_secrets() -> UnitSecrets:
    """Made once when a unit is created, then kept (encrypted) with the unit."""
    return UnitSecrets(secret_key=_random_key(), encrypt_key=_random_key())


@dataclass(frozen=True)
class UnitEnvSettings:
    """What the platform puts in a unit's reserved variables."""

    domain: str
    secure: bool
    app_prefix: str
    api_prefix: str
    mqtt_host: str
    mqtt_port: int
    unit_auth_token: str
    unit_secrets: UnitSecrets
    state_send_interval: int
    # The target commit; None leaves PU_COMMIT_VERSION out (an env about to be stored: the
    # version is added on every read instead, so a stored env never pins an old one).
    commit_version: str | None
    mqtt_ping_interval: int = 20
    mqtt_keepalive: int = 60
    min_log_level: str = "Debug"
    max_log_length: int = 64


def parse_env_object(text: str | bytes, *, source: str = ENV_EXAMPLE_FILE) -> EnvJson:
    """A JSON object from `text` (env_example.json, a stored env or a user's edit)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise EnvJsonError(f"{source} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise EnvJsonError(f"{source} must be a JSON object; it is {json_type_name(data)}")
    return data


def generated_env(settings: UnitEnvSettings) -> EnvJson:
    """The 14 reserved variables the platform generates (all but PU_COMMIT_VERSION)."""
    values = {
        ReservedEnvName.PU_DOMAIN: settings.domain,
        ReservedEnvName.PU_HTTP_TYPE: "https" if settings.secure else "http",
        ReservedEnvName.PU_APP_PREFIX: settings.app_prefix,
        ReservedEnvName.PU_API_ACTUAL_PREFIX: settings.api_prefix,
        ReservedEnvName.PU_MQTT_HOST: settings.mqtt_host,
        ReservedEnvName.PU_MQTT_PORT: settings.mqtt_port,
        ReservedEnvName.PU_MQTT_PING_INTERVAL: settings.mqtt_ping_interval,
        ReservedEnvName.PU_MQTT_KEEPALIVE: settings.mqtt_keepalive,
        ReservedEnvName.PU_AUTH_TOKEN: settings.unit_auth_token,
        ReservedEnvName.PU_SECRET_KEY: settings.unit_secrets.secret_key,
        ReservedEnvName.PU_ENCRYPT_KEY: settings.unit_secrets.encrypt_key,
        ReservedEnvName.PU_STATE_SEND_INTERVAL: settings.state_send_interval,
        ReservedEnvName.PU_MIN_LOG_LEVEL: settings.min_log_level,
        ReservedEnvName.PU_MAX_LOG_LENGTH: settings.max_log_length,
    }
    return {str(name): value for name, value in values.items()}


def build_env_json(
    settings: UnitEnvSettings,
    env_example: Mapping[str, Any],
    *,
    stored: Mapping[str, Any] | None = None,
    edit: Mapping[str, Any] | None = None,
) -> EnvJson:
    """The unit's env.json. `stored` is the unit's saved env, `edit` a user's change to save.

    Every key of env_example.json ends up in the result (the reference's completeness rule
    holds by construction), except PU_COMMIT_VERSION when `settings.commit_version` is None.
    Reserved values must keep their JSON types whichever layer sets them.
    """
    generated = generated_env(settings)
    merged: EnvJson = {}
    for layer in (env_example, generated, stored or {}, edit or {}):
        merged.update(layer)
    reserved = set(ReservedEnvName)
    allowed = generated.keys() | {name for name in env_example if name not in reserved}
    env = {name: value for name, value in merged.items() if name in allowed}
    if settings.commit_version is not None:
        env[str(ReservedEnvName.PU_COMMIT_VERSION)] = settings.commit_version
    _check_reserved_types(env)
    return env


def _check_reserved_types(env: EnvJson) -> None:
    for name in ReservedEnvName:
        if name not in env:
            continue
        value = env[name]
        if name in INTEGER_ENV_NAMES:
            if isinstance(value, bool) or not isinstance(value, int):
                raise EnvJsonError(f"{name} must be an integer; it is {json_type_name(value)}")
        elif not isinstance(value, str):
            raise EnvJsonError(f"{name} must be a string; it is {json_type_name(value)}")
    level = env.get(ReservedEnvName.PU_MIN_LOG_LEVEL)
    if level is not None and level not in LOG_LEVELS:
        raise EnvJsonError(
            f"PU_MIN_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}; not {level!r}"
        )


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(_UNIT_KEY_BYTES)).decode("ascii")
