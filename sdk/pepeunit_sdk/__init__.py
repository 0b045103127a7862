"""Pepeunit's device SDK: what a unit's program uses to talk to the platform.

The built-in clients live in `pepeunit_sdk.paho_mqtt` and `pepeunit_sdk.httpx_rest`, imported
only when a client is enabled, so this package imports with no third-party dependency.
"""

from ._archive import ProgramInstall
from ._client import InputHandler, OutputFunction, PepeunitClient
from ._enums import BaseInputTopic, BaseOutputTopic, LogLevel, RestartMode
from ._errors import (
    ClientNotEnabledError,
    FileContentError,
    InvalidTokenError,
    MissingDependencyError,
    MqttConnectionError,
    MqttNotConnectedError,
    PepeunitError,
    RestError,
    UnknownTopicError,
    UnsafeArchiveError,
    UnsupportedArchiveError,
)
from ._logger import LogEntry, Logger
from ._mqtt import (
    AbstractMqttClient,
    ConnectHandler,
    MqttConnectionSettings,
    MqttMessage,
    RawMessageHandler,
)
from ._rest import AbstractRestClient, RestResponse
from ._schema import Schema
from ._settings import Settings
from ._system_state import SystemState
from ._token import unit_uuid_from_token
from ._unit_api import ArchiveFormat, TargetVersion

__all__ = [
    "AbstractMqttClient",
    "AbstractRestClient",
    "ArchiveFormat",
    "BaseInputTopic",
    "BaseOutputTopic",
    "ClientNotEnabledError",
    "ConnectHandler",
    "FileContentError",
    "InputHandler",
    "InvalidTokenError",
    "LogEntry",
    "LogLevel",
    "Logger",
    "MissingDependencyError",
    "MqttConnectionError",
    "MqttConnectionSettings",
    "MqttMessage",
    "MqttNotConnectedError",
    "OutputFunction",
    "PepeunitClient",
    "PepeunitError",
    "ProgramInstall",
    "RawMessageHandler",
    "RestError",
    "RestResponse",
    "RestartMode",
    "Schema",
    "Settings",
    "SystemState",
    "TargetVersion",
    "UnknownTopicError",
    "UnsafeArchiveError",
    "UnsupportedArchiveError",
    "unit_uuid_from_token",
]
