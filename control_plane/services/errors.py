"""The refusals of the service layer: what a caller asked for cannot be done, and why.

Services, the Telegram bot and the schedules raise and catch these; they know nothing of HTTP.
The API turns each into a status code and the reference's error body in one place
(`control_plane.services.errors`); the bot tells the chat the `message`.
"""


class ServiceError(Exception):
    """A refusal; `message` is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticatedError(ServiceError):
    """The token (or the credentials) do not identify anyone: bad, expired or unknown."""


class NoAccessError(ServiceError):
    """The caller is known but may not do this (wrong agent type, not Admin, blocked)."""


class NotFoundError(ServiceError):
    """An object the caller names does not exist (or is not visible to the caller):
    `NotFoundError.of("Unit", uuid)` reads "Unit <uuid>: not found"."""

    def __init__(self, message: str = "The object does not exist") -> None:
        super().__init__(message)

    @classmethod
    def of(cls, what: str, uuid: object) -> "NotFoundError":
        return cls(f"{what} {uuid}: not found")


class InputValidationError(ServiceError):
    """Bad input (the reference's ValidationError; renamed to keep clear of pydantic's)."""


class BadRequestError(InputValidationError):
    """Input that cannot even be parsed (a malformed multipart upload)."""


class UserError(ServiceError):
    pass


class PermissionValidationError(ServiceError):
    pass


class GitRepoError(ServiceError):
    pass


class RepoError(ServiceError):
    pass


class UnitError(ServiceError):
    pass


class UnitNodeError(ServiceError):
    pass


class DataPipeError(ServiceError):
    pass


class JsonDecodeError(ServiceError):
    pass


class MqttError(ServiceError):
    """The MQTT broker did not take a message the platform had to send."""


class UpdateError(ServiceError):
    pass


class CipherError(ServiceError):
    pass


class RepositoryRegistryError(ServiceError):
    pass


class RegistryBusyError(RepositoryRegistryError):
    """A sync asked for while another one runs, or the caller's git transfers are all busy."""


class GitTransfersBusyError(RepositoryRegistryError):
    """The server runs as many git transfers as it allows."""


class GitPlatformClientError(ServiceError):
    pass


class GrafanaError(ServiceError):
    pass


class FeatureFlagError(ServiceError):
    """A feature turned off on this instance."""

    def __init__(self, message: str = "This feature is disabled on this instance") -> None:
        super().__init__(message)


class StoreUnavailableError(ServiceError):
    """The data store (ClickHouse) cannot be reached now: nothing the caller did wrong."""


class RolloutError(ServiceError):
    """A rollout cannot do what was asked in the status it is in, or was described wrongly."""
