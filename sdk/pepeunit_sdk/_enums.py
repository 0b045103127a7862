"""The names the platform and the unit agree on."""

from enum import IntEnum, StrEnum

__all__ = ["BaseInputTopic", "BaseOutputTopic", "LogLevel", "RestartMode"]


class LogLevel(IntEnum):
    """Ordered: an entry is kept when its level is at least PU_MIN_LOG_LEVEL."""

    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """The name written in log entries and env.json: `Debug`, `Info`, ..."""
        return self.name.capitalize()

    @classmethod
    def from_label(cls, label: str) -> "LogLevel":
        """`Info`, `info` or `INFO`; a ValueError names the accepted ones otherwise."""
        try:
            return cls[label.upper()]
        except KeyError:
            accepted = ", ".join(level.label for level in cls)
            raise ValueError(f"unknown log level {label!r} (one of {accepted})") from None


class BaseInputTopic(StrEnum):
    """Keys of schema.json's input_base_topic: the platform's commands to the unit."""

    UPDATE = "update/pepeunit"
    ENV_UPDATE = "env_update/pepeunit"
    SCHEMA_UPDATE = "schema_update/pepeunit"
    LOG_SYNC = "log_sync/pepeunit"


class BaseOutputTopic(StrEnum):
    """Keys of schema.json's output_base_topic: what the unit reports about itself."""

    LOG = "log/pepeunit"
    STATE = "state/pepeunit"


class RestartMode(StrEnum):
    """What happens after an update installed a new program version."""

    EXEC = "exec"
    """Replace the process with a fresh run of the same command line (os.execv)."""
    NONE = "none"
    """Keep running, on the new env.json and schema.json; new code runs at the next start."""
