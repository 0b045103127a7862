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


class RolloutStatus(StrEnum):
    """Where a staged firmware rollout stands (docs/api.md#rollouts)."""

    PENDING = "Pending"
    RUNNING = "Running"
    PAUSED = "Paused"
    HALTED = "Halted"
    """A gate failed; its failed units may have been rolled back, the others are untouched."""
    ROLLED_BACK = "RolledBack"
    """Every unit the rollout updated was sent back to the version it ran before."""
    ABORTED = "Aborted"
    COMPLETED = "Completed"


class RolloutTargetKind(StrEnum):
    """How a rollout names its version: resolved to one commit when it is created."""

    TAG = "Tag"
    BRANCH_HEAD = "BranchHead"
    COMMIT = "Commit"


class RolloutStageSize(StrEnum):
    UNITS = "Units"
    """The stage updates this many more units."""
    PERCENT = "Percent"
    """The stage ends with this share of the rollout's units updated (rounded up)."""


class OfflineUnitPolicy(StrEnum):
    """What a stage does with a unit that is offline when its update is due."""

    WAIT = "Wait"
    SKIP = "Skip"
    FAIL = "Fail"


class RollbackScope(StrEnum):
    """Which units a halt sends back to their previous version by itself."""

    NONE = "None"
    FAILED_UNITS = "FailedUnits"
    ALL_UNITS = "AllUnits"


class RolloutUnitOutcome(StrEnum):
    """Where one unit of a rollout stands, in the order it moves through them."""

    PENDING = "Pending"
    SENT = "Sent"
    CONFIRMED = "Confirmed"
    """It reports the new version; its soak time runs."""
    HEALTHY = "Healthy"
    SKIPPED = "Skipped"
    FAILED = "Failed"
    ROLLED_BACK = "RolledBack"
