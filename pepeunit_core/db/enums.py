"""The string values stored in enum columns, as in the reference backend."""

from enum import StrEnum

# The pipeline language defines the kinds of alert events; they are stored as it names them.
from pipelines.alert_rules import AlertEventKind as AlertEventKind


class UserRole(StrEnum):
    USER = "User"
    ADMIN = "Admin"


class UserStatus(StrEnum):
    UNVERIFIED = "Unverified"
    VERIFIED = "Verified"
    BLOCKED = "Blocked"


class VisibilityLevel(StrEnum):
    PUBLIC = "Public"
    INTERNAL = "Internal"
    PRIVATE = "Private"


class RepositoryPlatform(StrEnum):
    GITLAB = "Gitlab"
    GITHUB = "Github"


class SyncStatus(StrEnum):
    """State of the last repository registry sync."""

    UPDATED = "Updated"
    PROCESSING = "Processing"
    ERROR = "Error"


class FirmwareUpdateStatus(StrEnum):
    REQUEST_SENT = "RequestSent"
    ERROR = "Error"
    SUCCESS = "Success"


class UnitNodeType(StrEnum):
    INPUT = "Input"
    OUTPUT = "Output"


class DataPipeStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    ERROR = "Error"


class PermissionEntity(StrEnum):
    """Agent (User, Unit) and resource (Repo, Unit, UnitNode) types of a permission row."""

    USER = "User"
    UNIT = "Unit"
    REPO = "Repo"
    UNIT_NODE = "UnitNode"


class LogLevel(StrEnum):
    """Levels of a unit's log entries (`unit_logs.level`), lowest first."""

    DEBUG = "Debug"
    INFO = "Info"
    WARNING = "Warning"
    ERROR = "Error"
    CRITICAL = "Critical"


class DeliveryStatus(StrEnum):
    """Where an alert event stands with the notifier."""

    PENDING = "Pending"
    SENT = "Sent"
    NO_RECIPIENT = "NoRecipient"
    """The node's owner has no linked Telegram chat: nothing to send, nothing lost."""


class DashboardSyncStatus(StrEnum):
    SUCCESS = "Success"
    PROCESSING = "Processing"
    ERROR = "Error"
