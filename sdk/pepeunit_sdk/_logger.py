"""The unit's log: log.json, a JSON array of the newest PU_MAX_LOG_LENGTH entries.

The file is replaced whole at each entry (written beside it, then renamed over it), so a reader
or a power cut finds the previous or the new log, never half of one; `json.load` reads it. Its
size is bounded: at most PU_MAX_LOG_LENGTH entries of at most MAX_TEXT_LENGTH characters (a
longer text is cut and ends with "…"). The JSON-lines layout of earlier versions of this library
is read too, and rewritten as an array at the next entry.

Entries below PU_MIN_LOG_LEVEL are dropped. Each kept entry is also handed to `publish` (the
client sends it on log/pepeunit when MQTT is connected) and, unless `console` is off, printed
to standard output as `<create_datetime> <level>: <text>`, so a unit run by hand or under a
supervisor shows what it does.
"""

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from ._enums import LogLevel
from ._errors import FileContentError
from ._json_files import replace_file
from ._settings import Settings

__all__ = ["MAX_TEXT_LENGTH", "LogEntry", "Logger"]

# 64 entries (the platform's PU_MAX_LOG_LENGTH) of this many characters make a log sync of
# about 256 KB, the broker's usual largest message.
MAX_TEXT_LENGTH = 4000


class LogEntry(TypedDict):
    level: str
    text: str
    create_datetime: str
    """UTC, ISO 8601 with microseconds: `2026-11-24T11:22:40.019399+00:00`."""


class Logger:
    def __init__(
        self,
        log_file_path: str | Path,
        settings: Settings,
        publish: Callable[[LogEntry], None] | None = None,
        *,
        console: bool = True,
    ) -> None:
        self._path = Path(log_file_path)
        self._settings = settings
        self._publish = publish
        self._console = console
        self._lock = threading.Lock()

    @property
    def log_file_path(self) -> Path:
        return self._path

    def debug(self, text: str) -> None:
        self.log(LogLevel.DEBUG, text)

    def info(self, text: str) -> None:
        self.log(LogLevel.INFO, text)

    def warning(self, text: str) -> None:
        self.log(LogLevel.WARNING, text)

    def error(self, text: str) -> None:
        self.log(LogLevel.ERROR, text)

    def critical(self, text: str) -> None:
        self.log(LogLevel.CRITICAL, text)

    def log(self, level: LogLevel, text: str) -> None:
        if level < self._settings.min_log_level:
            return
        if len(text) > MAX_TEXT_LENGTH:
            text = text[: MAX_TEXT_LENGTH - 1] + "…"
        entry = LogEntry(
            level=level.label,
            text=text,
            create_datetime=datetime.now(UTC).isoformat(timespec="microseconds"),
        )
        with self._lock:
            self._write([*self._read(), entry])
        if self._console:
            print(f"{entry['create_datetime']} {entry['level']}: {text}", flush=True)
        if self._publish is not None:
            self._publish(entry)

    def get_full_log(self) -> list[LogEntry]:
        """Every entry in log.json, oldest first."""
        with self._lock:
            return self._read()

    def update_from_file(self, path: str | Path) -> None:
        """Replace log.json with the entries of another log file (a JSON array, or lines)."""
        source = Path(path)
        text = source.read_text("utf-8")
        entries = _parse_log(text)
        if entries is None or (not entries and text.strip()):
            raise FileContentError(source, "not a log file (a JSON array or JSON lines)")
        with self._lock:
            self._write(entries)

    def _read(self) -> list[LogEntry]:
        try:
            text = self._path.read_text("utf-8")
        except FileNotFoundError:
            return []
        return _parse_log(text) or []

    def _write(self, entries: list[LogEntry]) -> None:
        kept = entries[-max(self._settings.PU_MAX_LOG_LENGTH, 1) :]
        # One entry a line: still a single JSON document, and readable with `tail`.
        lines = ",\n".join(json.dumps(entry, ensure_ascii=False) for entry in kept)
        replace_file(self._path, f"[\n{lines}\n]\n".encode() if kept else b"[]\n")


def _parse_log(text: str) -> list[LogEntry] | None:
    """Entries of a JSON array, or of JSON-lines text (the layout of earlier versions).

    Items that are not entries are skipped. None when the text is a JSON document that is not
    a list of entries, or a damaged array.
    """
    if text.lstrip().startswith("["):
        try:
            document = json.loads(text)
        except ValueError:
            return None
        if not isinstance(document, list):
            return None
        return [entry for entry in map(_entry, document) if entry is not None]
    entries = []
    for line in text.splitlines():
        try:
            entry = _entry(json.loads(line))
        except ValueError:
            continue
        if entry is not None:
            entries.append(entry)
    return entries


def _entry(value: Any) -> LogEntry | None:
    if not isinstance(value, dict):
        return None
    level, text, created = value.get("level"), value.get("text"), value.get("create_datetime")
    if not (isinstance(level, str) and isinstance(text, str)):
        return None
    return LogEntry(level=level, text=text, create_datetime=str(created or ""))
