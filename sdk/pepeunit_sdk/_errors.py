"""Every error the library raises on purpose; all derive from PepeunitError."""

from pathlib import Path

__all__ = [
    "ClientNotEnabledError",
    "FileContentError",
    "InvalidTokenError",
    "MissingDependencyError",
    "MqttConnectionError",
    "MqttNotConnectedError",
    "PepeunitError",
    "RestError",
    "UnknownTopicError",
    "UnsafeArchiveError",
    "UnsupportedArchiveError",
]


class PepeunitError(Exception):
    """Base class of the library's errors."""


class ClientNotEnabledError(PepeunitError, RuntimeError):
    """A call needs the MQTT or REST client, and the PepeunitClient was built without it."""

    def __init__(self, kind: str, flag: str) -> None:
        super().__init__(
            f"{kind} is not enabled: build the PepeunitClient with {flag}=True "
            f"(or enable_{flag}=True)"
        )
        self.kind = kind
        self.flag = flag


class MissingDependencyError(PepeunitError, ImportError):
    """A built-in client needs a package that is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"the built-in {extra.upper()} client needs {package}: "
            f"pip install 'pepeunit-sdk[{extra}]' (or pass your own client)"
        )
        self.package = package


class FileContentError(PepeunitError, ValueError):
    """env.json, schema.json or log.json does not hold what it must."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class InvalidTokenError(PepeunitError, ValueError):
    """PU_AUTH_TOKEN is not a JWT whose payload names the unit's uuid."""


class RestError(PepeunitError):
    """The platform answered a REST call with something other than success."""

    def __init__(self, method: str, url: str, status_code: int, detail: str) -> None:
        super().__init__(f"{method} {url} -> {status_code}: {detail}")
        self.method = method
        self.url = url
        self.status_code = status_code
        self.detail = detail


class MqttConnectionError(PepeunitError, ConnectionError):
    """The broker could not be reached or refused the unit's connection."""


class MqttNotConnectedError(PepeunitError, ConnectionError):
    """A publish or subscribe while the MQTT client has no connection."""


class UnknownTopicError(PepeunitError, LookupError):
    """A topic name the unit's schema.json does not have."""


class UnsafeArchiveError(PepeunitError, ValueError):
    """A program archive member would land outside the program directory (or is a device)."""


class UnsupportedArchiveError(PepeunitError, ValueError):
    """A program archive that is neither tar (plain, zlib, gzip) nor zip."""
