"""Choosing a PepeunitClient's MQTT and REST clients: the user's, or the built-in ones, whose
modules import their optional dependency and so are imported only when needed."""

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TypeVar

from ._errors import MissingDependencyError
from ._mqtt import AbstractMqttClient
from ._rest import AbstractRestClient

__all__ = ["built_in_mqtt_client", "built_in_rest_client", "chosen_client"]

Client = TypeVar("Client", AbstractMqttClient, AbstractRestClient)


def chosen_client(
    enabled: bool, given: Client | None, extra: str, build: Callable[[], Client]
) -> Client | None:
    """The given client, else the built-in one, when enabled; None when not."""
    if given is not None and not enabled:
        raise ValueError(
            f"a {extra} client was given but {extra}=True (or enable_{extra}=True) is missing"
        )
    if not enabled:
        return None
    return given if given is not None else build()


def built_in_mqtt_client() -> AbstractMqttClient:
    module = _optional_module(".paho_mqtt", "paho", "paho-mqtt", "mqtt")
    client: AbstractMqttClient = module.PahoMqttClient()
    return client


def built_in_rest_client() -> AbstractRestClient:
    module = _optional_module(".httpx_rest", "httpx", "httpx", "rest")
    client: AbstractRestClient = module.HttpxRestClient()
    return client


def _optional_module(name: str, dependency: str, package: str, extra: str) -> ModuleType:
    """Imports one of the built-in client modules, which need an optional dependency."""
    try:
        return importlib.import_module(name, __package__)
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] != dependency:
            raise
        raise MissingDependencyError(package, extra) from error
